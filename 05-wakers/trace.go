//go:build linux

package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// tracer prints the life of the event loop, one step a line, when -trace
// is given. Each line starts with the time since the server was made, in
// milliseconds, so that the loop's sleeps show as gaps between lines. Its
// zero value prints nothing. On the hot paths (every poll, every event)
// callers ask on() first: merely passing arguments to printf boxes them,
// and that allocates even when nothing is printed.
type tracer struct {
	w     io.Writer
	start time.Time // when the server was made
}

// newTracer returns a tracer that writes to w; with a nil w it prints
// nothing.
func newTracer(w io.Writer) tracer { return tracer{w: w, start: time.Now()} }

func (t tracer) on() bool { return t.w != nil }

func (t tracer) printf(format string, args ...any) {
	if t.w != nil {
		ms := float64(time.Since(t.start).Microseconds()) / 1000
		fmt.Fprintf(t.w, "%9.3f ms  %s\n", ms, fmt.Sprintf(format, args...))
	}
}

// Events is the readiness the kernel reported for one descriptor: a set
// of EPOLL* bits.
type Events uint32

// String names the bits that are set, as "IN|RDHUP".
func (e Events) String() string {
	var names []string
	for _, b := range []struct {
		bit  Events
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
