//go:build linux

package main

import (
	"errors"
	"io"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// server is an echo server that owns a listening socket and every
// connection accepted from it. All its fields but mu belong to the one
// goroutine running serve; shutdown is the only method safe to call from
// another goroutine.
type server struct {
	lfd      int            // the listening socket
	addr     netip.AddrPort // where it listens, with the port the kernel chose
	reactor  *Reactor
	conns    map[int]*conn // open connections, by descriptor
	buf      []byte        // the one read buffer, shared by all connections
	stats    stats
	trace    tracer
	stopping bool          // accept4 said EINVAL: shutdown was called
	backoff  time.Duration // how long the listener rested after accept last ran out of descriptors
	resumeAt time.Time     // when to watch the listener again; zero while it is watched

	mu     sync.Mutex // guards closed, so shutdown never touches a reused fd
	closed bool       // lfd has been closed by serve
}

func newServer(addr string, trace io.Writer) (*server, error) {
	tr := newTracer(trace) // one clock for the whole trace
	lfd, bound, err := listenTCP(addr)
	if err != nil {
		return nil, err
	}
	reactor, err := NewReactor(tr)
	if err != nil {
		unix.Close(lfd)
		return nil, err
	}
	return &server{
		lfd: lfd, addr: bound, reactor: reactor, conns: make(map[int]*conn),
		buf: make([]byte, readSize), trace: tr,
	}, nil
}

// shutdown asks serve to return. It may be called from any goroutine.
//
// shutdown(2) on a listening socket takes it out of the LISTEN state: epoll
// reports it (HUP), and accept4 on it fails with EINVAL. That is how the
// sleeping loop learns to stop, without a second descriptor to wake it.
func (s *server) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		unix.Shutdown(s.lfd, unix.SHUT_RDWR)
	}
}

// serve runs the event loop until shutdown is called. The loop itself is
// three lines: all the work happens in the handlers that Wait calls, and
// between events the thread sleeps inside epoll_wait (for as long as it
// takes, unless the listener is resting: see onAccept).
func (s *server) serve() error {
	defer s.closeAll()
	if err := s.reactor.Register(s.lfd, Readable, s.onAccept); err != nil {
		return err
	}
	for !s.stopping {
		if _, err := s.reactor.Wait(s.timeout()); err != nil {
			return err
		}
	}
	return nil
}

// timeout is how long the next Wait may sleep: for ever, unless the
// listener is resting after accept ran out of descriptors. When the rest
// is over, it watches the listener again; level-triggered, epoll reports
// at once any client still waiting in the backlog.
func (s *server) timeout() time.Duration {
	if s.resumeAt.IsZero() {
		return -1
	}
	if left := time.Until(s.resumeAt); left > 0 {
		return left
	}
	s.resumeAt = time.Time{}
	s.trace.printf("  fd %d (listener): watched again", s.lfd)
	s.reactor.Modify(s.lfd, Readable)
	return -1
}

// onAccept is the listener's handler: accept every connection that is
// waiting, and register each with its own handler.
func (s *server) onAccept(Events) {
	for {
		s.stats.tries++
		fd, err := accept(s.lfd)
		switch {
		case err == nil:
		case errors.Is(err, unix.EAGAIN):
			s.stats.emptyTries++ // the queue is empty; epoll will tell us about the next one
			return
		case errors.Is(err, unix.EINVAL):
			s.trace.printf("  fd %d (listener): shut down, stopping", s.lfd)
			s.stopping = true
			return
		default:
			// EMFILE, ENFILE, ENOBUFS: out of descriptors or memory
			// for now. The client waits in the backlog and the listener
			// stays readable, so level-triggered epoll would call us
			// straight back: the loop would spin until a descriptor
			// frees up. Instead, stop watching the listener for a rest,
			// 5 ms at first, doubling up to 1 s (as net/http does).
			// With no events asked for, epoll still reports a hang-up,
			// so shutdown still works meanwhile.
			s.backoff = min(max(2*s.backoff, 5*time.Millisecond), time.Second)
			s.resumeAt = time.Now().Add(s.backoff)
			s.trace.printf("  fd %d (listener): %v; resting %v", s.lfd, err, s.backoff)
			s.stats.acceptErrors++
			s.reactor.Modify(s.lfd, 0)
			return
		}
		s.backoff = 0
		c := &conn{fd: fd, armed: Readable}
		if err := s.reactor.Register(fd, c.armed, func(ev Events) { s.onConn(c, ev) }); err != nil {
			s.trace.printf("  fd %d (listener): register fd %d: %v", s.lfd, fd, err)
			unix.Close(fd)
			continue
		}
		s.conns[fd] = c
		s.stats.accepted++
		s.trace.printf("  fd %d (listener): accepted fd %d", s.lfd, fd)
	}
}

// onConn is a connection's handler. It reads once if the socket is
// readable and there is room, writes back at once whatever is pending
// (without first waiting for EPOLLOUT: usually the send buffer has room),
// and then tells the reactor what to wait for next.
func (s *server) onConn(c *conn, ev Events) {
	var read, written int
	var err error
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 && c.wantsRead() {
		s.stats.tries++
		read, err = c.fill(s.buf)
		if read == 0 && !c.eof && err == nil {
			s.stats.emptyTries++
		}
		s.stats.bytes += int64(read)
		s.stats.peakPending = max(s.stats.peakPending, len(c.out))
	}
	if err == nil {
		written, err = c.flush()
	}
	if s.trace.w != nil {
		s.trace.printf("  fd %d: %v: read %d, wrote %d, pending %d%s", c.fd, ev, read, written, len(c.out), traceEnd(c, err))
	}
	if err != nil || c.done() {
		s.closeConn(c)
		return
	}
	// Ask for exactly what can make progress now: reading while there is
	// room, writing while output is pending.
	if want := c.interest(); want != c.armed {
		if err := s.reactor.Modify(c.fd, want); err != nil {
			s.trace.printf("  fd %d: %v", c.fd, err)
			s.closeConn(c)
			return
		}
		c.armed = want
	}
}

// traceEnd says why a connection is about to close, for the trace.
func traceEnd(c *conn, err error) string {
	switch {
	case err != nil:
		return "; " + err.Error() + ": closing"
	case c.done():
		return "; EOF and all echoed: closing"
	case c.eof:
		return "; EOF, still echoing"
	}
	return ""
}

// closeConn takes c out of the epoll set and then closes it, in that
// order: once closed, its number may be handed to the next accept.
func (s *server) closeConn(c *conn) {
	s.reactor.Deregister(c.fd)
	unix.Close(c.fd)
	delete(s.conns, c.fd)
	s.stats.closed++
}

// closeAll closes every connection, the epoll instance and then the
// listener, under mu so that a late shutdown cannot reach a descriptor
// number the kernel reuses.
func (s *server) closeAll() {
	for _, c := range s.conns {
		s.closeConn(c)
	}
	s.stats.waits, s.stats.ready = s.reactor.waits, s.reactor.ready
	s.reactor.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	unix.Close(s.lfd)
	s.closed = true
}
