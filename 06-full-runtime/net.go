//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Async TCP on the runtime. Every method that could block returns a
// future instead, and every future follows the rule of edge-triggered
// epoll: try the system call first; only when it says EAGAIN, hand the
// task's waker to the reactor for that direction and return Pending.
//
//	ln, err := rt.Listen("127.0.0.1:0")
//	ln.Accept()            Future[Result[*Conn]]: the next connection
//	c.Read(p)              Future[Result[int]]: at least one byte, or io.EOF
//	c.ReadLine(max)        Future[Result[[]byte]]: one line, '\n' included, at most max bytes
//	c.ReadLines(max)       Future[Result[[]byte]]: every whole line that has arrived, each at most max
//	c.Write(p)             Future[Result[int]]: at least one byte written
//	c.WriteAll(p)          Future[Result[int]]: every byte written, the unsent tail kept between polls
//	c.Linger()             Future[struct{}]: shuts our side, then drops what the peer sends until
//	                       it has acknowledged all we sent, or closed: call Close after it
//	c.Close()              deregisters, then closes
//
// Dropping one of these futures before it is Ready withdraws its waker
// from the reactor (and an Accept's back-off timer from the timers), so a
// cancelled read leaves nothing behind that could wake the task later.

// ErrLineTooLong is ReadLine's error for a line longer than its limit.
var ErrLineTooLong = errors.New("line too long")

// Listener is a listening TCP socket, registered with the runtime.
type Listener struct {
	rt      *Runtime
	fd      int
	addr    netip.AddrPort
	backoff time.Duration // the pause after the last accept that failed for lack of resources
	pauses  int64         // accepts that failed for lack of resources, each followed by a pause
}

// Listen opens a listening socket on addr ("127.0.0.1:0" picks a port).
func (rt *Runtime) Listen(addr string) (*Listener, error) {
	fd, bound, err := listenTCP(addr)
	if err != nil {
		return nil, err
	}
	if err := rt.reactor.Register(fd); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &Listener{rt: rt, fd: fd, addr: bound}, nil
}

// Addr is the address the listener is bound to, with the port the kernel chose.
func (l *Listener) Addr() netip.AddrPort { return l.addr }

// Close stops listening: clients that connect from now on are refused.
// Connections already accepted are not affected.
func (l *Listener) Close() error {
	l.rt.reactor.Deregister(l.fd)
	if err := unix.Close(l.fd); err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}

// Accept returns a future for the next connection.
func (l *Listener) Accept() Future[Result[*Conn]] { return &acceptFuture{l: l} }

// Back-off after accept fails for lack of descriptors or memory: the
// connection waits in the backlog, and retrying at once would fail again
// (and with edge-triggered epoll, nothing would tell us when to retry).
// So pause, 5 ms at first, doubling up to 1 s, as net/http's Server does.
const (
	minAcceptBackoff = 5 * time.Millisecond
	maxAcceptBackoff = time.Second
)

type acceptFuture struct {
	l     *Listener
	pause Future[struct{}] // the back-off Sleep, while one is running
	done  bool
}

func (a *acceptFuture) Poll(cx *Context) Poll[Result[*Conn]] {
	if a.done {
		panic("Accept: polled after it returned Ready")
	}
	l := a.l
	for {
		if a.pause != nil {
			if !a.pause.Poll(cx).IsReady() {
				return Pending[Result[*Conn]]()
			}
			a.pause = nil
		}
		fd, err := accept(l.fd)
		switch {
		case errors.Is(err, unix.EAGAIN):
			if err := l.rt.reactor.WakeOn(l.fd, Readable, cx.Waker); err != nil {
				return a.finish(nil, err)
			}
			return Pending[Result[*Conn]]()
		case errors.Is(err, unix.EMFILE), errors.Is(err, unix.ENFILE),
			errors.Is(err, unix.ENOBUFS), errors.Is(err, unix.ENOMEM):
			l.backoff = min(max(2*l.backoff, minAcceptBackoff), maxAcceptBackoff)
			l.pauses++
			l.rt.trace.printf("accept: %v; retrying in %v", err, l.backoff)
			a.pause = l.rt.Sleep(l.backoff)
			continue
		case err != nil:
			return a.finish(nil, err)
		}
		l.backoff = 0
		if err := l.rt.reactor.Register(fd); err != nil {
			unix.Close(fd)
			return a.finish(nil, err)
		}
		return a.finish(&Conn{rt: l.rt, fd: fd}, nil)
	}
}

