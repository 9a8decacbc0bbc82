//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/asyncio-go/tutorial/06-full-runtime/async"
	"golang.org/x/sys/unix"
)

// stats are the application's counters, and at the end the runtime's.
// Only the loop's goroutine writes them; main reads them after serve has
// returned.
type stats struct {
	closed       int64 // connections closed (by the client, an error, or shutdown)
	acceptErrors int64 // accept4 failures other than EAGAIN and the shortages the runtime waits out
	bytes        int64 // bytes written back by sessions that finished
	tooLong      int64 // lines refused for being longer than maxLine
	timedOut     int64 // sessions closed for not sending a whole line (or request) within the idle limit
	stalled      int64 // sessions closed for not reading their answers within the idle limit
	requests     int64 // HTTP requests answered
	batches      int64 // HTTP writes, each carrying the answers to every complete request read
	headParses   int64 // HTTP heads parsed, whole or not (a head that has not all come is parsed again only when an LF comes)
	badRequests  int64 // ... of which could not be parsed (400, 431, 501, 505)
	drained      int64 // sessions that finished on their own during shutdown
	dropped      int64 // sessions still open when the grace period ended
	runtime      async.Stats
}

// summary is what one run measured, printed with fixed labels so that
// chapters (and scripts) can be compared line by line.
type summary struct {
	stats    stats
	messages int           // messages the clients sent and got back intact
	http     bool          // the HTTP application ran: messages are requests
	listen   bool          // served -listen's outside clients: no built-in ones to check
	wall     time.Duration // from just before the server starts to just after it has stopped
	cpu      time.Duration // CPU time (user+system) of the event-loop thread
	res      resources     // the process's memory and threads, at the end
}

func (s summary) print(w io.Writer) {
	rt := s.stats.runtime
	pauses := ""
	if rt.AcceptPauses > 0 {
		pauses = fmt.Sprintf(" (accept paused %s times for lack of descriptors)", thousands(rt.AcceptPauses))
	}
	fmt.Fprintf(w, "%-17s %s accepted, %s closed%s\n", "connections:", thousands(rt.Accepts), thousands(s.stats.closed), pauses)
	s.printMessages(w)
	fmt.Fprintf(w, "%-17s %.2f s\n", "wall:", s.wall.Seconds())
	fmt.Fprintf(w, "%-17s %s of one core (%.3f s on the event-loop thread)\n", "cpu:",
		percent(s.cpu.Seconds(), s.wall.Seconds()), s.cpu.Seconds())
	fmt.Fprintf(w, "%-17s %s (%s ready descriptors, %s per call)\n", "epoll_wait calls:", thousands(rt.EpollWaits),
		thousands(rt.ReadyEvents), decimal(float64(rt.ReadyEvents)/float64(max(rt.EpollWaits, 1))))
	perMessage := "no demo messages to divide by"
	if s.messages > 0 {
		perMessage = decimal(float64(rt.Polls)/float64(s.messages)) + " per message"
	}
	fmt.Fprintf(w, "%-17s %s (%s)\n", "polls:", thousands(rt.Polls), perMessage)
	fmt.Fprintf(w, "%-17s %s (%s of polls: Pending, with nothing read, written or accepted)\n", "empty polls:",
		thousands(rt.EmptyPolls), percent(float64(rt.EmptyPolls), float64(rt.Polls)))
	fmt.Fprintf(w, "%-17s %s tasks re-queued (%s by other goroutines while the loop slept, %s eventfd writes)\n", "wakes:",
		thousands(rt.Wakes), thousands(rt.RemoteWakes), thousands(rt.EventfdWrites))
	fmt.Fprintf(w, "%-17s %s fired (%s closed for idling, %s for not reading, %s refused for length)\n", "timers:",
		thousands(rt.TimersFired), sessions(s.stats.timedOut), thousands(s.stats.stalled), count(s.stats.tooLong, "line", "lines"))
	fmt.Fprintf(w, "%-17s %s drained, %s dropped when the grace period ended\n", "shutdown:",
		sessions(s.stats.drained), thousands(s.stats.dropped))
	fmt.Fprintf(w, "%-17s %s MiB peak RSS (%s)\n", "memory:", decimal(float64(s.res.peakRSS)/(1<<20)), s.res.rssOf)
	fmt.Fprintf(w, "%-17s 1 event-loop thread, %d OS threads in the process (%s)\n", "threads:",
		s.res.threads, s.res.threadsOf)
}

// printMessages prints the messages: line. With -listen no built-in client
// runs, so nothing is checked, and the line says so instead of a bare 0.
func (s summary) printMessages(w io.Writer) {
	switch {
	case s.listen && s.http:
		fmt.Fprintf(w, "%-17s 0 checked: -listen runs no built-in clients (%s requests answered, %s malformed)\n", "messages:",
			thousands(s.stats.requests), thousands(s.stats.badRequests))
	case s.listen:
		fmt.Fprintf(w, "%-17s 0 checked: -listen runs no built-in clients (%s bytes echoed)\n", "messages:", thousands(s.stats.bytes))
	case s.http:
		fmt.Fprintf(w, "%-17s %s answered and checked (%s requests answered, %s malformed; %s bytes written)\n", "messages:",
			thousands(int64(s.messages)), thousands(s.stats.requests), thousands(s.stats.badRequests), thousands(s.stats.bytes))
	default:
		fmt.Fprintf(w, "%-17s %s echoed and checked (%s bytes)\n", "messages:", thousands(int64(s.messages)), thousands(s.stats.bytes))
	}
}

// sessions says "1 session" or "n sessions".
func sessions(n int64) string { return count(n, "session", "sessions") }

// count says "1 line" or "n lines", grouped as thousands groups it.
func count(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return thousands(n) + " " + many
}

// resources are the process's own figures, read at the end of a run.
type resources struct {
	peakRSS   int64  // bytes: the most resident memory the process ever had
	rssOf     string // what that covers
	threads   int    // OS threads now
	threadsOf string // who the others are
}

// readResources reads the peak RSS (VmHWM) and the thread count from
// /proc/self/status. Not getrusage's ru_maxrss: that one survives exec,
// so under go run it reports the go command's memory, not ours. who says
// what else ran in this process: "" (the server alone), "in process" or
// "in a child" for the demo's clients.
func readResources(clients string) resources {
	var r resources
	r.rssOf = "the server alone"
	r.threadsOf = "the others are the Go runtime's: garbage collection, sysmon, signals"
	switch clients {
	case "in process":
		r.rssOf = "server and clients: one process"
		r.threadsOf += ", and the clients' goroutines"
	case "in a child":
		r.rssOf = "the server alone: its clients ran in a child process"
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return r
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			r.peakRSS = kib << 10
		}
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			r.threads, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return r
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
