//go:build linux

package main

import (
	"errors"
	"io"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"
)

// server is an echo server that owns a listening socket and one future
// per connection accepted from it. All its fields but mu belong to the
// one goroutine running serve; shutdown is the only method safe to call
// from another goroutine.
type server struct {
	lfd      int            // the listening socket
	addr     netip.AddrPort // where it listens, with the port the kernel chose
	sessions []*echoSession // one future per open connection, polled in this order
	buf      []byte         // the one read buffer, shared by all sessions
	stats    stats
	trace    tracer

	mu     sync.Mutex // guards closed, so shutdown never touches a reused fd
	closed bool       // lfd has been closed by serve
}

func newServer(addr string, trace io.Writer) (*server, error) {
	tr := newTracer(trace) // one clock for the whole trace
	lfd, bound, err := listenTCP(addr)
	if err != nil {
		return nil, err
	}
	return &server{lfd: lfd, addr: bound, buf: make([]byte, readSize), trace: tr}, nil
}

// shutdown asks serve to return. It may be called from any goroutine.
//
// shutdown(2) on a listening socket takes it out of the LISTEN state, and
// every later accept4 on it fails with EINVAL; the accept future returns
// that error, which is how the loop learns to stop.
func (s *server) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		unix.Shutdown(s.lfd, unix.SHUT_RDWR)
	}
}

// serve drives the futures with the simplest loop there is: poll the
// accept future, then every session's future, in turn, forever. It has
// no idea which of them could make progress, so it asks them all, every
// time; nearly every answer is Pending, and the core burns as in 01.
func (s *server) serve() error {
	defer s.closeAll()
	cx := &Context{} // empty for now: nothing to wake anyone with
	next := &acceptFuture{lfd: s.lfd}
	for {
		s.stats.rounds++

		p := next.Poll(cx)
		s.stats.polls++
		if a, ok := p.Value(); ok {
			if errors.Is(a.err, unix.EINVAL) {
				s.trace.printf("poll accept: Ready: shut down, stopping")
				return nil
			}
			s.accept(a)
			next = &acceptFuture{lfd: s.lfd} // a future is used once
		} else {
			s.stats.empty++ // its one accept4 said EAGAIN
			s.trace.printf("poll accept: Pending, empty")
		}

		for i := 0; i < len(s.sessions); {
			sess := s.sessions[i]
			before, work := sess.state, s.stats.work
			p := sess.Poll(cx)
			s.stats.polls++
			res, ok := p.Value()
			if !ok {
				empty := ""
				if s.stats.work == work {
					s.stats.empty++ // not a byte read or written: the poll found nothing to do
					empty = ", empty"
				}
				s.trace.printf("poll fd %d (%v): Pending (%v)%s", sess.c.fd, before, sess.state, empty)
				i++
				continue
			}
			s.trace.printf("poll fd %d (%v): Ready: %v; closed", sess.c.fd, before, res)
			s.stats.bytes += res.bytes
			s.stats.closed++
			// Order does not matter: move the last one into the gap.
			s.sessions[i] = s.sessions[len(s.sessions)-1]
			s.sessions = s.sessions[:len(s.sessions)-1]
		}
	}
}

// accept starts a session future for a new connection, or counts the
// error accept4 gave: EMFILE, ENFILE, ENOBUFS mean out of descriptors or
// memory for now, and the next round tries again.
func (s *server) accept(a accepted) {
	if a.err != nil {
		s.trace.printf("poll accept: Ready: %v", a.err)
		s.stats.acceptErrors++
		return
	}
	s.trace.printf("poll accept: Ready: fd %d", a.fd)
	s.sessions = append(s.sessions, newEchoSession(a.fd, s.buf, &s.stats.work))
	s.stats.accepted++
}

// closeAll drops every session still running (each closes its socket)
// and then closes the listener, under mu so that a late shutdown cannot
// reach a descriptor number the kernel reuses.
func (s *server) closeAll() {
	for _, sess := range s.sessions {
		sess.Drop()
		s.stats.closed++
	}
	s.sessions = nil
	s.mu.Lock()
	defer s.mu.Unlock()
	unix.Close(s.lfd)
	s.closed = true
}
