//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/asyncio-go/tutorial/06-full-runtime/async"
)

// A second application on the same runtime: just enough HTTP/1.1 for
// curl, a browser, wrk and h2load. It answers GET (and HEAD) on
// /plaintext and / with "Hello, World!", keeps connections alive, and
// answers pipelined requests in order, batched into one write. Anything
// else gets a short answer: 404 for another path, 405 for another method,
// and for a request it will not serve, a refusal that names the rule it
// broke (httpparse.go) and closes the connection, since the rest of the
// stream cannot be trusted.
//
// The session is a hand-written state machine over the connection's raw
// read and write, with its futures kept inline as fields: nothing is
// allocated per request, except where what a read leaves is more than a
// pool buffer holds (a long head that the read cut, or the requests behind
// maxOut of answers), and for answers that outgrow one (once: that buffer
// stays with the session).

// maxHead is the longest request head (request line and headers) we read.
const maxHead = 8 << 10

// maxOut bounds the answers a session holds: once they reach it, the
// session stops answering and writes them first; the requests left are
// answered after. So a client that sends small requests and never reads
// the answers makes the session hold at most this much (and the requests
// left of one read, at most httpReadSize), however many requests it sends.
const maxOut = 64 << 10

// httpTimeFormat is HTTP's date format (RFC 9110, IMF-fixdate).
const httpTimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// httpDate is the Date header's value, formatted at most once a second
// and shared by every response in that second; and with it the whole of
// the commonest answer (200 to a kept-alive GET of / or /plaintext, which
// every request of the HTTP benchmarks gets), built anew when the second
// changes (see answer).
type httpDate struct {
	sec      int64
	buf      []byte
	helloBuf []byte // helloAnswer with this Date, headers and body
}

// helloAnswer is the answer to a GET of / or /plaintext in HTTP/1.1, kept
// alive.
var helloAnswer = response{code: 200, body: helloBody, keepAlive: true}

func (d *httpDate) get(now time.Time) []byte {
	if s := now.Unix(); s != d.sec || d.buf == nil {
		d.sec = s
		d.buf = now.UTC().AppendFormat(d.buf[:0], httpTimeFormat)
		d.helloBuf = buildResponse(d.helloBuf[:0], helloAnswer, d.buf)
	}
	return d.buf
}

// hello is helloAnswer, whole, as of now.
func (d *httpDate) hello(now time.Time) []byte {
	d.get(now)
	return d.helloBuf
}

const helloBody = "Hello, World!"

type httpState int

const (
	httpReading   httpState = iota // waiting for the rest of a request
	httpWriting                    // writing the answers to the requests that came whole
	httpLingering                  // the last answer is written and our side shut: reading to the client's EOF
	httpDone                       // returned Ready
)

