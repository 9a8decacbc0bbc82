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
// valid until the next read on c, or its Close. A final line without '\n' comes with
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
	c    *Conn
	max  int
	all  bool // ReadLines: every whole line there is, not just the first
	done bool
}

func (r *readLineFuture) Poll(cx *Context) Poll[Result[[]byte]] {
	if r.done {
		panic("ReadLine: polled after it returned Ready")
	}
	line, ready, err := r.c.pollLines(cx, r.max, r.all)
	if !ready {
		return Pending[Result[[]byte]]()
	}
	r.done = true
	return Ready(Result[[]byte]{Value: line, Err: err})
}

func (r *readLineFuture) Drop() {
	if !r.done {
		r.c.reg.forget(readable)
		r.done = true
	}
}

// PollReadLine is what the ReadLine future does in one poll, for a future
// written by hand that keeps its state in its own fields and allocates
// nothing per line. It returns the line and its error, with ready false
// for Pending (then both are nil), instead of a Poll[Result[[]byte]]: that
// is 48 bytes, more than the four machine words the Go compiler will hold
// as one value (cmd/compile's ssa.CanSSA), so caller and callee each keep
// it in stack slots and copy it from one to the next, several times per
// poll; three results are three values, each held in registers. The echo
// benchmark measured the difference (chapters/benchmarks.md, "Three
// results, not a Poll of a Result").
func (c *Conn) PollReadLine(cx *Context, max int) (line []byte, ready bool, err error) {
	return c.pollLines(cx, max, false)
}

// PollReadLines is what the ReadLines future does in one poll: every
// whole line there is, as PollReadLine returns one.
func (c *Conn) PollReadLines(cx *Context, max int) (lines []byte, ready bool, err error) {
	return c.pollLines(cx, max, true)
}

// pollLines looks for a line in what c has read, and reads more until one
// is whole; with all, it returns every whole line there is. Reads land in
// the runtime's scratch buffer; only the bytes that arrived are kept, in a
// buffer taken from the runtime's pool and given back once every line in
// it has been returned, so an idle connection holds no buffer at all.
func (c *Conn) pollLines(cx *Context, max int, all bool) (line []byte, ready bool, err error) {
	c.compact()
	for {
		if i := bytes.IndexByte(c.in[c.scanned:], '\n'); i >= 0 {
			end := int(c.scanned) + i + 1
			if end > max {
				return c.lineDone(nil, fmt.Errorf("%w: more than %d bytes", ErrLineTooLong, max))
			}
			if all {
				end = wholeLines(c.in, end, max)
			}
			// The line stays where it is, valid until the next read on
			// c, which compacts the buffer: no copy per line.
			c.used = int32(end)
			return c.lineDone(c.in[:end], nil)
		}
		c.scanned = int32(len(c.in)) // not again, when more comes
		if len(c.in) > max {
			return c.lineDone(nil, fmt.Errorf("%w: more than %d bytes without a newline", ErrLineTooLong, max))
		}
		res, ok := c.pollSocket(cx, c.rt.scratch).Value()
		switch {
		case !ok:
			return nil, false, nil
		case res.Err == io.EOF && len(c.in) == 0:
			return c.lineDone(nil, io.EOF)
		case res.Err == io.EOF:
			c.used = int32(len(c.in)) // the last line, without a newline
			return c.lineDone(c.in, io.EOF)
		case res.Err != nil:
			return c.lineDone(nil, res.Err)
		}
		if c.in == nil {
			c.in = c.rt.buffers.Get()
		}
		c.in = append(c.in, c.rt.scratch[:res.Value]...)
	}
}

// wholeLines extends end, the end of the first line in in, over every
// whole line that follows it, each at most max bytes, and returns the new
// end. When everything up to the last newline fits in max, no line in it
// can be longer: one search from the back finds the end, instead of one
// search per line (a client pipelining sixteen lines sends them in one
// read). Otherwise it goes line by line, and stops before a line that is
// too long: that one is for the next call.
func wholeLines(in []byte, end, max int) int {
	if last := bytes.LastIndexByte(in, '\n') + 1; last <= max {
		return last
	}
	for {
		j := bytes.IndexByte(in[end:], '\n')
		if j < 0 || j+1 > max {
			return end
		}
		end += j + 1
	}
}

// lineDone ends a search for a line: the next one starts from scratch.
func (c *Conn) lineDone(line []byte, err error) ([]byte, bool, error) {
	c.scanned = 0
	return line, true, err
}

// compact drops the bytes that the last ReadLine returned (from the next
// read on, that line is no longer valid) and moves the rest to the front,
// so the buffer is reused rather than grown. A buffer left empty goes
// back to the runtime's pool.
func (c *Conn) compact() {
	if c.used == 0 {
		return
	}
	c.in = c.in[:copy(c.in, c.in[c.used:])]
	c.scanned = max(c.scanned-c.used, 0) // a search in progress keeps its place
	c.used = 0
	if len(c.in) == 0 {
		c.rt.buffers.Put(c.in)
		c.in = nil
	}
}

// BufferPool is the runtime's free list of buffers. A connection takes
// one when bytes of an unfinished line, or lines not yet returned, must
// outlive the read that brought them (the scratch buffer is overwritten by
// the next read of any connection), and gives it back as soon as it is
// empty. So the buffers in use are those of the connections in the middle
// of a message, not one per connection; and a connection that echoes line
// after line takes and returns the same buffer each time, without
// allocating. gnet keeps its connections' buffers in pools for the same
// reason. An application may borrow from it too (Runtime.Buffers): the
// HTTP session of chapter 06 does, for its requests and answers. One
// goroutine uses it, the loop's: a slice is enough.
type BufferPool struct {
	free [][]byte
}

// Buffers start at BufferSize, enough for the lines or requests of a
// typical read; one that grows beyond it is not taken back. At most
// maxFreeBuffers are kept (1 MiB): a burst that needed more leaves the
// rest to the garbage collector.
const (
	BufferSize     = 4 << 10
	maxFreeBuffers = 256
)

// Get lends an empty buffer of capacity BufferSize.
func (p *BufferPool) Get() []byte {
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		return b
	}
	return make([]byte, 0, BufferSize)
}

// Put gives b back. Nothing may use b afterwards. A buffer that grew, or
// one more than the pool keeps, is left to the garbage collector; nil is
// ignored.
func (p *BufferPool) Put(b []byte) {
	if cap(b) == BufferSize && len(p.free) < maxFreeBuffers {
		p.free = append(p.free, b[:0])
	}
}
