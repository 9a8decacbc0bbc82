//go:build linux

package async

import (
	"errors"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Listener is a listening TCP socket, registered with its runtime.
type Listener struct {
	rt      *Runtime
	reg     registration
	fd      int
	addr    netip.AddrPort
	backoff time.Duration    // the pause after the last accept that failed for lack of resources
	pause   Future[struct{}] // the back-off Sleep, while one is running
	closed  bool
}

// Listen opens a listening socket on addr, such as "127.0.0.1:0" (port 0:
// the kernel picks a free one; Addr says which).
func (rt *Runtime) Listen(addr string) (*Listener, error) {
	fd, bound, err := listenTCP(addr)
	if err != nil {
		return nil, err
	}
	l := &Listener{rt: rt, fd: fd, addr: bound}
	if err := rt.reactor.register(&l.reg, fd); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return l, nil
}

// Addr is the address the listener is bound to, with the port the kernel chose.
func (l *Listener) Addr() netip.AddrPort { return l.addr }

// Close stops listening: clients that connect from now on are refused, and
// an Accept in progress finishes with ErrClosed. Connections already
// accepted are not affected. Closing twice is harmless: the second call
// does nothing, since the descriptor's number may belong to another
// socket by then.
func (l *Listener) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	Drop(l.pause) // a back-off timer has nothing left to resume
	l.pause = nil
	l.rt.reactor.deregister(&l.reg)
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

// PollAccept is what the Accept future does in one poll, for a future
// written by hand that accepts again and again without allocating: Ready
// with the next connection (or an error, or ErrClosed once the listener is
// closed), or Pending with cx's waker left with the reactor, or with the
// back-off timer while accepting is paused.
func (l *Listener) PollAccept(cx *Context) Poll[Result[*Conn]] {
	for {
		if l.pause != nil {
			if !l.pause.Poll(cx).IsReady() {
				return Pending[Result[*Conn]]()
			}
			l.pause = nil
		}
		if l.closed {
			return Ready(Result[*Conn]{Err: ErrClosed})
		}
		if !l.rt.ex.spendIO(cx) {
			return Pending[Result[*Conn]]() // yield: see spendIO
		}
		fd, err := accept(l.fd)
		switch {
		case err == unix.EAGAIN:
			if l.reg.wakeOn(readable, cx.Waker) {
				continue // a connection came since: try again
			}
			return Pending[Result[*Conn]]()
		case errors.Is(err, unix.EMFILE), errors.Is(err, unix.ENFILE),
			errors.Is(err, unix.ENOBUFS), errors.Is(err, unix.ENOMEM):
			l.backoff = min(max(2*l.backoff, minAcceptBackoff), maxAcceptBackoff)
			l.rt.pauses++
			l.rt.trace.printf("accept: %v; retrying in %v", err, l.backoff)
			l.pause = l.rt.Sleep(l.backoff)
			continue
		case err != nil:
			return Ready(Result[*Conn]{Err: err})
		}
		l.backoff = 0
		l.rt.accepts++
		l.rt.ex.moved++
		c, err := l.rt.newConn(fd)
		return Ready(Result[*Conn]{Value: c, Err: err})
	}
}

type acceptFuture struct {
	l    *Listener
	done bool
}

func (a *acceptFuture) Poll(cx *Context) Poll[Result[*Conn]] {
	if a.done {
		panic("Accept: polled after it returned Ready")
	}
	p := a.l.PollAccept(cx)
	a.done = p.IsReady()
	return p
}

// Drop withdraws the waker and cancels the back-off timer. After the
// listener was closed, withdrawing touches only its dead registration,
// never that of a socket that got the same number since.
func (a *acceptFuture) Drop() {
	if !a.done {
		a.l.reg.forget(readable)
		Drop(a.l.pause) // the next PollAccept pauses afresh if it must
		a.l.pause = nil
		a.done = true
	}
}