// httpSession serves one HTTP connection:
//
//	async fn http(conn: Conn) -> io::Result<u64> {
//	    let mut idle = sleep(IDLE);
//	    loop {
//	        select! {                                              // httpReading
//	            n = conn.read(&mut buf) => n?,                     // EOF in a head: refuse it, then close
//	            _ = &mut idle => return Ok(total),                 // silent too long
//	            _ = shutdown, if no request begun => return linger(conn).await,
//	        };
//	        while let Some(req) = parse(&mut buf) {                // each request that came whole
//	            respond(req, &mut out);                            // or a refusal, which ends the loop and closes
//	            idle.reset(IDLE);
//	            if out.len() >= MAX_OUT { write(&mut out).await? } // httpWriting
//	        }
//	        write(&mut out).await?;                                // httpWriting: a write that moves resets idle;
//	                                                               // none for IDLE: the client does not read
//	        if closing { return linger(conn).await }               // httpLingering
//	    }
//	}
//
// It is written on the connection's PollRead and PollWrite, with its
// state in its own fields, so that nothing is allocated per request: a
// read lands in the server's scratch buffer and is answered from there,
// the output buffer is written from directly, and the idle limit is one
// Deadline, moved by every whole request and every write that moves. What
// a read leaves unanswered moves to a buffer the session borrows from the
// runtime's pool (Runtime.Buffers); its answers go into another; each goes
// back as soon as it is empty. So a session holds a buffer only while it
// is in the middle of something, and a session waiting for its next
// request, under load or idle, holds none, unless a deep batch's answers
// made its output buffer outgrow the pool's size (see releaseOut). It
// reads nothing while it has answers to write, so a client that does not
// read its answers is held back, with at most maxOut of answers waiting,
// and closed once they have not moved for the idle limit.
type httpSession struct {
	state httpState
	liveEntry
	c         *async.Conn
	srv       *server
	in        []byte // bytes read; those from off on are not answered yet; nil when empty (see fill and releaseIn)
	off       int    // bytes at the front of in answered or skipped
	out       []byte // answers not written yet; nil when empty (lent by the pool)
	sent      int    // bytes at the front of out already written
	closing   bool   // the last answer in out ends the connection
	inScratch bool   // in is the server's scratch buffer: only between a read and the answering of what it brought (beside closing: two bools share a word)
	skip      int    // bytes of an answered request's body still to come, to be dropped
	looked    int    // bytes of an unfinished head, from off on, already parsed: it is parsed again once an LF comes after them
	total     int64  // bytes written
	task      *async.Waker
	idle      async.Deadline         // moved by every whole request and every write that moves
	linger    async.Future[struct{}] // the gentle close after the last answer, bounded by idle
}

func newHTTPSession(c *async.Conn, srv *server) session {
	h := &httpSession{c: c, srv: srv}
	h.idle.Reset(time.Now().Add(srv.idle))
	return h
}

func (h *httpSession) kind() string        { return "http" }
func (h *httpSession) waker() *async.Waker { return h.task }

func (h *httpSession) Poll(cx *async.Context) async.Poll[struct{}] {
	h.task = cx.Waker
	for {
		switch h.state {
		case httpReading:
			if h.srv.draining && h.betweenRequests() {
				// Shutting down, and no request has begun: answer
				// nothing new (however much a client keeps sending),
				// and close gently, so that a request already on its
				// way draws a FIN, not a reset.
				h.startLinger()
				continue
			}
			r, ok := h.fill(cx).Value()
			switch {
			case !ok && h.idle.Poll(cx).IsReady():
				h.srv.stats.timedOut++
				return h.finish(nil) // idle too long: close without a word, as HTTP servers do
			case !ok:
				return async.Pending[struct{}]() // the read and the deadline both hold our waker
			case r.Err == io.EOF && h.betweenRequests():
				return h.finish(nil) // the client closed between requests
			case r.Err == io.EOF && h.skip > 0:
				return h.finish(errors.New("connection closed in the middle of a request body"))
			case r.Err == io.EOF:
				// In the middle of a head: say so (RFC 9112 §8 allows
				// it, net/http does it), then close.
				h.refuse(errIncompleteEOF, time.Now())
				h.state = httpWriting
			case r.Err != nil:
				return h.finish(r.Err)
			default:
				h.answerAll(time.Now())
			}
		case httpWriting:
			err, ok := h.write(cx).Value()
			switch {
			case !ok:
				return async.Pending[struct{}]()
			case err != nil:
				return h.finish(err)
			case h.closing:
				// The answer that ends the connection is written. Close
				// gently, as the echo session does at shutdown: a client
				// still sending (a body, more pipelined requests) would
				// otherwise draw a reset that can destroy that answer.
				h.startLinger()
			default:
				h.answerAll(time.Now()) // the requests left, if out was full; else back to reading
			}
		case httpLingering:
			if h.linger != nil && !h.linger.Poll(cx).IsReady() && !h.idle.Poll(cx).IsReady() { // nil: -linger=false
				return async.Pending[struct{}]()
			}
			return h.finish(nil)
		default:
			panic("httpSession: polled after it returned Ready")
		}
	}
}

