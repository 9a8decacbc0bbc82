//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// The echo application: what a user of the runtime writes. It knows
// nothing of epoll, wakers or timers; it reads lines from a Conn and
// writes them back, through the futures in net.go.

// maxLine is the longest line the echo server accepts, newline included.
// A longer one gets an error message and the connection is closed: the
// server never holds more than this (plus one read) for a client.
const maxLine = 64 << 10

// echoSession serves one client, written as the state machine a compiler
// would make of this async fn:
//
//	async fn echo(conn: Conn) -> io::Result<u64> {
//	    let mut total = 0;
//	    loop {
//	        match timeout(IDLE, conn.read_lines(MAX_LINE)).await { // sessionReading
//	            Ok(lines) => {                                   // every whole line that came
//	                conn.write_all(&lines).await?;      // sessionWriting
//	                total += lines.len();
//	            }
//	            Err(TooLong | TimedOut) => {
//	                conn.write_all(b"error: ...").await; // sessionRefusing
//	                return Err(..);
//	            }
//	            Err(Eof) => return Ok(total),            // sessionDone
//	        }
//	    }
//	}
//
// (A last line without a newline is echoed too, before the end.) Each
// .await keeps the future it waits on in a field, read or write, until it
// is Ready. The timeout closes a client that is silent, or that sends a
// line so slowly (a byte now and then, to hold the connection open) that
// it does not arrive whole within the server's idle limit. When the
// server shuts down, a session that is waiting for a line stops reading
// as soon as it has echoed every whole line it has read and its socket has
// nothing more (a partial line is dropped; one in the middle of writing an
// echo finishes the echo first); then it closes gently: see linger.
type echoSession struct {
	state   sessionState
	c       *Conn
	read    Future[Result[Result[[]byte]]] // the Timeout(ReadLines) being awaited, in sessionReading
	discard Future[Result[int]]            // the Read being awaited, in sessionLingering
	check   Future[struct{}]               // the next look at what is unacknowledged, in sessionLingering
	write   Future[Result[int]]            // the WriteAll being awaited, in the writing states
	last    bool                           // the line being written is the last: EOF came with it
	err     error                          // why the session ends, once decided
	total   int64                          // bytes echoed so far
	srv     *server
	task    *Waker // this session's task, for shutdown to wake it
}

type sessionState int

const (
	sessionReading   sessionState = iota // at read_lines().await: waiting for a whole line
	sessionWriting                       // at write_all(lines).await: the send buffer was full
	sessionRefusing                      // at write_all(error).await: the line was too long or too slow
	sessionLingering                     // shutting down: our side is shut, reading to the client's EOF
	sessionDone                          // returned Ready: EOF, an error, or shutdown
)

func (s sessionState) String() string {
	return [...]string{"reading", "writing", "refusing", "lingering", "done"}[s]
}

// echoed is what a session finishes with: the bytes it echoed, and the
// error that ended it (nil for a client that said goodbye with EOF, or
// for a session closed by shutdown).
type echoed struct {
	bytes int64
	err   error
}

func newEchoSession(c *Conn, srv *server) session {
	return &echoSession{c: c, srv: srv}
}

func (s *echoSession) kind() string  { return "echo" }
func (s *echoSession) waker() *Waker { return s.task }

