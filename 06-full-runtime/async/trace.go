//go:build linux

package async

import (
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// tracer prints the life of the event loop, one step a line, each with the
// time since the runtime was made, when Config.Trace is set. Its zero
// value prints nothing. On the hot paths (every poll, every event) callers
// ask on() first: merely passing arguments to printf boxes them, and that
// allocates even when nothing is printed.
type tracer struct {
	w     io.Writer
	start time.Time
}

func (t tracer) on() bool { return t.w != nil }

func (t tracer) printf(format string, args ...any) {
	if t.w != nil {
		fmt.Fprintf(t.w, "%s "+format+"\n", append([]any{stamp(time.Since(t.start))}, args...)...)
	}
}

// stamp formats the time since start as milliseconds with three decimals,
// padded so that the lines of a trace align: "   12.345 ms  ", as in
// chapters 02 to 05.
func stamp(d time.Duration) string {
	return fmt.Sprintf("%9.3f ms ", float64(d)/float64(time.Millisecond))
}

// Tracing reports whether the runtime writes a trace, so that an
// application can skip building text that nobody will read (a task's name
// with its connection in it, say).
func (rt *Runtime) Tracing() bool { return rt.trace.on() }

// Tracef writes one line to the runtime's trace, stamped like the
// runtime's own lines, so that an application's steps (a connection
// accepted, a session ended) appear in order among the loop's. It does
// nothing when tracing is off.
func (rt *Runtime) Tracef(format string, args ...any) {
	rt.trace.printf(format, args...)
}

// epollEvents is the readiness the kernel reported for one descriptor: a set
// of EPOLL* bits.
type epollEvents uint32

// String names the bits that are set, as "IN|RDHUP".
func (e epollEvents) String() string {
	var names []string
	for _, b := range []struct {
		bit  epollEvents
		name string
	}{
		{unix.EPOLLIN, "IN"},           // there is data to read (or a connection to accept)
		{unix.EPOLLOUT, "OUT"},         // there is room in the send buffer
		{unix.EPOLLRDHUP, "RDHUP"},     // the peer shut its write side: EOF after the data
		{unix.EPOLLHUP, "HUP"},         // both directions are shut
		{unix.EPOLLERR, "ERR"},         // an error is pending on the socket
		{unix.EPOLLET, "ET"},           // (a registration flag: edge-triggered)
		{unix.EPOLLONESHOT, "ONESHOT"}, // (a registration flag: disarm after one event)
	} {
		if e&b.bit != 0 {
			names = append(names, b.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "|")
}