// fill reads what the socket has into the server's scratch buffer, up to
// 64 KiB, a pipelining client's whole batch, and takes what came (see
// take): Ready with the count (or io.EOF, or an error), or Pending with
// the task's waker left with the reactor.
func (h *httpSession) fill(cx *async.Context) async.Poll[async.Result[int]] {
	if h.srv.scratch == nil {
		h.srv.scratch = make([]byte, httpReadSize) // an echo server never needs one
	}
	p := h.c.PollRead(cx, h.srv.scratch)
	if r, ok := p.Value(); ok && r.Value > 0 {
		h.take(h.srv.scratch[:r.Value])
	}
	return p
}

// take makes got, the bytes a read brought into the scratch, the
// session's input. If the session kept nothing, h.in is then the scratch
// itself, until releaseIn moves what is left of it out. If it kept the
// start of a head, the new bytes join it in the session's own buffer:
// what was answered before it is dropped once per read, and the kept
// bytes are not copied out and back, so a head trickled a byte at a time
// costs time linear in its length.
func (h *httpSession) take(got []byte) {
	if h.off == len(h.in) { // nothing kept: answer from the scratch
		h.in, h.off, h.inScratch = got, 0, true
		return
	}
	if h.off > 0 {
		h.in = h.in[:copy(h.in, h.in[h.off:])]
		h.off = 0
	}
	if need := len(h.in) + len(got); need > cap(h.in) {
		old := h.in
		h.in = append(make([]byte, 0, max(need, 2*cap(old))), old...)
		h.srv.buffers.Put(old) // copied: the pool may lend it again
	}
	h.in = append(h.in, got...)
}

// releaseIn runs once the requests in h.in are answered, as far as they
// can be. With nothing left to answer (or nothing that will be: the last
// answer closes the connection), the session gives its input buffer back
// and holds none. Otherwise, if h.in is still the server's scratch, what
// is left (the start of a head that the read cut, or the requests left
// once maxOut of answers waits) moves to a buffer of the session's own,
// borrowed from the pool (or, for more than a pool buffer holds,
// allocated): the scratch is every session's, and the next read, this
// session's or another's, overwrites it. So no session holds the scratch
// across a Poll.
func (h *httpSession) releaseIn() {
	if h.closing {
		h.off = len(h.in) // nothing after the last answer is read
	}
	rest := h.in[h.off:]
	switch {
	case len(rest) == 0:
		if !h.inScratch {
			h.srv.buffers.Put(h.in)
		}
		h.in, h.off, h.looked, h.inScratch = nil, 0, 0, false
	case h.inScratch:
		own := h.srv.buffers.Get()
		if len(rest) > cap(own) {
			h.srv.buffers.Put(own)
			own = make([]byte, 0, len(rest))
		}
		h.in, h.off, h.inScratch = append(own, rest...), 0, false
	}
}

// takeOut borrows an output buffer, if the session has none, before an
// answer is appended; releaseOut gives it back once nothing in it is left
// to write.
func (h *httpSession) takeOut() {
	if h.out == nil {
		h.out = h.srv.buffers.Get()
	}
}

func (h *httpSession) releaseOut() {
	if h.sent == len(h.out) && h.out != nil {
		h.out, h.sent = h.out[:0], 0
		// One that a deep batch's answers made outgrow the pool's size
		// stays with the session: the pool would not take it back, and a
		// client that pipelined deeply once may well again (dropping it
		// would cost an allocation each time).
		if cap(h.out) == async.BufferSize {
			h.srv.buffers.Put(h.out)
			h.out = nil
		}
	}
}

// httpReadSize is the size of the server's scratch buffer, the most one
// read by an HTTP session takes: 64 KiB, as the echo's ReadLines, so that
// a client with many requests in flight has them all read at once.
const httpReadSize = 64 << 10

// betweenRequests reports whether no request has begun: every byte read
// is answered, and no body is still to come.
func (h *httpSession) betweenRequests() bool {
	return h.off == len(h.in) && h.skip == 0
}

