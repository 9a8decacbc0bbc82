//go:build linux

package main

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// echoSession serves one client, written as the state machine a compiler
// would make of this async fn:
//
//	async fn echo(mut conn: TcpStream) -> io::Result<u64> {
//	    let mut buf = [0u8; 4096];
//	    let mut total = 0;
//	    loop {
//	        let n = conn.read(&mut buf).await?;   // sessionReading
//	        if n == 0 { return Ok(total); }       // EOF: sessionDone
//	        conn.write_all(&buf[..n]).await?;     // sessionWriting
//	        total += n as u64;
//	    }
//	}
//
// Each .await is a place where the function may have to stop and return
// Pending; the state records which one, and the fields hold what the
// function's local variables held (buf is the loop's shared read buffer,
// the unsent bytes live in conn.out). Before it returns Pending, the
// session tells the reactor what it waits for, so that epoll_wait can
// sleep until that happens.
type echoSession struct {
	state   sessionState
	c       *conn
	buf     []byte // where reads land; shared by all sessions of one loop
	total   int64  // bytes echoed so far
	reactor *Reactor
}

type sessionState int

const (
	sessionReading sessionState = iota // at conn.read(...).await: waiting for the client to send
	sessionWriting                     // at conn.write_all(...).await: the send buffer was full
	sessionDone                        // returned Ready: EOF with all echoed, or an error
)

func (s sessionState) String() string {
	return [...]string{"reading", "writing", "done"}[s]
}

// echoed is what a session finishes with: the bytes it echoed, and the
// error that ended it (nil for a client that said goodbye with EOF).
type echoed struct {
	bytes int64
	err   error
}

// newEchoSession starts a session on a connection that is registered with
// reactor for Readable. work is the loop's work meter, which the
// connection's reads and writes add to (nil: none).
func newEchoSession(fd int, buf []byte, reactor *Reactor, work *int64) *echoSession {
	return &echoSession{c: &conn{fd: fd, armed: Readable, work: work}, buf: buf, reactor: reactor}
}

// Poll runs the session as far as it can go without waiting. The loop
// moves between states until a system call says EAGAIN (return Pending,
// keeping the state) or the session ends (return Ready).
func (s *echoSession) Poll(*Context) Poll[echoed] {
	for {
		switch s.state {
		case sessionReading:
			n, err := s.c.fill(s.buf)
			switch {
			case err != nil:
				return s.finish(err)
			case s.c.done():
				return s.finish(nil) // EOF, and nothing is left to echo
			case n == 0:
				return s.pending() // EAGAIN: the client has not sent anything
			}
			s.state = sessionWriting
		case sessionWriting:
			n, err := s.c.flush()
			s.total += int64(n) // count what was written, as the async fn does after write_all
			if err != nil {
				return s.finish(err)
			}
			if len(s.c.out) > 0 {
				return s.pending() // EAGAIN: the send buffer is full
			}
			s.state = sessionReading
		default:
			panic("echoSession: polled after it returned Ready")
		}
	}
}

// pending makes sure the reactor watches the connection for what the
// session now waits for, and returns Pending.
func (s *echoSession) pending() Poll[echoed] {
	if want := s.c.interest(); want != s.c.armed {
		if err := s.reactor.Modify(s.c.fd, want); err != nil {
			return s.finish(err)
		}
		s.c.armed = want
	}
	return Pending[echoed]()
}

// finish ends the session: the future owns its connection, so it takes it
// out of the epoll set and closes it, and returns Ready with its result.
func (s *echoSession) finish(err error) Poll[echoed] {
	s.close()
	return Ready(echoed{bytes: s.total, err: err})
}

// Drop closes the connection of a session abandoned before it finished
// (the server is shutting down).
func (s *echoSession) Drop() {
	if s.state != sessionDone {
		s.close()
	}
}

func (s *echoSession) close() {
	s.state = sessionDone
	s.reactor.Deregister(s.c.fd)
	unix.Close(s.c.fd)
}

// acceptLoop is the server's first task: it accepts every connection that
// is waiting and spawns a session task for each, then returns Pending
// until the listener is readable again. It finishes when accept4 says
// EINVAL: the server has been shut down.
//
//	async fn accept_loop(listener) {
//	    loop {
//	        let conn = listener.accept().await;   // the only state
//	        spawn(echo(conn));
//	    }
//	}
type acceptLoop struct {
	srv *server
}

func (a *acceptLoop) Poll(*Context) Poll[struct{}] {
	s := a.srv
	for {
		fd, err := accept(s.lfd)
		switch {
		case errors.Is(err, unix.EAGAIN):
			return Pending[struct{}]() // the listener is registered for Readable for good
		case errors.Is(err, unix.EINVAL):
			s.trace.printf("accept: shut down, stopping")
			return Ready(struct{}{})
		case err != nil:
			// EMFILE, ENFILE, ENOBUFS: out of descriptors or memory
			// for now. The listener stays readable, so the loop comes
			// straight back here; chapter 06 backs off instead.
			s.trace.printf("accept: %v", err)
			s.stats.acceptErrors++
			return Pending[struct{}]()
		}
		if err := s.reactor.Register(fd, Readable); err != nil {
			s.trace.printf("accept: register fd %d: %v", fd, err)
			unix.Close(fd)
			continue
		}
		s.stats.accepted++
		s.stats.work++ // a connection accepted: work, for the meter
		s.trace.printf("accept: fd %d", fd)
		// The session's result is counted by a Map around it: the
		// combinator from chapter 03, doing real work.
		Spawn(s.ex, fmt.Sprintf("echo fd %d", fd), Map(newEchoSession(fd, s.buf, s.reactor, &s.stats.work), s.record))
	}
}

// String describes a session's result for the trace.
func (e echoed) String() string {
	if e.err != nil {
		return fmt.Sprintf("echoed %d bytes, then %v", e.bytes, e.err)
	}
	return fmt.Sprintf("echoed %d bytes, then EOF", e.bytes)
}
