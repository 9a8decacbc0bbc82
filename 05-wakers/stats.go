//go:build linux

package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
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
	empty        int64 // ... of which found nothing to do (see work)
	wakes        int64 // Wake calls that put a task back on the run queue
	remote       int64 // ... made while the loop slept: from other goroutines
	notifies     int64 // eventfd writes those made

	// work is the loop's work meter: every byte a session reads or
	// writes adds one (conn.fill and conn.flush count them), and so does
	// every connection accepted. The executor reads it before and after
	// each poll (see Executor.work): a poll that returns Pending and
	// leaves it where it was found nothing to do, and counts as empty. A
	// Pending poll that echoed a line and then found nothing more to read
	// did work, and is not.
	work int64
}

// summary is what one run measured, printed with fixed labels so that
// chapters (and scripts) can be compared line by line.
type summary struct {
	stats    stats
	messages int           // messages the clients sent and got back intact
	wall     time.Duration // from just before the server starts to just after it has stopped
	cpu      time.Duration // CPU time (user+system) of the event-loop thread
	listen   bool          // served -listen's outside clients: no built-in ones to check
}

func (s summary) print(w io.Writer) {
	fmt.Fprintf(w, "%-17s %s accepted, %s closed\n", "connections:", thousands(s.stats.accepted), thousands(s.stats.closed))
	s.printMessages(w)
	fmt.Fprintf(w, "%-17s %.2f s\n", "wall:", s.wall.Seconds())
	fmt.Fprintf(w, "%-17s %s of one core (%.3f s on the event-loop thread)\n", "cpu:",
		percent(s.cpu.Seconds(), s.wall.Seconds()), s.cpu.Seconds())
	fmt.Fprintf(w, "%-17s %s (%s ready descriptors, %s per call)\n", "epoll_wait calls:", thousands(s.stats.waits),
		thousands(s.stats.ready), decimal(float64(s.stats.ready)/float64(max(s.stats.waits, 1))))
	perMessage := "no demo messages to divide by"
	if s.messages > 0 {
		perMessage = decimal(float64(s.stats.polls)/float64(s.messages)) + " per message"
	}
	fmt.Fprintf(w, "%-17s %s (%s)\n", "polls:", thousands(s.stats.polls), perMessage)
	fmt.Fprintf(w, "%-17s %s (%s of polls: Pending, with nothing read, written or accepted)\n", "empty polls:",
		thousands(s.stats.empty), percent(float64(s.stats.empty), float64(s.stats.polls)))
	fmt.Fprintf(w, "%-17s %s tasks re-queued (%s by other goroutines while the loop slept, %s eventfd writes)\n", "wakes:",
		thousands(s.stats.wakes), thousands(s.stats.remote), thousands(s.stats.notifies))
}

// printMessages prints the messages: line. With -listen no built-in client
// runs, so nothing is checked, and the line says so instead of a bare 0.
func (s summary) printMessages(w io.Writer) {
	if s.listen {
		fmt.Fprintf(w, "%-17s 0 checked: -listen runs no built-in clients (%s bytes echoed)\n", "messages:", thousands(s.stats.bytes))
		return
	}
	fmt.Fprintf(w, "%-17s %s echoed and checked (%s bytes)\n", "messages:", thousands(int64(s.messages)), thousands(s.stats.bytes))
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

// decimal formats x (not negative) with one decimal, its whole part
// grouped as thousands groups it, so 46666.62 reads 46,666.6.
func decimal(x float64) string {
	whole, frac, _ := strings.Cut(strconv.FormatFloat(x, 'f', 1, 64), ".")
	n, _ := strconv.ParseInt(whole, 10, 64)
	return thousands(n) + "." + frac
}

// percent formats part/whole as a percentage with one decimal. Rounding
// must not turn "almost all" into all, or "a few" into none: a part that
// is not the whole never prints as 100.0%, but as >99.9%, and a part that
// is not zero never prints as 0.0%, but as <0.1%.
func percent(part, whole float64) string {
	if whole <= 0 {
		return "0.0%"
	}
	p := 100 * part / whole
	switch {
	case part > 0 && p < 0.05:
		return "<0.1%"
	case part < whole && p >= 99.95:
		return ">99.9%"
	}
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}
