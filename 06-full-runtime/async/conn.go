//go:build linux

package async

import (
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Conn is one TCP connection, registered with its runtime. Every method
// that could block returns a future, or is a Poll method to build futures
// on, and follows the rule of edge-triggered epoll: try the system call
// first; only when it says EAGAIN, hand the task's waker to the reactor
// for that direction and return Pending.
//
//	c.Read(p)              Future[Result[int]]: at least one byte into p, or io.EOF
//	c.ReadLine(max)        Future[Result[[]byte]]: one line, '\n' included, at most max bytes
//	c.ReadLines(max)       Future[Result[[]byte]]: every whole line that has arrived
//	c.Write(p)             Future[Result[int]]: at least one byte of p written
//	c.WriteAll(p)          Future[Result[int]]: every byte of p written
//	c.Linger()             Future[struct{}]: a gentle close (linger.go), then Close
//	c.PollRead(cx, p)      what Read does, for a future that keeps its own state
//	c.PollWrite(cx, p)     what Write does, likewise
//	c.Close()              deregisters, then closes
//
// Dropping one of these futures before it is Ready withdraws its waker
// from the reactor, so a cancelled read leaves nothing behind that could
// wake the task later. A Conn belongs to the loop's goroutine, and to one
// task at a time.
type Conn struct {
	rt      *Runtime
	in      []byte // read by ReadLine; from used on, not yet returned; nil when empty (lines.go)
	used    int32  // bytes at the front of in that the last ReadLine returned
	scanned int32  // bytes of in already searched for '\n' by a ReadLine in progress

	eof    bool // the peer shut its write side, and every byte before it was read
	closed bool

	// The short-read shortcut (see pollSocket): the last read took less
	// than it could, so the socket's queue was empty then; and the
	// readable edges the registration had seen before it.
	short     bool
	shortSeen uint32

	// Inline, not a pointer to one of its own; it holds the descriptor's
	// number too. What an idle connection costs is this one object of 96
	// bytes, registration included (offsets within a line are bounded by
	// the caller's max, hence int32: it saves a size class).
	reg registration
}

// fd is the connection's descriptor, which its registration keeps.
func (c *Conn) fd() int { return int(c.reg.fd) }

// ErrClosed is the error of an operation on a closed Conn or Listener.
var ErrClosed = errors.New("use of closed connection")

// newConn registers fd, a connected non-blocking socket, and makes it a
// Conn; on failure it closes fd.
func (rt *Runtime) newConn(fd int) (*Conn, error) {
	c := &Conn{rt: rt}
	if err := rt.reactor.register(&c.reg, fd); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return c, nil
}

// String names the connection by its descriptor, as "fd 7", for logs and
// traces.
func (c *Conn) String() string { return fmt.Sprintf("fd %d", c.fd()) }

// pollSocket is the one place where a Conn reads its socket: try, wait,
// retry, as internal/poll's (*FD).Read does, except that "wait" returns
// Pending instead of parking a goroutine. It reads into p at least one
// byte, or says io.EOF or the error; or it hands cx's waker to the reactor
// and returns Pending.
//
// It also saves a system call where that is sound. Edge-triggered epoll
// asks us to read until EAGAIN before we wait; but a read that returned
// less than it could take emptied the socket's queue, and every byte that
// arrives after it raises an edge, which the reactor counts. So if no
// readable edge has been counted since that short read (and the peer has
// not hung up), the socket is still empty, and we go straight to waiting.
// Counting edges, not asking whether one is marked ready, is what makes
// this sound: an edge can also be taken by a waker left registered by an
// earlier read that finished another way (the task was woken by a timer),
// and then nothing is marked, though the bytes are there. TestConnShortReads
// pins that sequence; chapters/benchmarks.md measures the system call
// saved.
func (c *Conn) pollSocket(cx *Context, p []byte) Poll[Result[int]] {
	for {
		switch {
		case c.closed:
			return Ready(Result[int]{Err: ErrClosed})
		case c.eof:
			return Ready(Result[int]{Err: io.EOF})
		case c.short && c.reg.quietSince(c.shortSeen):
			// Empty since the short read: nothing to try. Wait.
		case !c.rt.ex.spendIO(cx):
			return Pending[Result[int]]() // out of budget: the task yields
		default:
			seen := c.reg.reader.edges
			n, err := readFD(c.fd(), p)
			switch {
			case err == nil && n == 0:
				c.eof = true
				return Ready(Result[int]{Err: io.EOF})
			case err == nil:
				c.short, c.shortSeen = n < len(p), seen
				c.rt.ex.moved++
				return Ready(Result[int]{Value: n})
			case !errors.Is(err, unix.EAGAIN):
				return Ready(Result[int]{Err: err})
			}
		}
		if c.reg.wakeOn(readable, cx.Waker) {
			c.short = false // an edge came while nobody waited: really try again
			continue
		}
		return Pending[Result[int]]()
	}
}

// readFD reads once from the socket fd, retrying EINTR. EAGAIN comes
// back as is.
//
// It is a raw system call: it does not tell Go's scheduler that the
// thread is entering the kernel (syscall.Read would: entersyscall and
// exitsyscall, a few dozen nanoseconds each, and the scheduler's monitor
// may then take the processor from a thread that stays in a call). On a
// non-blocking socket a read never sleeps, so there is nothing to tell.
// Every socket here is made with SOCK_NONBLOCK (TestListener checks
// it).
//
// And it is recvfrom(2), not read(2): the same bytes from a socket, but
// read(2) goes through the kernel's file layer first (vfs_read: the
// checks and hooks every file gets, a file position a socket does not
// use), and recvfrom goes to the socket directly. The benchmarks page
// measures the difference ("send and recv, not write and read"); tokio
// makes the same choice.
func readFD(fd int, p []byte) (int, error) {
	var base unsafe.Pointer
	if len(p) > 0 {
		base = unsafe.Pointer(&p[0])
	}
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(base), uintptr(len(p)), 0, 0, 0)
		switch errno {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue // a signal interrupted the call; nothing was read
		case unix.EAGAIN:
			return 0, errno
		}
		return 0, os.NewSyscallError("recvfrom", errno)
	}
}

