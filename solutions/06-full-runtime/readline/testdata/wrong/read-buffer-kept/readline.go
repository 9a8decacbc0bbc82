// Wrong, on purpose: keeps the read's own buffer, which the next read overwrites, when
// c.in was empty.

// Package readline is chapter 06's bounded line reader: ReadLine, a future
// for the next line from a connection, which never holds more than a fixed
// amount of memory for a client, whatever the client sends.
//
// An echo server reads lines. A line arrives in as many pieces as the
// network likes: half a line in one read, three lines in the next. So the
// connection keeps what it has read and not yet returned, and ReadLine
// looks there first. And a client may send a line that never ends: 10 MiB
// with no newline, or more. A reader that waits for the newline before it
// looks at the length holds all of it; the server dies of memory one
// client at a time. ReadLine gives up as soon as the line has passed its
// limit, having read at most one read more than that.
package readline

import (
	"bytes"
	"fmt"
	"io"
)

// ReadLine returns a future for the next line, '\n' included. The line is
// valid until the next read on c. A final line without '\n' comes with
// io.EOF; after it, (nil, io.EOF). A line of more than max bytes is
// ErrLineTooLong: it is not returned, and at most max bytes of it plus one
// read are ever held in memory.
func (c *Conn) ReadLine(max int) Future[Result[[]byte]] {
	return &readLineFuture{c: c, max: max}
}

type readLineFuture struct {
	c       *Conn
	max     int
	scanned int  // bytes of c.in already searched for '\n': a new read needs only its own bytes searched
	done    bool // Ready was returned; polling again is a bug
}

// Poll returns the next line as soon as c.in holds one, reading more only
// when it does not:
//
//   - a line comes with its '\n', and the bytes after it stay in c.in for
//     the next ReadLine;
//   - a line of more than max bytes, '\n' included, is ErrLineTooLong, and
//     c.in never holds more than max bytes plus one read of a line that has
//     no '\n' yet, whatever the peer sends;
//   - once the peer has shut its side (c.eof), what c.in still holds comes
//     with io.EOF, and after that (nil, io.EOF), with no read;
//   - a read that says EAGAIN hands the task's waker over (c.wakeOn) and
//     ends the poll with Pending; any other read error ends ReadLine.
//
// Finish with r.finish. Polling again after Ready panics with
// "ReadLine: polled after it returned Ready".
func (r *readLineFuture) Poll(cx *Context) Poll[Result[[]byte]] {
	if r.done {
		panic("ReadLine: polled after it returned Ready")
	}
	c := r.c
	for {
		// 1. c.in first: an earlier read may have brought several lines,
		// and reading before returning them would make the caller wait
		// for bytes that are already here. Bytes scanned in an earlier
		// round, or an earlier poll, have no '\n': search only the new.
		if i := bytes.IndexByte(c.in[r.scanned:], '\n'); i >= 0 {
			end := r.scanned + i + 1
			if end > r.max {
				return r.finish(nil, fmt.Errorf("%w: more than %d bytes", ErrLineTooLong, r.max))
			}
			line := c.in[:end]
			// Keep the rest for the next ReadLine. The line stays valid:
			// the rest is moved into a new slice, the line's bytes
			// are not touched until then. (Moving the rest to the
			// front of c.in instead would write over the line before
			// the caller has seen it.)
			c.in = append([]byte(nil), c.in[end:]...)
			if len(c.in) == 0 {
				c.in = nil
			}
			return r.finish(line, nil)
		}
		r.scanned = len(c.in)
		// 2. The limit, before the next read, not after the newline: a
		// line that never ends never shows its length. So c.in never
		// holds more than max bytes plus what one read brings.
		if len(c.in) > r.max {
			return r.finish(nil, fmt.Errorf("%w: more than %d bytes without a newline", ErrLineTooLong, r.max))
		}
		// 3. The peer is gone: what is left is the last line, without a
		// newline, or nothing at all. Either way it comes with io.EOF,
		// and c.in is empty for the next call, which returns (nil,
		// io.EOF) without another read.
		if c.eof {
			line := c.in
			c.in = nil
			return r.finish(line, io.EOF)
		}
		// 4. One read.
		data, err := c.read()
		switch {
		case err == io.EOF:
			continue // c.eof is set: step 3, above, returns what is left, with io.EOF
		case err != nil:
			return r.finish(nil, err)
		case data == nil:
			// EAGAIN: nothing now. Edge-triggered epoll reports the
			// socket once, when bytes arrive: hand the waker over and
			// return. Reading again now would spin.
			c.wakeOn(cx.Waker)
			return Pending[Result[[]byte]]()
		}
		// data is the read's buffer, which the next read reuses: copy
		// it. append copies.
		if c.in == nil {
			c.in = data // nothing kept yet: take the read as it is
		} else {
			c.in = append(c.in, data...)
		}
	}
}

// finish ends the future with line and err.
func (r *readLineFuture) finish(line []byte, err error) Poll[Result[[]byte]] {
	r.done = true
	return Ready(Result[[]byte]{Value: line, Err: err})
}