// answerAll answers what has come whole (see respond) and moves to
// writing the answers, or to reading if there are none.
func (h *httpSession) answerAll(now time.Time) {
	if h.respond(now) > 0 {
		h.idle.ResetAfter(h.srv.rt, h.srv.idle) // a whole request came: the idle limit starts again
	}
	h.releaseIn()
	h.releaseOut()
	h.state = httpReading
	if len(h.out) > 0 {
		h.srv.stats.batches++
		h.state = httpWriting
	}
}

// respond answers the requests in h.in from h.off on that have come
// whole, appending the answers to h.out in order, until h.out holds
// maxOut; it leaves the rest where it is. A request it will not serve is
// refused (see refuse), and nothing after it is read. A request's body is
// not needed for any answer we give, so it is skipped as it arrives,
// never held: memory stays bounded by maxHead and one read, whatever
// Content-Length announces. It returns how many requests it answered.
func (h *httpSession) respond(now time.Time) (requests int) {
	for !h.closing && len(h.out) < maxOut {
		if h.skip > 0 { // the body of a request already answered
			n := min(h.skip, len(h.in)-h.off)
			h.off += n
			h.skip -= n
			if h.skip > 0 {
				return requests
			}
		}
		rest := h.in[h.off:]
		if len(rest) == 0 {
			return requests // all answered
		}
		if h.looked > 0 && bytes.IndexByte(rest[h.looked:], '\n') < 0 {
			// The head that was not whole is still not whole: it cannot
			// end without an LF, and none has come since. Parsing it again
			// on every read would make a head sent a byte at a time cost
			// time quadratic in its length.
			if len(rest) > maxHead {
				h.refuse(errHeadTooLarge, now)
			}
			return requests
		}
		h.looked = 0
		h.srv.stats.headParses++
		var req httpRequest
		n, ok := req.fastHead(rest) // the plain head, in one pass
		if !ok {                    // anything else: the careful parser
			var bad *refusal
			req, n, bad = parseHead(rest)
			if n == 0 && len(rest) > maxHead || n > maxHead {
				h.refuse(errHeadTooLarge, now)
				return requests
			}
			if n == 0 {
				h.looked = len(rest)
				return requests // the head has not all come yet
			}
			if bad != nil {
				h.refuse(*bad, now)
				return requests
			}
		}
		h.answer(&req, now)
		requests++
		h.off += n
		h.skip = req.bodyLen
	}
	return requests
}

// write writes what is left of h.out. It is Ready with nil once all is
// written, or with why the session must end: the write failed, or the
// client has not read for the idle limit.
func (h *httpSession) write(cx *async.Context) async.Poll[error] {
	for h.sent < len(h.out) {
		r, ok := h.c.PollWrite(cx, h.out[h.sent:]).Value()
		if !ok {
			if h.idle.Poll(cx).IsReady() {
				h.srv.stats.stalled++
				return async.Ready(errNotReading)
			}
			return async.Pending[error]()
		}
		h.sent += r.Value
		h.total += int64(r.Value)
		if r.Err != nil {
			return async.Ready(r.Err)
		}
		h.idle.ResetAfter(h.srv.rt, h.srv.idle) // the client is reading: it is not idle
	}
	h.releaseOut()
	return async.Ready[error](nil)
}

var errNotReading = fmt.Errorf("client not reading its answers: nothing written for the idle limit: %w", async.ErrTimeout)

// startLinger stops reading and closes gently (see Conn.Linger), within
// the idle limit.
func (h *httpSession) startLinger() {
	h.idle.ResetAfter(h.srv.rt, h.srv.idle)
	if !h.srv.abrupt {
		h.linger = h.c.Linger()
	}
	h.state = httpLingering
}

// response is one answer, before it is written out.
type response struct {
	code      int
	extra     string // more header lines, each ending in CRLF
	body      string
	keepAlive bool // false: the connection closes after this answer
	http10    bool // the request was HTTP/1.0: keeping alive must be said
	headOnly  bool // an answer to HEAD: the headers say how long the body is, and it is left out
}