func (a *acceptFuture) finish(c *Conn, err error) Poll[Result[*Conn]] {
	a.done = true
	return Ready(Result[*Conn]{Value: c, Err: err})
}

// Drop withdraws the waker and cancels the back-off timer.
func (a *acceptFuture) Drop() {
	if !a.done {
		a.l.rt.reactor.Forget(a.l.fd, Readable)
		drop(a.pause)
		a.done = true
	}
}

// Conn is one TCP connection, registered with the runtime. It keeps the
// bytes read but not yet returned as a line; nothing else, so an idle
// connection costs a few dozen bytes beyond the kernel's own.
type Conn struct {
	rt      *Runtime
	fd      int
	in      []byte // read from the socket; from used on, not yet returned by ReadLine
	used    int    // bytes at the front of in that the last ReadLine returned
	eof     bool   // the peer shut its write side
	drained bool   // the last read took less than it could: the socket's queue was empty
	closed  bool
}

// read makes one read into the runtime's scratch buffer. It returns the
// bytes (valid until the next read on this runtime), or nil and a nil
// error for EAGAIN; at end of input it returns io.EOF.
//
// It saves a system call where it can. Edge-triggered epoll asks us to
// read until EAGAIN before we wait; but a read that returned less than it
// could take has already emptied the socket's queue, and any byte that
// arrives after it raises a new edge, which will wake us. So the read
// after a short one answers EAGAIN without asking the kernel. Not if an
// edge has come since (the reactor marked the socket ready while we were
// busy), and not if the peer has hung up: its FIN may have come before
// that short read, with no edge left to announce it. Then we ask.
func (c *Conn) read() ([]byte, error) {
	if c.closed {
		return nil, errClosed
	}
	if c.drained && c.rt.reactor.Quiet(c.fd) {
		c.drained = false
		return nil, nil
	}
	c.drained = false
	if !c.rt.ex.spend() {
		return nil, nil // out of budget: the caller's wait makes the task yield
	}
	for {
		n, err := unix.Read(c.fd, c.rt.scratch)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return nil, nil
		case err != nil:
			return nil, os.NewSyscallError("read", err)
		case n == 0:
			c.eof = true
			return nil, io.EOF
		}
		c.drained = n < len(c.rt.scratch)
		return c.rt.scratch[:n], nil
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

// wait is what a socket future does when a read or write said EAGAIN: it
// hands the task's waker to the reactor for dir. Unless the EAGAIN was
// the budget's (see ioBudget): then the socket may still have data, and
// nothing would announce it, so the task wakes itself and yields, after
// the loop's next look at the kernel.
func (c *Conn) wait(cx *Context, dir Interest) error {
	if c.rt.ex.ioLeft <= 0 {
		cx.Waker.Wake()
		// And have the loop look at the kernel before it runs anyone
		// again: otherwise a flooding session, back at the end of the
		// queue, would keep the others' events waiting for up to a
		// whole poll budget of turns.
		c.rt.ex.budget = 0
		return nil
	}
	return c.rt.reactor.WakeOn(c.fd, dir, cx.Waker)
}

// forget withdraws the waker a dropped future left with the reactor.
// Not once c is closed: its number may belong to a new connection by
// now, whose waker it would take.
func (c *Conn) forget(dir Interest) {
	if !c.closed {
		c.rt.reactor.Forget(c.fd, dir)
	}
}

// Yielding reports whether the task being polled has spent its budget of
// reads and writes: a Pending from a socket future now means "run again
// after the others", not "nothing to do until the next event".
func (c *Conn) Yielding() bool { return c.rt.ex.ioLeft <= 0 }

// errClosed is the error of an operation on a closed Conn.
var errClosed = errors.New("use of closed connection")

// Read returns a future for at least one byte into p, or io.EOF.
func (c *Conn) Read(p []byte) Future[Result[int]] { return &readFuture{c: c, p: p} }

type readFuture struct {
	c    *Conn
	p    []byte
	done bool
}

func (r *readFuture) Poll(cx *Context) Poll[Result[int]] {
	if r.done {
		panic("Read: polled after it returned Ready")
	}
	c := r.c
	c.compact()
	if len(c.in) > 0 { // left over from ReadLine: those come first
		n := copy(r.p, c.in)
		c.in = c.in[:copy(c.in, c.in[n:])]
		return r.finish(n, nil)
	}
	if c.eof {
		return r.finish(0, io.EOF)
	}
	data, err := c.read()
	if err != nil {
		return r.finish(0, err)
	}
	if data == nil {
		return r.wait(cx)
	}
	n := copy(r.p, data)
	c.in = append(c.in, data[n:]...) // p was smaller than what arrived: keep the rest
	return r.finish(n, nil)
}

func (r *readFuture) wait(cx *Context) Poll[Result[int]] {
	if err := r.c.wait(cx, Readable); err != nil {
		return r.finish(0, err)
	}
	return Pending[Result[int]]()
}

func (r *readFuture) finish(n int, err error) Poll[Result[int]] {
	r.done = true
	return Ready(Result[int]{Value: n, Err: err})
}

func (r *readFuture) Drop() {
	if !r.done {
		r.c.forget(Readable)
		r.done = true
	}
}

// ReadLines is ReadLine, but it returns every whole line that has arrived,
// one after the other in one slice, so that the caller can answer them
// with one write: a client that sends sixteen lines at once gets its
// sixteen echoes in one system call.
func (c *Conn) ReadLines(max int) Future[Result[[]byte]] {
	return &readLineFuture{c: c, max: max, all: true}
}

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
		if c.eof {
			if len(c.in) == 0 {
				return r.finish(nil, io.EOF)
			}
			c.used = len(c.in)
			return r.finish(c.in, io.EOF)
		}
		data, err := c.read()
		switch {
		case err == io.EOF:
			continue // return what is left, with io.EOF
		case err != nil:
			return r.finish(nil, err)
		case data == nil:
			if err := c.wait(cx, Readable); err != nil {
				return r.finish(nil, err)
			}
			return Pending[Result[[]byte]]()
		}
		c.in = append(c.in, data...)
	}
}

