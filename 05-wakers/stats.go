//go:build linux

package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// stats are the event loop's own counters. Only the loop's goroutine
// writes them; main reads them after serve has returned.
type stats struct {
	accepted     int64 // connections accepted
	closed       int64 // connections closed (by the client, an error, or shutdown)
	acceptErrors int64 // accept4 failures other than EAGAIN (out of fds, say)
	bytes        int64 // bytes echoed by sessions that finished
	waits        int64 // epoll_wait calls that returned
	ready        int64 // ready descriptors they reported
	polls        int64 // Poll calls on tasks
	wasted       int64 // ... of which returned Pending
	wakes        int64 // Wake calls that put a task back on the run queue
	remote       int64 // ... made while the loop slept: from other goroutines
	notifies     int64 // eventfd writes those made
}

// summary is what one run measured, printed with fixed labels so that
// chapters (and scripts) can be compared line by line.
type summary struct {
	stats    stats
	messages int           // messages the clients sent and got back intact
	wall     time.Duration // from just before the server starts to just after it has stopped
	cpu      time.Duration // CPU time (user+system) of the event-loop thread
}

func (s summary) print(w io.Writer) {
	fmt.Fprintf(w, "%-17s %d accepted, %d closed\n", "connections:", s.stats.accepted, s.stats.closed)
	fmt.Fprintf(w, "%-17s %s echoed and checked (%s bytes)\n", "messages:", thousands(int64(s.messages)), thousands(s.stats.bytes))
	fmt.Fprintf(w, "%-17s %.2f s\n", "wall:", s.wall.Seconds())
	fmt.Fprintf(w, "%-17s %.1f%% of one core (%.3f s on the event-loop thread)\n", "cpu:",
		100*s.cpu.Seconds()/s.wall.Seconds(), s.cpu.Seconds())
	fmt.Fprintf(w, "%-17s %s (%s ready descriptors, %.1f per call)\n", "epoll_wait calls:", thousands(s.stats.waits),
		thousands(s.stats.ready), float64(s.stats.ready)/float64(max(s.stats.waits, 1)))
	perMessage := "no demo messages to divide by"
	if s.messages > 0 {
		perMessage = fmt.Sprintf("%.1f per message", float64(s.stats.polls)/float64(s.messages))
	}
	fmt.Fprintf(w, "%-17s %s (%s)\n", "polls:", thousands(s.stats.polls), perMessage)
	fmt.Fprintf(w, "%-17s %s (%.4f%% of polls returned Pending)\n", "wasted polls:", thousands(s.stats.wasted),
		100*float64(s.stats.wasted)/float64(max(s.stats.polls, 1)))
	fmt.Fprintf(w, "%-17s %s tasks re-queued (%s by other goroutines while the loop slept, %s eventfd writes)\n", "wakes:",
		thousands(s.stats.wakes), thousands(s.stats.remote), thousands(s.stats.notifies))
}

// threadCPU returns the CPU time the calling OS thread has used so far.
// RUSAGE_THREAD counts only this thread, not the client goroutines in the
// same process, which is why the event loop locks itself to one thread.
func threadCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0 // Linux has supported RUSAGE_THREAD since 2.6.26
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// thousands formats n with commas, so 12345678 reads 12,345,678.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