// answer appends the response to one request to h.out.
func (h *httpSession) answer(req *httpRequest, now time.Time) {
	h.srv.stats.requests++
	h.takeOut()
	get := string(req.method) == "GET" // a conversion in a comparison does not allocate
	head := !get && string(req.method) == "HEAD"
	r := response{keepAlive: req.keepAlive, http10: req.http10, headOnly: head}
	switch {
	case !get && !head:
		r.code, r.extra, r.body, r.headOnly = 405, "Allow: GET, HEAD\r\n", "Method Not Allowed\n", false
	case string(req.path) == "/plaintext" || string(req.path) == "/":
		if get && req.keepAlive && !req.http10 {
			// The commonest answer, prebuilt: the same
			// bytes as building it, without a dozen appends and two
			// number conversions per request (the optimisation "the
			// common answer prebuilt" on the benchmarks page;
			// TestPrebuiltAnswer checks the bytes).
			h.out = append(h.out, h.srv.date.hello(now)...)
			return
		}
		r.code, r.body = 200, helloBody
	default:
		r.code, r.body = 404, "Not Found\n"
	}
	h.appendResponse(r, now)
}

// refuse answers a request we will not serve with the refusal's status
// and text, and closes the connection after it: where the next request
// would start is unknown. Nothing more of the input is read.
func (h *httpSession) refuse(r refusal, now time.Time) {
	h.srv.stats.badRequests++
	h.takeOut()
	h.appendResponse(response{code: r.code, body: r.why}, now)
	h.off, h.skip, h.looked = len(h.in), 0, 0
}

// appendResponse appends r to h.out, headers and body.
func (h *httpSession) appendResponse(r response, now time.Time) {
	h.out = buildResponse(h.out, r, h.srv.date.get(now))
	if !r.keepAlive {
		h.closing = true
	}
}

// buildResponse appends r to o, headers and body, with date as its Date.
func buildResponse(o []byte, r response, date []byte) []byte {
	o = append(o, "HTTP/1.1 "...)
	o = strconv.AppendInt(o, int64(r.code), 10)
	o = append(o, ' ')
	o = append(o, statusText(r.code)...)
	o = append(o, "\r\nServer: asyncio-go\r\nDate: "...)
	o = append(o, date...)
	o = append(o, "\r\nContent-Type: text/plain\r\nContent-Length: "...)
	o = strconv.AppendInt(o, int64(len(r.body)), 10)
	o = append(o, "\r\n"...)
	o = append(o, r.extra...)
	switch {
	case !r.keepAlive:
		o = append(o, "Connection: close\r\n"...)
	case r.http10:
		o = append(o, "Connection: keep-alive\r\n"...) // else an HTTP/1.0 client assumes close (RFC 9112 §C.2.2)
	}
	o = append(o, "\r\n"...)
	if !r.headOnly {
		o = append(o, r.body...)
	}
	return o
}

// statusText is the reason phrase of each status we answer with.
func statusText(code int) string {
	switch code {
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 417:
		return "Expectation Failed"
	case 431:
		return "Request Header Fields Too Large"
	case 501:
		return "Not Implemented"
	case 505:
		return "HTTP Version Not Supported"
	}
	return "Error"
}

// finish ends the session, closes the connection and returns the total.
func (h *httpSession) finish(err error) async.Poll[struct{}] {
	h.close()
	h.srv.record(h, sessionResult{written: h.total, err: err})
	return async.Ready(struct{}{})
}

// Drop closes the connection of a session abandoned before it finished.
func (h *httpSession) Drop() {
	if h.state != httpDone {
		h.srv.stats.dropped++
		h.close()
	}
}

func (h *httpSession) close() {
	h.state = httpDone
	h.idle.Drop()
	async.Drop(h.linger)
	h.linger = nil
	h.c.Close()       // withdraws any waker a Pending read or write left
	if !h.inScratch { // in the scratch only if a poll panicked between a read and releaseIn
		h.srv.buffers.Put(h.in)
	}
	h.srv.buffers.Put(h.out)
	h.in, h.out = nil, nil
}
