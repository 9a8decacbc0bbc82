//go:build linux

package async

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrLineTooLong is ReadLine's error for a line longer than its limit.
var ErrLineTooLong = errors.New("line too long")

// ReadLine returns a future for the next line, '\n' included. The line is
// valid until the next read on c. A final line without '\n' comes with
// io.EOF; after it, (nil, io.EOF). A line of more than max bytes is
// ErrLineTooLong: it is not returned, and at most max bytes of it plus one
// read are ever held in memory.
func (c *Conn) ReadLine(max int) Future[Result[[]byte]] {
	return &readLineFuture{c: c, max: max}
}

// ReadLines is ReadLine, but it returns every whole line that has arrived,
// one after the other in one slice, so that the caller can answer them
// with one write: a client that sends sixteen lines at once gets its
// sixteen echoes in one system call.
func (c *Conn) ReadLines(max int) Future[Result[[]byte]] {
	return &readLineFuture{c: c, max: max, all: true}
}

type readLineFuture struct {
	c       *Conn
	max     int
	all     bool // ReadLines: every whole line there is, not just the first
	scanned int  // bytes of c.in already searched for '\n'
	done    bool
}

func (r *readLineFuture) Poll(cx *Context) Poll[Result[[]byte]] {
	if r.done {
		panic("ReadLine: polled after it returned Ready")
	}
	c := r.c
	if r.scanned == 0 {
		c.compact()
	}
	for {
		if i := bytes.IndexByte(c.in[r.scanned:], '\n'); i >= 0 {
			end := r.scanned + i + 1
			if end > r.max {
				return r.finish(nil, fmt.Errorf("%w: more than %d bytes", ErrLineTooLong, r.max))
			}
			for r.all { // take the whole lines after it too, each within max
				j := bytes.IndexByte(c.in[end:], '\n')
				if j < 0 || j+1 > r.max {
					break // no more, or too long: that one is for the next call
				}
				end += j + 1
			}
			// The line stays where it is, valid until the next read on
			// c, which compacts the buffer: no copy per line.
			c.used = end
			return r.finish(c.in[:end], nil)
		}
		r.scanned = len(c.in)
		if len(c.in) > r.max {
			return r.finish(nil, fmt.Errorf("%w: more than %d bytes without a newline", ErrLineTooLong, r.max))
		}
		// Reads land in the runtime's scratch buffer, and only what
		// arrived is kept: an idle connection holds no buffer of its own.
		res, ok := c.pollSocket(cx, c.rt.scratch).Value()
		switch {
		case !ok:
			return Pending[Result[[]byte]]()
		case res.Err == io.EOF && len(c.in) == 0:
			return r.finish(nil, io.EOF)
		case res.Err == io.EOF:
			c.used = len(c.in) // the last line, without a newline
			return r.finish(c.in, io.EOF)
		case res.Err != nil:
			return r.finish(nil, res.Err)
		}
		c.in = append(c.in, c.rt.scratch[:res.Value]...)
	}
}

func (r *readLineFuture) finish(line []byte, err error) Poll[Result[[]byte]] {
	r.done = true
	return Ready(Result[[]byte]{Value: line, Err: err})
}

func (r *readLineFuture) Drop() {
	if !r.done {
		r.c.reg.forget(readable)
		r.done = true
	}
}

// compact drops the bytes that the last ReadLine returned (from the next
// read on, that line is no longer valid) and moves the rest to the front,
// so the buffer is reused rather than grown. A buffer grown large by a
// long line is let go once it is empty: an idle connection keeps little.
func (c *Conn) compact() {
	if c.used == 0 {
		return
	}
	c.in = c.in[:copy(c.in, c.in[c.used:])]
	c.used = 0
	if len(c.in) == 0 && cap(c.in) > 4<<10 {
		c.in = nil
	}
}
