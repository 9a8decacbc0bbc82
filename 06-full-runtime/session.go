//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
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
// echo finishes the echo first); then it closes gently: see startLinger.
type echoSession struct {
	state  sessionState
	c      *Conn
	read   Future[Result[Result[[]byte]]] // the Timeout(ReadLines) being awaited, in sessionReading
	linger Future[struct{}]               // the gentle close being awaited, in sessionLingering
	write  Future[Result[int]]            // the WriteAll being awaited, in the writing states
	last   bool                           // the line being written is the last: EOF came with it
	err    error                          // why the session ends, once decided
	total  int64                          // bytes echoed so far
	srv    *server
	task   *Waker // this session's task, for shutdown to wake it
}

type sessionState int

const (
	sessionReading   sessionState = iota // at read_lines().await: waiting for a whole line
	sessionWriting                       // at write_all(lines).await: the send buffer was full
	sessionRefusing                      // at write_all(error).await: the line was too long or too slow
	sessionLingering                     // shutting down: at conn.linger().await, a gentle close
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
					s.startLinger()
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
			// The grace period bounds this wait: when it ends, the
			// serve task stops waiting and the session is dropped.
			if !s.linger.Poll(cx).IsReady() {
				return Pending[echoed]()
			}
			return s.finish(nil)
		default:
			panic("echoSession: polled after it returned Ready")
		}
	}
}

// startLinger stops reading and closes gently (see Conn.Linger): the
// client reads every echo, then EOF, and gets no reset for what it may
// still be sending.
func (s *echoSession) startLinger() {
	drop(s.read)
	s.read = nil
	s.linger = s.c.Linger()
	s.state = sessionLingering
}

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
	drop(s.linger)
	s.read, s.write, s.linger = nil, nil, nil
	s.c.Close()
}

// String describes a session's result for the trace.
func (e echoed) String() string {
	if e.err != nil {
		return fmt.Sprintf("echoed %d bytes, then %v", e.bytes, e.err)
	}
	return fmt.Sprintf("echoed %d bytes, then EOF", e.bytes)
}
