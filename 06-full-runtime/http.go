//go:build linux

package main

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/asyncio-go/tutorial/06-full-runtime/async"
)

// A second application on the same runtime: just enough HTTP/1.1 for
// curl, a browser, wrk and h2load. It answers GET (and HEAD) on
// /plaintext and / with "Hello, World!", keeps connections alive, and
// answers pipelined requests in order, batched into one write. Anything
// else gets a short error: 404 for another path, 405 for another method,
// 400 for a request it cannot parse and 431 for a head over maxHead; the
// last two close the connection, since the rest of the stream cannot be
// trusted.
//
// The session is a hand-written state machine over the connection's raw
// read and write, with its futures kept inline as fields: nothing is
// allocated per request once the connection's buffers have grown.

// maxHead is the longest request head (request line and headers) we read.
const maxHead = 8 << 10

// httpTimeFormat is HTTP's date format (RFC 9110, IMF-fixdate).
const httpTimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// httpDate is the Date header's value, formatted at most once a second
// and shared by every response in that second.
type httpDate struct {
	sec int64
	buf []byte
}

func (d *httpDate) get(now time.Time) []byte {
	if s := now.Unix(); s != d.sec || d.buf == nil {
		d.sec = s
		d.buf = now.UTC().AppendFormat(d.buf[:0], httpTimeFormat)
	}
	return d.buf
}

var helloBody = []byte("Hello, World!")

type httpState int

const (
	httpReading   httpState = iota // waiting for the rest of a request head
	httpWriting                    // the responses to all complete requests are being written
	httpLingering                  // the last answer is written and our side shut: reading to the client's EOF
	httpDone                       // returned Ready
)

// httpSession serves one HTTP connection:
//
//	async fn http(conn: Conn) -> io::Result<u64> {
//	    loop {
//	        let n = timeout(IDLE, conn.read(&mut buf)).await?;     // httpReading
//	        while let Some(req) = parse(&mut buf)? {               // every complete request
//	            respond(&req, &mut out);
//	        }
//	        conn.write_all(&out).await?;                          // httpWriting
//	        if closing { return linger(conn).await }               // httpLingering
//	    }
//	}
//
// It is written on the connection's PollRead and PollWrite, with its
// state in its own fields, so that nothing is allocated per request: the
// input buffer is read into directly, the output buffer is written from
// directly, and the idle limit is a Deadline moved at each request.
type httpSession struct {
	state httpState
	liveEntry
	c       *async.Conn
	srv     *server
	in      []byte // bytes of requests not answered yet
	out     []byte // responses not written yet
	sent    int    // bytes at the front of out already written
	closing bool   // the last response says Connection: close
	skip    int    // bytes of an answered request's body still to come, to be dropped
	total   int64  // bytes written
	task    *async.Waker
	idle    async.Deadline                       // the connection opened, or the last whole request came, this long ago
	linger  async.Future[async.Result[struct{}]] // the gentle close after the last answer, bounded by the idle limit
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
			r, ok := h.fill(cx).Value()
			switch {
			case !ok: // nothing more to read for now
				if h.srv.draining && len(h.in) == 0 {
					return h.finish(nil) // shutting down, and no request has begun
				}
				if h.idle.Poll(cx).IsReady() {
					return h.finish(nil) // idle too long: close without a word, as HTTP servers do
				}
				return async.Pending[struct{}]()
			case r.Err == io.EOF && len(h.in) == 0:
				return h.finish(nil) // the client closed between requests
			case r.Err == io.EOF:
				return h.finish(errors.New("connection closed in the middle of a request"))
			case r.Err != nil:
				return h.finish(r.Err)
			}
			if now := time.Now(); h.respond(now) > 0 {
				h.idle.Reset(now.Add(h.srv.idle)) // a whole request came: the idle limit starts again
			}
			if len(h.out) > 0 {
				h.srv.stats.batches++
				h.state = httpWriting
			}
		case httpWriting:
			for h.sent < len(h.out) {
				r, ok := h.c.PollWrite(cx, h.out[h.sent:]).Value()
				if !ok {
					return async.Pending[struct{}]()
				}
				h.sent += r.Value
				h.total += int64(r.Value)
				if r.Err != nil {
					return h.finish(r.Err)
				}
			}
			h.out, h.sent = h.out[:0], 0
			if h.closing {
				// The answer that ends the connection is written. Close
				// gently, as the echo session does at shutdown: a client
				// still sending (a body, more pipelined requests) would
				// otherwise draw a reset that can destroy that answer.
				h.idle.Drop()
				h.linger = async.Timeout(h.srv.rt, h.srv.idle, h.c.Linger())
				h.state = httpLingering
				continue
			}
			h.state = httpReading
		case httpLingering:
			if !h.linger.Poll(cx).IsReady() {
				return async.Pending[struct{}]()
			}
			return h.finish(nil)
		default:
			panic("httpSession: polled after it returned Ready")
		}
	}
}

