//go:build linux

package main

import (
	"fmt"
	"io"
	"net/netip"
	"sync"
	"time"
)

// server is the echo application's server: a runtime, a listener, and one
// task per connection. The fields above mu belong to the one goroutine
// running serve; shutdown is the only method safe to call from another
// goroutine (a signal handler's, say).
type server struct {
	rt       *Runtime
	ln       *Listener
	addr     netip.AddrPort // where it listens, with the port the kernel chose
	grace    time.Duration  // how long shutdown waits for sessions to finish
	idle     time.Duration  // how long a session waits for a whole line before it gives up
	live     map[session]struct{}
	open     func(*Conn, *server) session // makes the application's session for a connection
	draining bool                         // shutdown has begun: sessions finish at their next idle moment
	drainer  *Waker                       // the serve task, while it waits for the last session
	stats    stats
	trace    tracer
	date     httpDate // the HTTP application's Date header, formatted once a second

	mu        sync.Mutex // guards the two fields below, shared with shutdown
	stopping  bool       // shutdown was called
	stopWaker *Waker     // the serve task's waker, for shutdown to call
}

func newServer(addr string, grace, idle time.Duration, trace, log io.Writer) (*server, error) {
	rt, err := NewRuntime(trace, log)
	if err != nil {
		return nil, err
	}
	ln, err := rt.Listen(addr)
	if err != nil {
		rt.Close()
		return nil, err
	}
	return &server{
		rt: rt, ln: ln, addr: ln.Addr(), grace: grace, idle: idle,
		live: make(map[session]struct{}), open: newEchoSession, trace: tracer{trace},
	}, nil
}

// shutdown asks the server to stop: it stops accepting, lets sessions in
// the middle of an echo finish it, waits up to the grace period for them,
// then serve returns. It may be called from any goroutine, any number of
// times, before or after serve. It sets a flag and calls the serve task's
// waker: if the loop is asleep in epoll_wait, through the eventfd.
func (s *server) shutdown() {
	s.mu.Lock()
	s.stopping = true
	w := s.stopWaker
	s.mu.Unlock()
	// Nil before the serve task first ran: it will see the flag then.
	// After serve has returned, the task is finished and Wake ignores it.
	w.Wake()
}

// stopRequested keeps w as the waker for shutdown to call, and reports
// whether shutdown has been called.
func (s *server) stopRequested(w *Waker) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopWaker = w
	return s.stopping
}

// session is what the server runs for each connection: the echo
// application (session.go) or the HTTP one (http.go).
type session interface {
	Future[echoed]
	Dropper
	kind() string  // "echo" or "http", for task names
	waker() *Waker // the session's task, for shutdown to wake; nil before its first poll
}

// serve runs the server's task, and with it every session, until shutdown
// has done its work.
func (s *server) serve() error {
	defer s.closeAll()
	_, err := BlockOn(s.rt, "serve", Future[struct{}](&serveTask{srv: s}))
	return err
}

// serveTask accepts connections and spawns a session for each, until
// shutdown; then it drains:
//
//	async fn serve(listener, stop) {
//	    loop {
//	        select! {
//	            conn = listener.accept() => spawn(echo(conn)),   // serveAccepting
//	            _ = stop.recv() => break,
//	        }
//	    }
//	    drop(listener);
//	    timeout(GRACE, all_sessions_done()).await;           // serveDraining
//	}
type serveTask struct {
	srv    *server
	state  serveState
	accept Future[Result[*Conn]] // the Accept being awaited
	grace  Future[struct{}]      // the grace period's Sleep, while draining
}

type serveState int

const (
	serveAccepting serveState = iota // waiting for a connection, or for shutdown
	serveDraining                    // listener closed; waiting for the sessions left
	serveDone
)

func (t *serveTask) Poll(cx *Context) Poll[struct{}] {
	s := t.srv
	for {
		switch t.state {
		case serveAccepting:
			if s.stopRequested(cx.Waker) {
				t.startDraining()
				continue
			}
			if t.accept == nil {
				t.accept = s.ln.Accept()
			}
			r, ok := t.accept.Poll(cx).Value()
			if !ok {
				return Pending[struct{}]()
			}
			t.accept = nil
			if r.Err != nil {
				s.trace.printf("accept: %v", r.Err)
				s.stats.acceptErrors++
				continue
			}
			s.stats.accepted++
			s.trace.printf("accept: fd %d", r.Value.fd)
			session := s.open(r.Value, s)
			s.live[session] = struct{}{}
			Spawn(s.rt, fmt.Sprintf("%s fd %d", session.kind(), r.Value.fd), Map(Future[echoed](session), func(e echoed) echoed {
				return s.record(session, e)
			}))
		case serveDraining:
			if len(s.live) == 0 {
				s.trace.printf("shutdown: every session has finished")
				drop(t.grace) // and its timer with it
				t.grace, t.state = nil, serveDone
				return Ready(struct{}{})
			}
			if t.grace.Poll(cx).IsReady() {
				s.trace.printf("shutdown: grace period over, %d session(s) left to drop", len(s.live))
				t.grace, t.state = nil, serveDone
				return Ready(struct{}{})
			}
			s.drainer = cx.Waker
			return Pending[struct{}]()
		default:
			panic("serve: polled after it returned Ready")
		}
	}
}

// startDraining closes the listener and wakes every session, so that
// those waiting for a line finish now; those writing finish their echo.
func (t *serveTask) startDraining() {
	s := t.srv
	s.trace.printf("shutdown: closing the listener, draining %d session(s), grace %v", len(s.live), s.grace)
	drop(t.accept)
	t.accept = nil
	s.ln.Close()
	s.draining = true
	for session := range s.live {
		session.waker().Wake()
	}
	t.grace, t.state = s.rt.Sleep(s.grace), serveDraining
}

// Drop cancels what the task still waits on.
func (t *serveTask) Drop() {
	drop(t.accept)
	drop(t.grace)
}

// record counts a finished session; it runs inside the session's task.
func (s *server) record(session session, e echoed) echoed {
	s.trace.printf("session: %v; closed", e)
	delete(s.live, session)
	s.stats.bytes += e.bytes
	s.stats.closed++
	if s.draining {
		s.stats.drained++
		if len(s.live) == 0 {
			s.drainer.Wake()
		}
	}
	return e
}

// closeAll drops every task still running (each session closes its
// socket: those are counted as dropped), closes the listener if shutdown
// has not, and then the runtime.
func (s *server) closeAll() {
	s.rt.ex.Close()
	if !s.draining {
		s.ln.Close()
	}
	s.stats.closed += int64(len(s.live))
	clear(s.live)
	s.stats.waits, s.stats.ready = s.rt.reactor.waits, s.rt.reactor.nready
	s.stats.polls, s.stats.wasted = s.rt.ex.polls, s.rt.ex.wasted
	s.stats.wakes, s.stats.remote, s.stats.notifies = s.rt.ex.wakes.Load(), s.rt.ex.remote.Load(), s.rt.reactor.notifies.Load()
	s.stats.timers = s.rt.timers.fires
	s.stats.acceptPauses = s.ln.pauses
	s.rt.Close()
}
