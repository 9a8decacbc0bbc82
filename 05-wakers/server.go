//go:build linux

package main

import (
	"io"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"
)

// server is an echo server that owns a listening socket, the executor that
// runs one task per connection, and the reactor it sleeps in. The fields
// above mu belong to the one goroutine running serve; shutdown is the only
// method safe to call from another goroutine.
type server struct {
	lfd     int            // the listening socket
	addr    netip.AddrPort // where it listens, with the port the kernel chose
	reactor *Reactor
	ex      *Executor
	buf     []byte // the one read buffer, shared by all sessions
	stats   stats
	trace   tracer

	mu        sync.Mutex // guards the two fields below, shared with shutdown
	stopping  bool       // shutdown was called
	stopWaker *Waker     // the accept task's waker, for shutdown to call
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

// shutdown asks serve to return. It may be called from any goroutine, any
// number of times, before or after serve.
//
// It is the demo's cross-goroutine wake: it sets a flag and calls the
// accept task's waker. If the event loop is asleep in epoll_wait, the
// waker writes to the reactor's eventfd and epoll_wait returns; if the
// loop is still busy (with the last client's goodbye, say), the wake only
// joins the woken list, which the loop reads before it sleeps. Either
// way the accept task runs, sees the flag and finishes, and so does serve.
func (s *server) shutdown() {
	s.mu.Lock()
	s.stopping = true
	w := s.stopWaker
	s.mu.Unlock()
	// Nil before the accept task first ran: it will see the flag then.
	// After serve has returned, the task is finished and Wake ignores it.
	w.Wake()
}

// stopRequested keeps w as the waker for shutdown to call, and reports
// whether shutdown has been called. The accept task calls it every poll.
func (s *server) stopRequested(w *Waker) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopWaker = w
	return s.stopping
}

// serve runs the accept task, and with it every session it spawns, until
// the server is shut down.
func (s *server) serve() error {
	defer s.closeAll()
	if err := s.reactor.Register(s.lfd); err != nil {
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
// socket), and closes the listener and then the epoll instance.
func (s *server) closeAll() {
	s.ex.Close()
	// Every session still running was just dropped, and a dropped session
	// closes its connection: from here on, every accepted one is closed.
	s.stats.closed = s.stats.accepted
	s.stats.waits, s.stats.ready = s.reactor.waits, s.reactor.nready
	s.stats.polls, s.stats.empty = s.ex.polls, s.ex.empty
	s.stats.wakes, s.stats.remote, s.stats.notifies = s.ex.wakes.Load(), s.ex.remote.Load(), s.reactor.notifies.Load()
	s.reactor.Deregister(s.lfd)
	unix.Close(s.lfd)
	s.reactor.Close()
}