func (r *readLineFuture) finish(line []byte, err error) Poll[Result[[]byte]] {
	r.done = true
	return Ready(Result[[]byte]{Value: line, Err: err})
}

func (r *readLineFuture) Drop() {
	if !r.done {
		r.c.forget(Readable)
		r.done = true
	}
}

// write makes one write of p. It returns the bytes the kernel took: 0 and
// a nil error for EAGAIN (the send buffer is full).
func (c *Conn) write(p []byte) (int, error) {
	if c.closed {
		return 0, errClosed
	}
	if !c.rt.ex.spend() {
		return 0, nil // out of budget: the caller's wait makes the task yield
	}
	for {
		n, err := unix.Write(c.fd, p)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return 0, nil
		case err != nil:
			// EPIPE or ECONNRESET: the peer is gone. (Go's runtime
			// turns the SIGPIPE for this write into this error.)
			return 0, os.NewSyscallError("write", err)
		}
		return n, nil
	}
}

// Write returns a future that writes at least one byte of p, and says how
// many it wrote.
func (c *Conn) Write(p []byte) Future[Result[int]] { return &writeFuture{c: c, p: p, once: true} }

// WriteAll returns a future that writes all of p. It keeps the unsent tail
// between polls: what the kernel took is never sent again, what it did not
// take is never lost. p must not change until the future is Ready.
func (c *Conn) WriteAll(p []byte) Future[Result[int]] { return &writeFuture{c: c, p: p} }

type writeFuture struct {
	c       *Conn
	p       []byte // the unsent tail
	written int
	once    bool // Write: Ready after the first bytes; WriteAll: after the last
	done    bool
}