func (s *echoSession) Poll(cx *Context) Poll[echoed] {
	s.task = cx.Waker
	for {
		switch s.state {
		case sessionReading:
			if s.read == nil {
				s.read = Timeout(s.srv.rt, s.srv.idle, s.c.ReadLines(maxLine))
			}
			r, ok := s.read.Poll(cx).Value()
			if !ok {
				if s.srv.draining && !s.c.Yielding() {
					// Shutting down, and nothing to echo: no whole line
					// has come (a partial one is dropped; nothing was
					// promised for it), and the socket had no more.
					s.linger()
					continue
				}
				return Pending[echoed]()
			}
			s.read = nil
			line, err := r.Value.Value, r.Value.Err
			if r.Err != nil {
				err = r.Err // the Timeout's own: no whole line in time
			}
			switch {
			case errors.Is(err, ErrLineTooLong), errors.Is(err, ErrTimeout):
				if errors.Is(err, ErrTimeout) {
					s.srv.stats.timedOut++
					err = fmt.Errorf("no whole line within %v: %w", s.srv.idle, err)
				} else {
					s.srv.stats.tooLong++
				}
				s.err = err
				msg := fmt.Appendf(nil, "error: %v; closing\n", err)
				s.write, s.state = s.c.WriteAll(msg), sessionRefusing
			case err == io.EOF && len(line) == 0:
				return s.finish(nil)
			case err != nil && err != io.EOF:
				return s.finish(err)
			default:
				s.last = err == io.EOF
				s.write, s.state = s.c.WriteAll(line), sessionWriting
			}
		case sessionWriting, sessionRefusing:
			w, ok := s.write.Poll(cx).Value()
			if !ok {
				return Pending[echoed]()
			}
			s.write = nil
			if s.state == sessionRefusing {
				return s.finish(s.err)
			}
			s.total += int64(w.Value) // count what was written, as the async fn does after write_all
			if w.Err != nil {
				return s.finish(w.Err)
			}
			if s.last {
				return s.finish(nil)
			}
			s.state = sessionReading
		case sessionLingering:
			// Read and drop whatever the client still sends, until it
			// has acknowledged every byte we sent, or closed its side
			// (or the grace period ends and we are dropped).
			if n, err := s.c.Unacked(); err != nil || n == 0 {
				return s.finish(nil)
			}
			r, ok := s.discard.Poll(cx).Value()
			if !ok {
				if !s.check.Poll(cx).IsReady() {
					s.c.rt.reactor.WakeOn(s.c.fd, Writable, cx.Waker) // an ACK may raise an edge
					return Pending[echoed]()
				}
				s.check = s.srv.rt.Sleep(lingerCheck) // acks wake nobody: look again soon
				continue
			}
			if r.Err != nil {
				return s.finish(nil) // EOF, or the client reset: either way it has all we sent
			}
			s.discard = s.c.Read(s.srv.discard)
		default:
			panic("echoSession: polled after it returned Ready")
		}
	}
}

// linger starts a lingering close. Closing a socket that the client is
// still writing to would be abrupt: data that arrives after close makes
// the kernel answer with a reset and throw away what it had not yet
// delivered of our echoes. So shut our side first (the client reads every
// echo, then EOF), and read and drop what the client sends, until every
// byte we sent, the FIN included, is acknowledged, or the client closes.
// For an idle client that is one round trip.
func (s *echoSession) linger() {
	drop(s.read)
	s.read = nil
	s.c.CloseWrite() // if it fails, the connection is broken: the next step says so
	s.discard = s.c.Read(s.srv.discard)
	s.check = s.srv.rt.Sleep(lingerCheck)
	s.state = sessionLingering
}

// lingerCheck is how often a lingering session looks whether the client
// has acknowledged everything. An acknowledgement often raises an
// EPOLLOUT edge, which wakes the session sooner, but not always (only
// when a writer had found the send buffer full), so we also look.
const lingerCheck = 10 * time.Millisecond

// finish ends the session: it closes its connection and returns Ready
// with its result.
func (s *echoSession) finish(err error) Poll[echoed] {
	s.close()
	return Ready(echoed{bytes: s.total, err: err})
}

// Drop closes the connection of a session abandoned before it finished:
// the shutdown's grace period ran out.
func (s *echoSession) Drop() {
	if s.state != sessionDone {
		s.srv.stats.dropped++
		s.close()
	}
}

func (s *echoSession) close() {
	s.state = sessionDone
	drop(s.read)
	drop(s.write)
	drop(s.discard)
	drop(s.check)
	s.read, s.write, s.discard, s.check = nil, nil, nil, nil
	s.c.Close()
}

// String describes a session's result for the trace.
func (e echoed) String() string {
	if e.err != nil {
		return fmt.Sprintf("echoed %d bytes, then %v", e.bytes, e.err)
	}
	return fmt.Sprintf("echoed %d bytes, then EOF", e.bytes)
}