// fill reads what the socket has into h.in, straight into its spare
// capacity: Ready with the count (or io.EOF, or an error), or Pending
// with the task's waker left with the reactor.
func (h *httpSession) fill(cx *async.Context) async.Poll[async.Result[int]] {
	if cap(h.in)-len(h.in) < minRead {
		h.in = slices.Grow(h.in, minRead)
	}
	p := h.c.PollRead(cx, h.in[len(h.in):cap(h.in)])
	if r, ok := p.Value(); ok {
		h.in = h.in[:len(h.in)+r.Value]
	}
	return p
}

// minRead is the least room a read into the session's input buffer gets:
// enough for a batch of small pipelined requests in one read.
const minRead = 4 << 10

// respond answers every complete request in h.in, appending the answers
// to h.out in order, and keeps the incomplete rest. A request that is
// malformed or too large is answered with an error and ends the
// connection: nothing after it is read. A request's body is not needed
// for any answer we give, so it is skipped as it arrives, never held:
// memory stays bounded by maxHead and one read, whatever Content-Length
// announces. It returns how many whole requests it answered.
func (h *httpSession) respond(now time.Time) (requests int) {
	for !h.closing {
		if h.skip > 0 { // the body of a request already answered
			n := min(h.skip, len(h.in))
			h.in = h.in[:copy(h.in, h.in[n:])]
			h.skip -= n
			if h.skip > 0 {
				return requests
			}
		}
		end := bytes.Index(h.in, crlfcrlf)
		if end < 0 {
			if len(h.in) > maxHead {
				h.fail(431, "Request Header Fields Too Large", now)
			}
			return requests
		}
		if end+4 > maxHead {
			h.fail(431, "Request Header Fields Too Large", now)
			return requests
		}
		req, status := parseHead(h.in[:end+2])
		if status != 0 {
			h.fail(status, statusText(status), now)
			return requests
		}
		h.answer(req, now)
		requests++
		h.in = h.in[:copy(h.in, h.in[end+4:])]
		h.skip = req.bodyLen
	}
	return requests
}

var (
	crlf     = []byte("\r\n")
	crlfcrlf = []byte("\r\n\r\n")
)

// httpRequest is what we need of a request head. Its slices point into
// the session's input buffer: valid until the request has been answered.
type httpRequest struct {
	method    []byte
	target    []byte
	keepAlive bool
	bodyLen   int
}

