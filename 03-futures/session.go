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
// the unsent bytes live in conn.out).
type echoSession struct {
	state sessionState
	c     *conn
	buf   []byte // where reads land; shared by all sessions of one loop
	total int64  // bytes echoed so far
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

// newEchoSession starts a session on a connection. work is the loop's
// work meter, which the connection's reads and writes add to (nil: none).
func newEchoSession(fd int, buf []byte, work *int64) *echoSession {
	return &echoSession{c: &conn{fd: fd, work: work}, buf: buf}
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
				return Pending[echoed]() // EAGAIN: the client has not sent anything
			}
			s.state = sessionWriting
		case sessionWriting:
			n, err := s.c.flush()
			s.total += int64(n) // count what was written, as the async fn does after write_all
			if err != nil {
				return s.finish(err)
			}
			if len(s.c.out) > 0 {
				return Pending[echoed]() // EAGAIN: the send buffer is full
			}
			s.state = sessionReading
		default:
			panic("echoSession: polled after it returned Ready")
		}
	}
}

// finish ends the session: the future owns its connection, so it closes
// it, and returns Ready with the session's result.
func (s *echoSession) finish(err error) Poll[echoed] {
	s.state = sessionDone
	unix.Close(s.c.fd)
	return Ready(echoed{bytes: s.total, err: err})
}

// Drop closes the connection of a session abandoned before it finished
// (the server is shutting down).
func (s *echoSession) Drop() {
	if s.state != sessionDone {
		s.state = sessionDone
		unix.Close(s.c.fd)
	}
}

// acceptFuture is the next connection to arrive: Pending while nobody is
// waiting to be accepted, then Ready with the new descriptor, or with the
// error accept4 gave (EINVAL once the server has been shut down).
type acceptFuture struct {
	lfd  int
	done bool
}

// accepted is what an acceptFuture finishes with.
type accepted struct {
	fd  int
	err error
}

func (a *acceptFuture) Poll(*Context) Poll[accepted] {
	if a.done {
		panic("acceptFuture: polled after it returned Ready")
	}
	fd, err := accept(a.lfd)
	if errors.Is(err, unix.EAGAIN) {
		return Pending[accepted]()
	}
	a.done = true
	return Ready(accepted{fd: fd, err: err})
}

// String describes a poll's result for the trace.
func (e echoed) String() string {
	if e.err != nil {
		return fmt.Sprintf("echoed %d bytes, then %v", e.bytes, e.err)
	}
	return fmt.Sprintf("echoed %d bytes, then EOF", e.bytes)
}