// PollRead reads into p at least one byte: first what ReadLine has read
// but not returned, then from the socket. It is Ready with the count, or
// io.EOF once the peer has shut its side and everything before was read,
// or an error; or Pending, with cx's waker left with the reactor. It is
// what the Read future does in one poll, for an application that writes
// its own future and keeps its buffer itself (Rust's AsyncRead::poll_read).
func (c *Conn) PollRead(cx *Context, p []byte) Poll[Result[int]] {
	c.compact()
	if len(c.in) > 0 && len(p) > 0 {
		n := copy(p, c.in)
		c.used = int32(n)
		c.compact()
		return Ready(Result[int]{Value: n})
	}
	return c.pollSocket(cx, p)
}

// PollWrite writes from p what the socket's send buffer will take, at
// least one byte. It is Ready with the count, or an error (the peer reset,
// or is gone: EPIPE, ECONNRESET); or Pending, with cx's waker left with
// the reactor until there is room (Rust's AsyncWrite::poll_write).
func (c *Conn) PollWrite(cx *Context, p []byte) Poll[Result[int]] {
	for {
		if c.closed {
			return Ready(Result[int]{Err: ErrClosed})
		}
		if !c.rt.ex.spendIO(cx) {
			return Pending[Result[int]]() // out of budget: the task yields
		}
		n, err := writeFD(c.fd(), p)
		switch {
		case err == nil:
			c.rt.ex.moved++
			return Ready(Result[int]{Value: n})
		case !errors.Is(err, unix.EAGAIN):
			return Ready(Result[int]{Err: err})
		}
		if c.reg.wakeOn(writable, cx.Waker) {
			continue // room appeared while nobody waited: try again
		}
		return Pending[Result[int]]()
	}
}

// writeFD writes once to the socket fd, retrying EINTR. EAGAIN comes
// back as is. Like readFD, it is a raw system call (a write to a
// non-blocking socket copies what fits and returns, and never sleeps),
// and it is sendto(2), not write(2), for the same reason. MSG_NOSIGNAL
// asks the kernel not to raise SIGPIPE when the peer is gone: the call
// reports EPIPE, and that is all.
func writeFD(fd int, p []byte) (int, error) {
	var base unsafe.Pointer
	if len(p) > 0 {
		base = unsafe.Pointer(&p[0])
	}
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(base), uintptr(len(p)), unix.MSG_NOSIGNAL, 0, 0)
		switch errno {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, errno
		}
		// EPIPE or ECONNRESET: the peer is gone.
		return 0, os.NewSyscallError("sendto", errno)
	}
}

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
	p := r.c.PollRead(cx, r.p)
	r.done = p.IsReady()
	return p
}

func (r *readFuture) Drop() {
	if !r.done {
		r.c.reg.forget(readable)
		r.done = true
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
		r, ok := w.c.PollWrite(cx, w.p).Value()
		if !ok {
			return Pending[Result[int]]()
		}
		if r.Err != nil {
			return w.finish(r.Err)
		}
		w.p, w.written = w.p[r.Value:], w.written+r.Value
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
		w.c.reg.forget(writable)
		w.done = true
	}
}

// CloseWrite shuts the write side: the peer reads EOF after what was sent.
func (c *Conn) CloseWrite() error {
	if c.closed {
		return ErrClosed
	}
	if err := unix.Shutdown(c.fd(), unix.SHUT_WR); err != nil {
		return os.NewSyscallError("shutdown", err)
	}
	return nil
}

// Close takes the connection out of the epoll set, then closes it. Closing
// twice is harmless: the descriptor number may belong to someone else by
// then, so the second call does nothing.
func (c *Conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	c.rt.buffers.Put(c.in)
	c.in, c.used, c.scanned = nil, 0, 0 // a read after Close finds nothing, and says ErrClosed
	c.rt.reactor.deregister(&c.reg)
	if err := unix.Close(c.fd()); err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}
