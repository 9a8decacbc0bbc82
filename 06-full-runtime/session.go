//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/asyncio-go/tutorial/06-full-runtime/async"
)

// The echo application: what a user of the runtime writes. It knows
// nothing of epoll, wakers or timer heaps; it reads lines from an
// async.Conn and writes them back, with the package's Poll methods and a
// Deadline for its idle limit.

// maxLine is the longest line the echo server accepts, newline included.
// A longer one gets an error message and the connection is closed: the
// server never holds more than this (plus one read) for a client.
const maxLine = 64 << 10

// echoSession serves one client, written as the state machine a compiler
// would make of this async fn:
//
//	async fn echo(conn: Conn) -> io::Result<u64> {
//	    let mut idle = sleep(IDLE);                      // one deadline for the whole session
//	    let mut total = 0;
//	    loop {
//	        let lines = select! {                        // sessionReading
//	            lines = conn.read_lines(MAX_LINE) => lines,
//	            _ = &mut idle => return refuse(conn, TimedOut).await,
//	        };
//	        match lines {
//	            Ok(lines) => {                           // every whole line that came
//	                idle.reset(IDLE);
//	                select! {                            // sessionWriting
//	                    n = conn.write_all(&lines) => total += n?,  // each write that moves resets idle
//	                    _ = &mut idle => return Err(NotReading),
//	                }
//	            }
//	            Err(TooLong) => return refuse(conn, TooLong).await, // sessionRefusing, sessionLingering
//	            Err(Eof) => return Ok(total),
//	        }
//	    }
//	}
//
// (A last line without a newline is echoed too, before the end.) Go has
// no async fn, so the fields below are its local variables, kept between
// polls, and state says which .await it is at. The futures it waits on
// are not allocated per line: it calls the connection's PollReadLines and
// PollWrite directly, and keeps one Deadline for its whole life, moved
// forward by every line and every write, instead of a Timeout (a Sleep, a
// Select, a Map and a timer in the heap) per line.
//
// The deadline closes a client that is silent, or that sends a line so
// slowly (a byte now and then, to hold the connection open) that it does
// not arrive whole within the idle limit; and a client that sends but
// never reads its echoes, once they have not moved for the idle limit.
// Such a client holds at most one batch of echoes, since the session
// reads nothing more until its echo is written.
//
// When the server shuts down, a session stops reading (a partial line, or
// lines not read yet, are dropped: nothing was promised for them); one in
// the middle of writing an echo finishes it first. Then it closes gently:
// see startLinger.
type echoSession struct {
	state   sessionState
	last    bool        // out is the last line: EOF came with it
	refused lineRefusal // why the session refused its client, if it did
	liveEntry
	c      *async.Conn
	srv    *server
	idle   async.Deadline         // when the client has been idle too long: moved by every line and every write
	out    []byte                 // what is left to write: lines (in c's buffer, until the next read) or a refusal
	linger async.Future[struct{}] // the gentle close being awaited, in sessionLingering
	total  int64                  // bytes echoed so far
	task   *async.Waker           // this session's task, for shutdown to wake it
}

type sessionState uint8 // a byte: it sits beside last, and the session fits a smaller size class

const (
	sessionReading   sessionState = iota // at read_lines().await: waiting for a whole line
	sessionWriting                       // at write_all(lines).await: the send buffer was full
	sessionRefusing                      // at write_all(error).await: the line was too long or too slow
	sessionLingering                     // at conn.linger().await: a gentle close, after a refusal or at shutdown
	sessionDone                          // returned Ready: EOF, an error, or shutdown
)

func (state sessionState) String() string {
	return [...]string{"reading", "writing", "refusing", "lingering", "done"}[state]
}

func newEchoSession(c *async.Conn, srv *server) session {
	es := &echoSession{c: c, srv: srv}
	es.idle.Reset(time.Now().Add(srv.idle))
	return es
}

func (es *echoSession) kind() string        { return "echo" }
func (es *echoSession) waker() *async.Waker { return es.task }

