//go:build linux

package main

import (
	"fmt"
	"io"
	"net/netip"
	"sync"
	"time"

	"github.com/asyncio-go/tutorial/06-full-runtime/async"
)

// server is the application's server: a runtime, a listener, and one task
// per connection, running the echo session (session.go) or the HTTP one
// (http.go). It uses the async package's exported API and nothing else.
// The fields above mu belong to the one goroutine running serve; shutdown
// is the only method safe to call from another goroutine (a signal
// handler's, say).
type server struct {
	rt       *async.Runtime
	ln       *async.Listener
	addr     netip.AddrPort                     // where it listens, with the port the kernel chose
	grace    time.Duration                      // how long shutdown waits for sessions to finish
	idle     time.Duration                      // how long a session waits for a whole line or request before it gives up
	abrupt   bool                               // sessions close at once instead of lingering (-linger=false)
	live     []session                          // the sessions not finished yet, in no order (see liveEntry)
	open     func(*async.Conn, *server) session // makes the application's session for a connection
	draining bool                               // shutdown has begun: sessions finish at their next idle moment
	drainer  *async.Waker                       // the serve task, while it waits for the last session
	stats    stats
	date     httpDate          // the HTTP application's Date header, formatted once a second
	buffers  *async.BufferPool // rt.Buffers(), where the HTTP sessions borrow their buffers (a field, so that a session can be tested without a runtime)
	scratch  []byte            // where every HTTP session's reads land, one session at a time (see httpSession.fill); made by the first HTTP read
	onPark   func()            // if set, runs each time the loop is about to sleep: tests act there

	mu        sync.Mutex   // guards the two fields below, shared with shutdown
	stopping  bool         // shutdown was called
	stopWaker *async.Waker // the serve task's waker, for shutdown to call
}

// serverConfig is what the command line says about the server.
type serverConfig struct {
	addr     string        // where to listen
	grace    time.Duration // how long shutdown waits for sessions
	idle     time.Duration // the idle limit of a session
	trace    io.Writer     // the loop's life, one step a line; nil for none
	log      io.Writer     // the report of a task that panicked
	ioBudget int           // async.Config.IOBudget: 0 for the default, -1 for none
	abrupt   bool          // close at once, never with a lingering close (to show what the lingering close is for)
	hold     bool          // async.Config.HoldProcessor: -listen, where no client runs in this process
}

// newServer makes a runtime and listens on cfg.addr.
func newServer(cfg serverConfig) (*server, error) {
	srv := &server{grace: cfg.grace, idle: cfg.idle, abrupt: cfg.abrupt, open: newEchoSession}
	rt, err := async.NewRuntime(async.Config{Trace: cfg.trace, Log: cfg.log, IOBudget: cfg.ioBudget, HoldProcessor: cfg.hold, OnPark: func() {
		if srv.onPark != nil {
			srv.onPark()
		}
	}})
	if err != nil {
		return nil, err
	}
	ln, err := rt.Listen(cfg.addr)
	if err != nil {
		rt.Close()
		return nil, err
	}
	srv.rt, srv.ln, srv.addr, srv.buffers = rt, ln, ln.Addr(), rt.Buffers()
	return srv, nil
}

// shutdown asks the server to stop: it stops accepting, lets sessions in
// the middle of an answer finish it, waits up to the grace period for
// them, then serve returns. It may be called from any goroutine, any
// number of times, before or after serve. It sets a flag and calls the
// serve task's waker: if the loop is asleep in epoll_wait, that goes
// through the eventfd.
func (srv *server) shutdown() {
	srv.mu.Lock()
	srv.stopping = true
	w := srv.stopWaker
	srv.mu.Unlock()
	// Nil before the serve task first ran: it will see the flag then.
	// After serve has returned, the task is finished and Wake ignores it.
	w.Wake()
}

// stopRequested keeps w as the waker for shutdown to call, and reports
// whether shutdown has been called.
func (srv *server) stopRequested(w *async.Waker) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.stopWaker = w
	return srv.stopping
}

// session is what the server runs for each connection: the echo
// application (session.go) or the HTTP one (http.go).
type session interface {
	async.Future[struct{}] // Ready once it has closed its connection and called record
	async.Dropper
	kind() string        // "echo" or "http", for task names
	waker() *async.Waker // the session's task, for shutdown to wake; nil before its first poll
	entry() *liveEntry   // its place in srv.live
}

// liveEntry is a session's place in srv.live; every session embeds one.
// A slice with each entry's index kept in the entry costs a third of what
// a map[session]struct{} would, per connection.
type liveEntry struct{ slot int32 }

func (e *liveEntry) entry() *liveEntry { return e }

// enter adds sess to the live sessions.
func (srv *server) enter(sess session) {
	sess.entry().slot = int32(len(srv.live))
	srv.live = append(srv.live, sess)
}

// leave takes sess out of the live sessions: the last one moves into its
// place.
func (srv *server) leave(sess session) {
	i, last := sess.entry().slot, srv.live[len(srv.live)-1]
	last.entry().slot, srv.live[i] = i, last
	srv.live[len(srv.live)-1] = nil
	srv.live = srv.live[:len(srv.live)-1]
}