func (w *writeFuture) Poll(cx *Context) Poll[Result[int]] {
	if w.done {
		panic("Write: polled after it returned Ready")
	}
	for len(w.p) > 0 {
		n, err := w.c.write(w.p)
		if err != nil {
			return w.finish(err)
		}
		if n == 0 {
			if err := w.c.wait(cx, Writable); err != nil {
				return w.finish(err)
			}
			return Pending[Result[int]]()
		}
		w.p, w.written = w.p[n:], w.written+n
		if w.once {
			break
		}
	}
	return w.finish(nil)
}

func (w *writeFuture) finish(err error) Poll[Result[int]] {
	w.done = true
	return Ready(Result[int]{Value: w.written, Err: err})
}

func (w *writeFuture) Drop() {
	if !w.done {
		w.c.forget(Writable)
		w.done = true
	}
}

// CloseWrite shuts the write side: the peer reads EOF after what was sent.
func (c *Conn) CloseWrite() error {
	if err := unix.Shutdown(c.fd, unix.SHUT_WR); err != nil {
		return os.NewSyscallError("shutdown", err)
	}
	return nil
}

// Linger returns a future for a gentle close. Closing a socket that the
// peer is still writing to is abrupt: data that arrives after close makes
// the kernel answer with a reset, and a reset throws away what the peer
// had not yet read of ours. So Linger shuts our side first (the peer reads
// everything, then EOF), then reads and drops whatever the peer still
// sends, and is Ready once every byte we sent, our FIN included, is
// acknowledged, or the peer has closed or reset. For an idle peer that is
// one round trip. A peer that never reads keeps it Pending: bound it with
// Timeout, or drop it. Call Close after it.
func (c *Conn) Linger() Future[struct{}] {
	return &lingerFuture{c: c, check: timer{index: -1}}
}

// lingerCheck is how often a lingering close looks whether the peer has
// acknowledged everything. An acknowledgement often raises an EPOLLOUT
// edge, which wakes the task sooner, but not always (only when a writer
// had found the send buffer full), so it also looks on a timer.
const lingerCheck = 10 * time.Millisecond

type lingerFuture struct {
	c       *Conn
	check   timer // the next look at what is unacknowledged
	started bool  // our side is shut
	done    bool
}

func (l *lingerFuture) Poll(cx *Context) Poll[struct{}] {
	if l.done {
		panic("Linger: polled after it returned Ready")
	}
	c := l.c
	if !l.started {
		c.CloseWrite() // if it fails, the connection is broken: Unacked or read says so
		l.started = true
	}
	for {
		if n, err := c.Unacked(); err != nil || n == 0 {
			return l.finish() // all acknowledged, FIN included
		}
		data, err := c.read()
		if err != nil {
			return l.finish() // EOF or a reset: the peer is done
		}
		if data == nil {
			break // EAGAIN; what came before is dropped
		}
	}
	if err := c.wait(cx, Readable); err != nil {
		return l.finish()
	}
	c.rt.reactor.WakeOn(c.fd, Writable, cx.Waker) // an acknowledgement may raise an edge
	if !c.rt.timers.holds(&l.check) {
		c.rt.timers.schedule(&l.check, time.Now().Add(lingerCheck), cx.Waker) // and if not, look again soon
	}
	return Pending[struct{}]()
}

func (l *lingerFuture) finish() Poll[struct{}] {
	l.Drop()
	l.done = true
	return Ready(struct{}{})
}

// Drop cancels the timer and withdraws the wakers.
func (l *lingerFuture) Drop() {
	if !l.done {
		l.c.rt.timers.remove(&l.check)
		l.c.forget(Readable)
		l.c.forget(Writable)
	}
}

// Unacked is how many bytes written to c the peer has not acknowledged
// yet: still in the send queue, or in flight (the SIOCOUTQ ioctl).
func (c *Conn) Unacked() (int, error) {
	n, err := unix.IoctlGetInt(c.fd, unix.SIOCOUTQ)
	if err != nil {
		return 0, os.NewSyscallError("ioctl SIOCOUTQ", err)
	}
	return n, nil
}

// Close takes the connection out of the epoll set, then closes it. Closing
// twice is harmless: the descriptor number may belong to someone else by
// then, so the second call does nothing.
func (c *Conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	c.in = nil
	c.rt.reactor.Deregister(c.fd)
	if err := unix.Close(c.fd); err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}
