//go:build linux

package main

import (
	"fmt"
	"io"
)

// tracer prints the life of the event loop, one step a line, when -trace
// is given. Its zero value prints nothing and costs one nil check.
type tracer struct{ w io.Writer }

func (t tracer) printf(format string, args ...any) {
	if t.w != nil {
		fmt.Fprintf(t.w, format+"\n", args...)
	}
}
