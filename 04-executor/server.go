//go:build linux

package main

import (
	"io"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"
)

// server is an echo server that owns a listening socket, the executor that
// runs one task per connection, and the reactor it sleeps in. All its
// fields but mu belong to the one goroutine running serve; shutdown is the
// only method safe to call from another goroutine.
type server struct {
	lfd     int            // the listening socket
	addr    netip.AddrPort // where it listens, with the port the kernel chose
	reactor *Reactor
	ex      *Executor
	buf     []byte // the one read buffer, shared by all sessions
	stats   stats
	trace   tracer

	mu     sync.Mutex // guards closed, so shutdown never touches a reused fd
	closed bool       // lfd has been closed by serve
}

func newServer(addr string, trace, log io.Writer) (*server, error) {
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
	s := &server{
		lfd: lfd, addr: bound, reactor: reactor, ex: NewExecutor(reactor, tr, log),
		buf: make([]byte, readSize), trace: tr,
	}
	s.ex.work = &s.stats.work // lend the executor our work meter, to tell empty polls
	return s, nil
}

// shutdown asks serve to return. It may be called from any goroutine.
//
// shutdown(2) on a listening socket takes it out of the LISTEN state: epoll
// reports it (HUP), and accept4 on it fails with EINVAL; the accept task
// then finishes, and so does serve.
func (s *server) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		unix.Shutdown(s.lfd, unix.SHUT_RDWR)
	}
}

// serve runs the accept task, and with it every session it spawns, until
// the server is shut down.
func (s *server) serve() error {
	defer s.closeAll()
	if err := s.reactor.Register(s.lfd, Readable); err != nil {
		return err
	}
	_, err := BlockOn(s.ex, "accept", &acceptLoop{srv: s})
	return err
}

// record counts a finished session; it runs inside the session's task.
func (s *server) record(e echoed) echoed {
	s.trace.printf("session: %v; closed", e)
	s.stats.bytes += e.bytes
	s.stats.closed++
	return e
}

// closeAll drops every task still running (each session closes its
// socket), closes the epoll instance and then the listener, under mu so
// that a late shutdown cannot reach a descriptor number the kernel reuses.
func (s *server) closeAll() {
	s.ex.Close()
	// Every session still running was just dropped, and a dropped session
	// closes its connection: from here on, every accepted one is closed.
	s.stats.closed = s.stats.accepted
	s.stats.waits, s.stats.ready = s.reactor.waits, s.reactor.ready
	s.stats.polls, s.stats.empty = s.ex.polls, s.ex.empty
	s.reactor.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	unix.Close(s.lfd)
	s.closed = true
}
