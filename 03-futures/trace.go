//go:build linux

package main

import (
	"fmt"
	"io"
	"time"
)

// tracer prints the life of the event loop, one step a line, when -trace
// is given. Each line starts with the time since the server was made, in
// milliseconds, so that the loop's sleeps show as gaps between lines. Its
// zero value prints nothing.
type tracer struct {
	w     io.Writer
	start time.Time // when the server was made
}

// newTracer returns a tracer that writes to w; with a nil w it prints
// nothing.
func newTracer(w io.Writer) tracer { return tracer{w: w, start: time.Now()} }

func (t tracer) printf(format string, args ...any) {
	if t.w != nil {
		ms := float64(time.Since(t.start).Microseconds()) / 1000
		fmt.Fprintf(t.w, "%9.3f ms  %s\n", ms, fmt.Sprintf(format, args...))
	}
}
