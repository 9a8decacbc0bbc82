//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/asyncio-go/tutorial/06-full-runtime/async"
)

// The echo application: what a user of the runtime writes. It knows
// nothing of epoll or timers; it reads lines from an async.Conn and writes
// them back, through the package's futures.

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
	c      *async.Conn
	read   async.Future[async.Result[async.Result[[]byte]]] // the Timeout(ReadLines) being awaited, in sessionReading
	linger async.Future[struct{}]                           // the gentle close being awaited, in sessionLingering
	write  async.Future[async.Result[int]]                  // the WriteAll being awaited, in the writing states
	last   bool                                             // the line being written is the last: EOF came with it
	err    error                                            // why the session ends, once decided
	total  int64                                            // bytes echoed so far
	srv    *server
	task   *async.Waker // this session's task, for shutdown to wake it
}

type sessionState int

const (
	sessionReading   sessionState = iota // at read_lines().await: waiting for a whole line
	sessionWriting                       // at write_all(lines).await: the send buffer was full
	sessionRefusing                      // at write_all(error).await: the line was too long or too slow
	sessionLingering                     // shutting down: at conn.linger().await, a gentle close
	sessionDone                          // returned Ready: EOF, an error, or shutdown
)

func (state sessionState) String() string {
	return [...]string{"reading", "writing", "refusing", "lingering", "done"}[state]
}

func newEchoSession(c *async.Conn, srv *server) session {
	return &echoSession{c: c, srv: srv}
}

func (es *echoSession) kind() string        { return "echo" }
func (es *echoSession) waker() *async.Waker { return es.task }

func (es *echoSession) Poll(cx *async.Context) async.Poll[sessionResult] {
	es.task = cx.Waker
	for {
		switch es.state {
		case sessionReading:
			if es.read == nil {
				es.read = async.Timeout(es.srv.rt, es.srv.idle, es.c.ReadLines(maxLine))
			}
			r, ok := es.read.Poll(cx).Value()
			if !ok {
				if es.srv.draining {
					// Shutting down, and nothing to echo: no whole line
					// has come (a partial one is dropped; nothing was
					// promised for it), and the socket had no more (or
					// the task is yielding: lines not read yet are
					// dropped, as those still on their way are).
					es.startLinger()
					continue
				}
				return async.Pending[sessionResult]()
			}
			es.read = nil
			line, err := r.Value.Value, r.Value.Err
			if r.Err != nil {
				err = r.Err // the Timeout's own: no whole line in time
			}
			switch {
			case errors.Is(err, async.ErrLineTooLong), errors.Is(err, async.ErrTimeout):
				if errors.Is(err, async.ErrTimeout) {
					es.srv.stats.timedOut++
					err = fmt.Errorf("no whole line within %v: %w", es.srv.idle, err)
				} else {
					es.srv.stats.tooLong++
				}
				es.err = err
				msg := fmt.Appendf(nil, "error: %v; closing\n", err)
				es.write, es.state = es.c.WriteAll(msg), sessionRefusing
			case err == io.EOF && len(line) == 0:
				return es.finish(nil)
			case err != nil && err != io.EOF:
				return es.finish(err)
			default:
				es.last = err == io.EOF
				es.write, es.state = es.c.WriteAll(line), sessionWriting
			}
		case sessionWriting, sessionRefusing:
			w, ok := es.write.Poll(cx).Value()
			if !ok {
				return async.Pending[sessionResult]()
			}
			es.write = nil
			if es.state == sessionRefusing {
				return es.finish(es.err)
			}
			es.total += int64(w.Value) // count what was written, as the async fn does after write_all
			if w.Err != nil {
				return es.finish(w.Err)
			}
			if es.last {
				return es.finish(nil)
			}
			es.state = sessionReading
		case sessionLingering:
			// The grace period bounds this wait: when it ends, the
			// serve task stops waiting and the session is dropped.
			if !es.linger.Poll(cx).IsReady() {
				return async.Pending[sessionResult]()
			}
			return es.finish(nil)
		default:
			panic("echoSession: polled after it returned Ready")
		}
	}
}

// startLinger stops reading and closes gently (see Conn.Linger): the
// client reads every echo, then EOF, and gets no reset for what it may
// still be sending.
func (es *echoSession) startLinger() {
	async.Drop(es.read)
	es.read = nil
	es.linger = es.c.Linger()
	es.state = sessionLingering
}

// finish ends the session: it closes its connection and returns Ready
// with its result.
func (es *echoSession) finish(err error) async.Poll[sessionResult] {
	es.close()
	return async.Ready(sessionResult{written: es.total, err: err})
}

// Drop closes the connection of a session abandoned before it finished:
// the shutdown's grace period ran out.
func (es *echoSession) Drop() {
	if es.state != sessionDone {
		es.srv.stats.dropped++
		es.close()
	}
}

func (es *echoSession) close() {
	es.state = sessionDone
	async.Drop(es.read)
	async.Drop(es.write)
	async.Drop(es.linger)
	es.read, es.write, es.linger = nil, nil, nil
	es.c.Close()
}
