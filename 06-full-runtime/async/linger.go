//go:build linux

package async

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

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
	return &lingerFuture{c: c, check: newTimer()}
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
		c.CloseWrite() // if it fails, the connection is broken: unacked or the read says so
		l.started = true
	}
	for {
		if n, err := c.unacked(); err != nil || n == 0 {
			return l.finish() // all acknowledged, FIN included
		}
		res, ok := c.pollSocket(cx, c.rt.scratch).Value()
		if ok {
			if res.Err != nil {
				return l.finish() // EOF or a reset: the peer is done
			}
			continue // what came is dropped
		}
		// Nothing to read: the reader waits. An acknowledgement may
		// raise a writable edge; wait for that too.
		if !c.reg.wakeOn(writable, cx.Waker) {
			break
		}
	}
	if !c.rt.timers.holds(&l.check) { // and if no edge comes, look again soon
		c.rt.timers.schedule(&l.check, time.Now().Add(lingerCheck), cx.Waker)
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
		l.c.reg.forget(readable)
		l.c.reg.forget(writable)
	}
}

// unacked is how many bytes written to c the peer has not acknowledged
// yet: still in the send queue, or in flight (the SIOCOUTQ ioctl).
func (c *Conn) unacked() (int, error) {
	if c.closed {
		return 0, ErrClosed
	}
	n, err := unix.IoctlGetInt(c.fd(), unix.SIOCOUTQ)
	if err != nil {
		return 0, os.NewSyscallError("ioctl SIOCOUTQ", err)
	}
	return n, nil
}