// parseHead parses a request head (the request line and the header
// lines, each ending in CRLF). It returns a status other than 0 if the
// request cannot be served at all: 400 if it is malformed, 501 for a
// transfer coding we do not implement, 505 for another HTTP version.
func parseHead(head []byte) (httpRequest, int) {
	var req httpRequest
	eol := bytes.Index(head, crlf)
	line := head[:eol]
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return req, 400
	}
	req.method, line = line[:sp1], line[sp1+1:]
	sp2 := bytes.IndexByte(line, ' ')
	if sp2 <= 0 {
		return req, 400
	}
	req.target, line = line[:sp2], line[sp2+1:]
	switch string(line) { // a conversion in a switch does not allocate
	case "HTTP/1.1":
		req.keepAlive = true
	case "HTTP/1.0":
		req.keepAlive = false
	default:
		if bytes.HasPrefix(line, []byte("HTTP/")) {
			return req, 505
		}
		return req, 400
	}
	if !validToken(req.method) || req.target[0] != '/' && req.target[0] != '*' {
		return req, 400
	}
	seenLength := false
	for rest := head[eol+2:]; len(rest) > 0; {
		eol := bytes.Index(rest, crlf)
		line := rest[:eol]
		rest = rest[eol+2:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !validToken(line[:colon]) {
			return req, 400 // no name, or a space before the colon (RFC 9112 forbids it)
		}
		name, value := line[:colon], bytes.Trim(line[colon+1:], " \t")
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, ok := parseLength(value)
			if !ok || seenLength && n != req.bodyLen {
				return req, 400
			}
			req.bodyLen, seenLength = n, true
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return req, 501
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				req.keepAlive = false
			} else if bytes.EqualFold(value, []byte("keep-alive")) {
				req.keepAlive = true
			}
		}
	}
	return req, 0
}

// validToken reports whether b is a non-empty HTTP token (a method or a
// header name): letters, digits and a few marks, no spaces or controls.
func validToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(`"(),/:;<=>?@[\]{}`), c) >= 0 {
			return false
		}
	}
	return true
}

// parseLength parses a Content-Length: decimal digits only, and not so
// many that the number could overflow.
func parseLength(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 12 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// response is one answer, before it is written out.
type response struct {
	code      int
	reason    string
	extra     string // more header lines, each ending in CRLF
	body      []byte
	keepAlive bool // false: the connection closes after this answer
	headOnly  bool // an answer to HEAD: the headers say how long the body is, and it is left out
}

// answer appends the response to one request to h.out.
func (h *httpSession) answer(req httpRequest, now time.Time) {
	h.srv.stats.requests++
	head := bytes.Equal(req.method, []byte("HEAD"))
	switch {
	case !head && !bytes.Equal(req.method, []byte("GET")):
		h.write(response{code: 405, reason: "Method Not Allowed", extra: "Allow: GET, HEAD\r\n",
			body: []byte("Method Not Allowed\n"), keepAlive: req.keepAlive}, now)
	case string(req.target) == "/plaintext" || string(req.target) == "/":
		h.write(response{code: 200, reason: "OK", body: helloBody, keepAlive: req.keepAlive, headOnly: head}, now)
	default:
		h.write(response{code: 404, reason: "Not Found", body: []byte("Not Found\n"), keepAlive: req.keepAlive, headOnly: head}, now)
	}
}

// fail answers a request we cannot serve, and closes the connection
// after the answer: we cannot tell where the next request would start.
func (h *httpSession) fail(code int, reason string, now time.Time) {
	h.srv.stats.badRequests++
	h.write(response{code: code, reason: reason, body: append([]byte(reason), '\n')}, now)
	h.in = h.in[:0]
}

// write appends r to h.out, headers and body.
func (h *httpSession) write(r response, now time.Time) {
	o := h.out
	o = append(o, "HTTP/1.1 "...)
	o = strconv.AppendInt(o, int64(r.code), 10)
	o = append(o, ' ')
	o = append(o, r.reason...)
	o = append(o, "\r\nServer: asyncio-go\r\nDate: "...)
	o = append(o, h.srv.date.get(now)...)
	o = append(o, "\r\nContent-Type: text/plain\r\nContent-Length: "...)
	o = strconv.AppendInt(o, int64(len(r.body)), 10)
	o = append(o, "\r\n"...)
	o = append(o, r.extra...)
	if !r.keepAlive {
		o = append(o, "Connection: close\r\n"...)
		h.closing = true
	}
	o = append(o, "\r\n"...)
	if !r.headOnly {
		o = append(o, r.body...)
	}
	h.out = o
}

// statusText is the reason phrase of the errors parseHead returns.
func statusText(code int) string {
	switch code {
	case 400:
		return "Bad Request"
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
	h.c.Close() // withdraws any waker a Pending read or write left
}