func (es *echoSession) Poll(cx *async.Context) async.Poll[struct{}] {
	es.task = cx.Waker
	for {
		switch es.state {
		case sessionReading:
			if es.srv.draining {
				// Shutting down: the echo in flight, if there was one,
				// is written; read no more. (Waiting for a moment with
				// nothing to read instead would let a client that never
				// stops sending keep its session until the grace period
				// ran out, and then draw a reset.)
				es.startLinger()
				continue
			}
			lines, ok, err := es.c.PollReadLines(cx, maxLine)
			switch {
			case !ok && es.idle.Poll(cx).IsReady():
				es.srv.stats.timedOut++
				es.refuse(refusedIdle, refusedIdle.err(es.srv.idle))
			case !ok:
				return async.Pending[struct{}]() // the read and the deadline both hold our waker
			case errors.Is(err, async.ErrLineTooLong):
				es.srv.stats.tooLong++
				es.refuse(refusedTooLong, err)
			case err == io.EOF && len(lines) == 0:
				return es.finish(nil)
			case err != nil && err != io.EOF:
				return es.finish(err)
			default:
				es.idle.ResetAfter(es.srv.rt, es.srv.idle)
				es.out, es.last = lines, err == io.EOF
				es.state = sessionWriting
			}
		case sessionWriting, sessionRefusing:
			err, ok := es.write(cx).Value()
			switch {
			case !ok:
				return async.Pending[struct{}]()
			case err != nil:
				return es.finish(err)
			case es.state == sessionRefusing:
				es.startLinger()
			case es.last:
				return es.finish(nil)
			default:
				es.out, es.state = nil, sessionReading
			}
		case sessionLingering:
			// The idle limit bounds this wait (and at shutdown, the
			// grace period: the serve task drops what is left).
			if es.linger != nil && !es.linger.Poll(cx).IsReady() && !es.idle.Poll(cx).IsReady() { // nil: -linger=false
				return async.Pending[struct{}]()
			}
			return es.finish(es.refused.err(es.srv.idle))
		default:
			panic("echoSession: polled after it returned Ready")
		}
	}
}

// write writes what is left of es.out, taking what the kernel took off
// its front. It is Ready with nil once all is
// written, or with why the session must end: the write failed, or the
// client has not read for the idle limit.
func (es *echoSession) write(cx *async.Context) async.Poll[error] {
	for len(es.out) > 0 {
		w, ok := es.c.PollWrite(cx, es.out).Value()
		if !ok {
			if es.idle.Poll(cx).IsReady() {
				es.srv.stats.stalled++
				return async.Ready(fmt.Errorf("client not reading: nothing written for %v: %w", es.srv.idle, async.ErrTimeout))
			}
			return async.Pending[error]()
		}
		es.out = es.out[w.Value:] // what is left to write
		if es.state == sessionWriting {
			es.total += int64(w.Value) // count what was written, as the async fn does
		}
		if w.Err != nil {
			return async.Ready(w.Err)
		}
		es.idle.ResetAfter(es.srv.rt, es.srv.idle) // the client is reading: it is not idle
	}
	return async.Ready[error](nil)
}

// refuse answers a line that is too long, or too slow, with an error
// message; after it the session closes.
func (es *echoSession) refuse(why lineRefusal, err error) {
	es.refused = why
	es.out = fmt.Appendf(nil, "error: %v; closing\n", err)
	es.state = sessionRefusing
}

// lineRefusal is why an echo session refused its client. It is kept as a byte,
// not as the error itself: every session carries the field, and an error
// (16 bytes) would push the session into a larger size class.
type lineRefusal uint8

const (
	notRefused     lineRefusal = iota // the client was never refused
	refusedIdle                       // no whole line within the idle limit
	refusedTooLong                    // a line longer than maxLine
)

// err is the error a refusal ends the session with (nil if none).
func (why lineRefusal) err(idle time.Duration) error {
	switch why {
	case refusedIdle:
		return fmt.Errorf("no whole line within %v: %w", idle, async.ErrTimeout)
	case refusedTooLong:
		return fmt.Errorf("%w: more than %d bytes", async.ErrLineTooLong, maxLine)
	}
	return nil
}

// startLinger stops reading and closes gently (see Conn.Linger): the
// client reads every echo, and the refusal if there was one, then EOF,
// and gets no reset for what it may still be sending.
func (es *echoSession) startLinger() {
	es.idle.ResetAfter(es.srv.rt, es.srv.idle)
	if !es.srv.abrupt {
		es.linger = es.c.Linger()
	}
	es.state = sessionLingering
}

// finish ends the session: it closes its connection and returns Ready
// with its result.
func (es *echoSession) finish(err error) async.Poll[struct{}] {
	es.close()
	es.srv.record(es, sessionResult{written: es.total, err: err})
	return async.Ready(struct{}{})
}

// Drop closes the connection of a session abandoned before it finished:
// the shutdown's grace period ran out.
func (es *echoSession) Drop() {
	if es.state != sessionDone {
		es.srv.stats.dropped++
		es.close()
	}
}

// close disarms the deadline, drops the lingering close if one is under
// way, and closes the connection, which withdraws any waker a pending
// read or write left with the reactor.
func (es *echoSession) close() {
	es.state = sessionDone
	es.idle.Drop()
	async.Drop(es.linger)
	es.linger = nil
	es.c.Close()
}