// sessionResult is what a session ends with, and tells record: the bytes it wrote back
// to its client, and the error that ended it (nil for a client that said
// goodbye with EOF, or for a session closed by shutdown).
type sessionResult struct {
	written int64
	err     error
}

// String describes a session's result for the trace.
func (r sessionResult) String() string {
	if r.err != nil {
		return fmt.Sprintf("wrote %d bytes, then %v", r.written, r.err)
	}
	return fmt.Sprintf("wrote %d bytes, then EOF", r.written)
}

// serve runs the server's task, and with it every session, until shutdown
// has done its work.
func (srv *server) serve() error {
	defer srv.closeAll()
	_, err := async.BlockOn(srv.rt, "serve", async.Future[struct{}](&serveTask{srv: srv}))
	return err
}

// serveTask accepts connections and spawns a session for each, until
// shutdown; then it drains:
//
//	async fn serve(listener, stop) {
//	    loop {
//	        select! {
//	            conn = listener.accept() => spawn(session(conn)),  // serveAccepting
//	            _ = stop.recv() => break,
//	        }
//	    }
//	    drop(listener);
//	    timeout(GRACE, all_sessions_done()).await;             // serveDraining
//	}
type serveTask struct {
	srv   *server
	state serveState
	grace async.Future[struct{}] // the grace period's Sleep, while draining
}

type serveState int

const (
	serveAccepting serveState = iota // waiting for a connection, or for shutdown
	serveDraining                    // listener closed; waiting for the sessions left
	serveDone                        // returned Ready
)

func (st *serveTask) Poll(cx *async.Context) async.Poll[struct{}] {
	srv := st.srv
	for {
		switch st.state {
		case serveAccepting:
			if srv.stopRequested(cx.Waker) {
				st.startDraining()
				continue
			}
			r, ok := srv.ln.PollAccept(cx).Value() // no Accept future per connection: nothing to allocate
			if !ok {
				return async.Pending[struct{}]()
			}
			if r.Err != nil {
				srv.rt.Tracef("accept: %v", r.Err)
				srv.stats.acceptErrors++
				continue
			}
			sess := srv.open(r.Value, srv)
			srv.enter(sess)
			name := sess.kind() // a task's name is for the trace: say which connection only if it is on
			if srv.rt.Tracing() {
				srv.rt.Tracef("accept: %v", r.Value)
				name = fmt.Sprintf("%s %v", name, r.Value)
			}
			async.Spawn(srv.rt, name, async.Future[struct{}](sess))
		case serveDraining:
			if len(srv.live) == 0 {
				srv.rt.Tracef("shutdown: every session has finished")
				async.Drop(st.grace) // and its timer with it
				st.grace, st.state = nil, serveDone
				return async.Ready(struct{}{})
			}
			if st.grace.Poll(cx).IsReady() {
				srv.rt.Tracef("shutdown: grace period over, %d session(s) left to drop", len(srv.live))
				st.grace, st.state = nil, serveDone
				return async.Ready(struct{}{})
			}
			srv.drainer = cx.Waker
			return async.Pending[struct{}]()
		default:
			panic("serve: polled after it returned Ready")
		}
	}
}

// startDraining closes the listener and wakes every session, so that
// those waiting for a line or a request finish now; those writing finish
// their answer.
func (st *serveTask) startDraining() {
	srv := st.srv
	srv.rt.Tracef("shutdown: closing the listener, draining %d session(s), grace %v", len(srv.live), srv.grace)
	srv.ln.Close() // our waker goes with its registration
	srv.draining = true
	for _, sess := range srv.live {
		sess.waker().Wake()
	}
	st.grace, st.state = srv.rt.Sleep(srv.grace), serveDraining
}

// Drop cancels what the task still waits on (closeAll closes the
// listener).
func (st *serveTask) Drop() {
	async.Drop(st.grace)
}

// record counts a finished session; a session calls it as it returns
// Ready, on its own task. (The session's future could finish with the
// result instead, for a Map to record it; but every connection would pay
// for the Map and its closure, and for the result kept in its JoinHandle.)
func (srv *server) record(sess session, r sessionResult) {
	if srv.rt.Tracing() {
		srv.rt.Tracef("session: %v; closed", r)
	}
	srv.leave(sess)
	srv.stats.bytes += r.written
	srv.stats.closed++
	if srv.draining {
		if r.err == nil {
			srv.stats.drained++ // it finished cleanly during shutdown (not one already refused, say)
		}
		if len(srv.live) == 0 {
			srv.drainer.Wake()
		}
	}
}

// closeAll closes the listener if shutdown has not, then the runtime,
// which drops every task still running (each session closes its socket:
// those are counted as dropped), and keeps the runtime's counters.
func (srv *server) closeAll() {
	srv.ln.Close() // a second Close, after shutdown's, does nothing
	srv.rt.Close()
	srv.stats.closed += int64(len(srv.live))
	srv.live = nil
	srv.stats.runtime = srv.rt.Stats()
}
