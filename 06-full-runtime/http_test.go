//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"golang.org/x/sys/unix"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asyncio-go/tutorial/06-full-runtime/async"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startHTTPServer starts the server with the HTTP application.
func startHTTPServer(t testing.TB, setup ...func(*server)) *testServer {
	t.Helper()
	return startTestServerTrace(t, nil, append([]func(*server){func(s *server) { s.open = newHTTPSession }}, setup...)...)
}

const get = "GET /plaintext HTTP/1.1\r\nHost: test\r\n\r\n"

// httpClient returns a net/http client whose connections are all closed
// when the test ends, before the server checks for leaked descriptors:
// the transport would otherwise close them on a goroutine of its own,
// some time later.
func httpClient(t *testing.T) *http.Client {
	t.Helper()
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: 4,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err == nil {
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
			return c, err
		},
	}}
}

// readResponses reads n responses from r and returns their status codes
// and bodies.
func readResponses(t *testing.T, r *bufio.Reader, n int) ([]int, []string) {
	t.Helper()
	var codes []int
	var bodies []string
	for i := range n {
		resp, err := http.ReadResponse(r, nil)
		require.NoError(t, err, "response %d", i)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err, "body %d", i)
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
		bodies = append(bodies, string(body))
	}
	return codes, bodies
}

func TestHTTP(t *testing.T) {
	t.Run("GET /plaintext: Hello, World! with Server, Date, Content-Type and Content-Length", func(t *testing.T) {
		ts := startHTTPServer(t)
		resp, err := httpClient(t).Get("http://" + ts.addr.String() + "/plaintext")
		require.NoError(t, err, "GET")
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err, "body")
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode, "status")
		assert.Equal(t, "Hello, World!", string(body), "body")
		assert.Equal(t, "asyncio-go", resp.Header.Get("Server"), "Server")
		assert.Equal(t, "text/plain", resp.Header.Get("Content-Type"), "Content-Type")
		assert.Equal(t, "13", resp.Header.Get("Content-Length"), "Content-Length")
		date, err := http.ParseTime(resp.Header.Get("Date"))
		require.NoError(t, err, "Date parses")
		assert.WithinDuration(t, time.Now(), date, 2*time.Second, "Date is now")
	})

	t.Run("16 pipelined requests in one write get 16 answers, in order, in one write", func(t *testing.T) {
		ts := startHTTPServer(t)
		c := dial(t, ts)
		var reqs strings.Builder
		for i := range 16 {
			path := "/plaintext"
			if i%5 == 4 {
				path = "/missing"
			}
			reqs.WriteString("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n")
		}
		_, err := io.WriteString(c, reqs.String())
		require.NoError(t, err, "write")
		codes, _ := readResponses(t, bufio.NewReader(c), 16)
		assert.Equal(t, []int{200, 200, 200, 200, 404, 200, 200, 200, 200, 404, 200, 200, 200, 200, 404, 200}, codes, "statuses in order")
		c.Close()
		ts.stop()
		assert.Equal(t, int64(16), ts.stats.requests, "requests answered")
		assert.Equal(t, int64(1), ts.stats.batches, "writes for the 16 answers")
	})

	t.Run("a request that arrives one byte at a time is answered once", func(t *testing.T) {
		ts := startHTTPServer(t)
		c := dial(t, ts)
		for i := range len(get) {
			_, err := io.WriteString(c, get[i:i+1])
			require.NoError(t, err, "write byte %d", i)
		}
		codes, bodies := readResponses(t, bufio.NewReader(c), 1)
		assert.Equal(t, []int{200}, codes, "status")
		assert.Equal(t, []string{"Hello, World!"}, bodies, "body")
	})

	for _, tc := range []struct {
		name, request string
		code          int
		closes        bool
	}{
		{"an unknown path is 404, and the connection stays open", "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n", 404, false},
		{"another method is 405", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", 405, false},
		{"a malformed request line is 400, then close", "GARBAGE\r\n\r\n", 400, true},
		{"a header without a colon is 400, then close", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400, true},
		{"a space before the colon is 400, then close", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, true},
		{"a bad Content-Length is 400, then close", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, true},
		{"chunked bodies are 501, then close", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 501, true},
		{"HTTP/2.0 on this port is 505, then close", "GET / HTTP/2.0\r\n\r\n", 505, true},
		{"Connection: close is honoured", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 200, true},
		{"HTTP/1.0 closes by default", "GET / HTTP/1.0\r\n\r\n", 200, true},
		{"a head over the limit is 431, then close", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("a", maxHead) + "\r\n\r\n", 431, true},
		{"a head over the limit without an end is 431 too", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 2*maxHead), 431, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startHTTPServer(t)
			c := dial(t, ts)
			go io.WriteString(c, tc.request) // may fail once the server closes: the answer says why
			r := bufio.NewReader(c)
			codes, _ := readResponses(t, r, 1)
			assert.Equal(t, []int{tc.code}, codes, "status")
			if tc.closes {
				_, err := r.ReadByte()
				if err != io.EOF { // unread request bytes make the close a reset
					assert.ErrorContains(t, err, "reset", "after the answer")
				}
				return
			}
			_, err := io.WriteString(c, get)
			require.NoError(t, err, "a second request on the same connection")
			codes, _ = readResponses(t, r, 1)
			assert.Equal(t, []int{200}, codes, "second status")
		})
	}

	t.Run("an answer that closes the connection survives a client that goes on sending", func(t *testing.T) {
		ts := startHTTPServer(t)
		c := dial(t, ts)
		_, err := io.WriteString(c, "GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
		require.NoError(t, err, "write")
		go c.Write(bytes.Repeat([]byte("more junk "), 100<<10)) // 1 MiB the server will never answer
		r := bufio.NewReader(c)
		codes, bodies := readResponses(t, r, 1)
		assert.Equal(t, []int{200}, codes, "the answer arrived whole, not destroyed by a reset")
		assert.Equal(t, []string{"Hello, World!"}, bodies, "body")
	})

	t.Run("HEAD gets the headers without the body", func(t *testing.T) {
		ts := startHTTPServer(t)
		c := dial(t, ts)
		_, err := io.WriteString(c, "HEAD /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"+get)
		require.NoError(t, err, "write")
		r := bufio.NewReader(c)
		resp, err := http.ReadResponse(r, &http.Request{Method: "HEAD"})
		require.NoError(t, err, "HEAD response")
		assert.Equal(t, "13", resp.Header.Get("Content-Length"), "Content-Length of the body not sent")
		codes, bodies := readResponses(t, r, 1)
		assert.Equal(t, []int{200}, codes, "the GET after it")
		assert.Equal(t, []string{"Hello, World!"}, bodies, "its body: nothing of HEAD's was sent")
	})

	t.Run("a keep-alive connection idle past the limit is closed", func(t *testing.T) {
		ts := startHTTPServer(t, func(s *server) { s.idle = 50 * time.Millisecond })
		c := dial(t, ts)
		_, err := io.WriteString(c, get)
		require.NoError(t, err, "write")
		r := bufio.NewReader(c)
		readResponses(t, r, 1)
		_, err = r.ReadByte()
		assert.ErrorIs(t, err, io.EOF, "the server closed the idle connection")
	})

	t.Run("a net/http client can use it", func(t *testing.T) {
		ts := startHTTPServer(t)
		client := httpClient(t)
		for range 20 {
			resp, err := client.Get("http://" + ts.addr.String() + "/")
			require.NoError(t, err, "GET")
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, "Hello, World!", string(body), "body")
		}
	})
}

// newBareHTTPSession is a session with no connection, for driving respond
// directly: parsing and answering without sockets.
func newBareHTTPSession() *httpSession {
	return &httpSession{srv: &server{buffers: new(async.BufferPool)}}
}

func TestHTTPRespondAllocatesNothing(t *testing.T) {
	h := newBareHTTPSession()
	batch := []byte(strings.Repeat(get, 16))
	now := time.Now()
	h.in = append(h.in, batch...)
	h.respond(now) // grow the buffers once
	allocs := testing.AllocsPerRun(100, func() {
		h.in, h.off = append(h.in[:0], batch...), 0
		h.out = h.out[:0]
		h.respond(now)
	})
	assert.Zero(t, allocs, "allocations per batch of 16 requests, once the buffers have grown")
	assert.Equal(t, int64(16*101+16), h.srv.stats.requests, "requests answered")

	t.Run("nor for any other kind of request it serves", func(t *testing.T) {
		h := newBareHTTPSession()
		batch := []byte("GET /plaintext?x=1 HTTP/1.1\r\nHost: a:80\r\nConnection: keep-alive, x\r\n\r\n" +
			"HEAD / HTTP/1.1\nHost: a\nExpect: 100-continue\n\n" +
			"GET HTTP://b/plaintext HTTP/1.1\r\nHost: a\r\n\r\n" +
			"POST /missing HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" +
			"GET /nope HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" +
			"GET * HTTP/1.2\r\nHost:\r\n\r\n")
		h.in = append(h.in, batch...)
		h.respond(now)
		require.False(t, h.closing, "every request served, the connection open: %q", h.out)
		allocs := testing.AllocsPerRun(100, func() {
			h.in, h.off = append(h.in[:0], batch...), 0
			h.out = h.out[:0]
			h.respond(now)
		})
		assert.Zero(t, allocs, "allocations per batch")
	})
}

// feed gives data to h as reads would, through the server's scratch
// buffer (take, then respond and releaseIn, as the session does after a
// read), as if each batch of answers were written at once, and scribbles
// over the scratch after each read, as another session's read would. It
// returns the answers.
func feed(h *httpSession, data []byte, now time.Time) []byte {
	if h.srv.scratch == nil {
		h.srv.scratch = make([]byte, httpReadSize)
	}
	var written []byte
	for len(data) > 0 { // one read at a time, as fill makes them
		n := copy(h.srv.scratch, data)
		data = data[n:]
		h.take(h.srv.scratch[:n])
		for {
			left := len(h.in) - h.off
			h.respond(now)
			moved := len(h.in)-h.off != left || len(h.out) > 0
			h.releaseIn()
			if !moved {
				break
			}
			written = append(written, h.out...)
			h.out = h.out[:0]
		}
		// The next read, this session's or another's, overwrites the
		// scratch: what the session kept must not be in it.
		for i := range h.srv.scratch {
			h.srv.scratch[i] = '#'
		}
	}
	return written
}

// feedByteAtATime feeds text to h one byte per read, the worst a client
// can do, and returns every answer.
func feedByteAtATime(h *httpSession, text string) []byte {
	var out []byte
	for i := range len(text) {
		out = append(out, feed(h, []byte(text[i:i+1]), time.Now())...)
	}
	return out
}

// FuzzHTTP feeds arbitrary bytes to the request parser, whole and cut in
// two at any point, and checks that it never panics, gives the same
// answers however the input is cut, answers only complete requests, and
// closes after an error.
func FuzzHTTP(f *testing.F) {
	f.Add([]byte(get+get), uint16(20))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /x HTTP/1.0\r\n\r\n"), uint16(40))
	f.Add([]byte("GARBAGE\r\n\r\n"), uint16(8))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"), uint16(15))
	f.Add([]byte("\r\n\r\n\r\n"), uint16(1))
	f.Add([]byte("HEAD / HTTP/1.1\nHost: a\n\nGET / HTTP/1.1\r\nHost: a\r\n\r"), uint16(17))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		now := time.Now()
		h := newBareHTTPSession()
		out := feed(h, data, now)
		c := int(cut) % (len(data) + 1)
		split := newBareHTTPSession()
		splitOut := append(feed(split, data[:c], now), feed(split, data[c:], now)...)
		assert.Equal(t, string(out), string(splitOut), "the answers to the input whole and cut at %d", c)

		answers := parseAnswers(out)
		assert.LessOrEqual(t, int64(len(answers)), h.srv.stats.requests+h.srv.stats.badRequests, "answers without a request")
		if h.srv.stats.badRequests > 0 {
			assert.True(t, h.closing, "an error closes the connection")
			assert.Equal(t, len(h.in), h.off, "nothing after an error is kept")
		}
		assert.LessOrEqual(t, len(h.in)-h.off, len(data), "input kept")
		// Every answer's head must parse with net/http, and its body be
		// as long as it says, or absent (the answer to a HEAD).
		starts := statusLine.FindAllIndex(out, -1)
		for i, st := range starts {
			end := len(out)
			if i+1 < len(starts) {
				end = starts[i+1][0]
			}
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out[st[0]:end])), nil)
			require.NoError(t, err, "our own answer %d parses", i)
			body, _ := io.ReadAll(resp.Body)
			assert.Contains(t, []int{0, int(resp.ContentLength)}, len(body), "answer %d: its body, or none", i)
		}
	})
}

func TestHTTPAllocations(t *testing.T) {
	t.Run("the HTTP session allocates nothing per request once its connection is warm", func(t *testing.T) {
		// Every answer has the length of this one; its Date may be of a
		// later second.
		answer := buildResponse(nil, helloAnswer, []byte(time.Now().UTC().Format(httpTimeFormat)))
		allocs, last := allocsPerRoundTrip(t, startHTTPServer(t), []byte(get), len(answer))
		assert.True(t, bytes.HasPrefix(last, []byte("HTTP/1.1 200 OK\r\n")) && bytes.HasSuffix(last, []byte("\r\n\r\n"+helloBody)),
			"the last answer: %q", last)
		assert.Zero(t, allocs, "allocations per request answered (the loop, the session and the runtime together)")
	})

	t.Run("nor per batch of 64 pipelined requests, whose answers outgrow a pool buffer", func(t *testing.T) {
		answer := buildResponse(nil, helloAnswer, []byte(time.Now().UTC().Format(httpTimeFormat)))
		batch := []byte(strings.Repeat(get, 64))
		allocs, last := allocsPerRoundTrip(t, startHTTPServer(t), batch, 64*len(answer))
		assert.True(t, bytes.HasSuffix(last, []byte("\r\n\r\n"+helloBody)), "the last answer of the last batch")
		assert.Zero(t, allocs, "allocations per batch of 64")
	})

	t.Run("nor per request that comes in two reads", func(t *testing.T) {
		// The client writes the first half, waits until the session has
		// read it (the hook runs on the loop's goroutine each time the
		// loop is about to sleep, and says so when the session holds
		// bytes it has not answered), then writes the rest. The session
		// keeps the half in a pool buffer between the two reads, and
		// must not grow it.
		halfRead := make(chan int, 1) // the capacity of the buffer that holds the half
		ts := startHTTPServer(t, func(s *server) {
			s.onPark = func() {
				for _, session := range s.live {
					if h := session.(*httpSession); len(h.in) > h.off {
						select {
						case halfRead <- cap(h.in):
						default: // said already
						}
					}
				}
			}
		})
		fd := rawClient(t, ts)
		// Without it, the second half waits for the first's ACK, which
		// the server delays, having nothing to answer yet (Nagle).
		require.NoError(t, unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1), "TCP_NODELAY")
		first, second := []byte(get[:20]), []byte(get[20:])
		answer := buildResponse(nil, helloAnswer, []byte(time.Now().UTC().Format(httpTimeFormat)))
		got := make([]byte, len(answer))
		var failed error
		var heldIn int
		roundTrip := func() {
			if _, err := unix.Write(fd, first); err != nil && failed == nil {
				failed = err
			}
			heldIn = <-halfRead
			if _, err := unix.Write(fd, second); err != nil && failed == nil {
				failed = err
			}
			if failed == nil {
				failed = readAnswer(fd, got)
			}
		}
		for range 100 {
			roundTrip()
		}
		allocs := testing.AllocsPerRun(1000, roundTrip)
		require.NoError(t, failed, "round trips")
		assert.True(t, bytes.HasSuffix(got, []byte("\r\n\r\n"+helloBody)), "the last answer: %q", got)
		assert.Zero(t, allocs, "allocations per request split in two")
		assert.Equal(t, async.BufferSize, heldIn, "the half is held in a buffer of the pool's size, not a grown one")
	})
}

// TestHTTPReads pins how the session reads: into the server's scratch
// buffer, 64 KiB at a time, keeping in a buffer of its own only what a
// read left unanswered.
func TestHTTPReads(t *testing.T) {
	t.Run("one read takes a pipelined batch larger than a pool buffer", func(t *testing.T) {
		// Read 4 KiB at a time, a batch of 256 requests in flight cost
		// three reads and three writes where one of each does (measured on
		// the benchmarks page). One write of the client's arrives whole
		// in the server's socket on loopback, so a read that can take it
		// all answers it all: one batch of answers.
		const n = 300
		batch := strings.Repeat(get, n)
		require.Greater(t, len(batch), async.BufferSize, "the batch is larger than a pool buffer")
		ts := startHTTPServer(t)
		c := dial(t, ts)
		_, err := io.WriteString(c, batch)
		require.NoError(t, err, "the batch")
		codes, _ := readResponses(t, bufio.NewReader(c), n)
		assert.Len(t, codes, n, "answers")
		ts.stop()
		assert.Equal(t, int64(1), ts.stats.batches, "batches of answers: one read took the whole batch")
	})

	t.Run("what a read leaves is moved out of the scratch, which the next read overwrites", func(t *testing.T) {
		// Client a sends the start of a head and the session keeps it;
		// client b's request is then read into the same scratch buffer;
		// then a sends the rest. Kept in the scratch, a's start would be
		// b's bytes by then. A start longer than a pool buffer is kept in
		// a buffer of its own size.
		for _, pad := range []int{0, 6 << 10} {
			held := make(chan struct{}, 1)
			ts := startHTTPServer(t, func(s *server) {
				s.onPark = func() {
					if sessionsWhere(s, func(h *httpSession) bool { return len(h.in) > h.off }) > 0 {
						select {
						case held <- struct{}{}:
						default: // said already
						}
					}
				}
			})
			head := "GET /plaintext HTTP/1.1\r\nX-Pad: " + strings.Repeat("p", pad) + "\r\nHost: a\r\n\r\n"
			cut := len(head) - len("st: a\r\n\r\n")
			a, b := dial(t, ts), dial(t, ts)
			_, err := io.WriteString(a, head[:cut])
			require.NoError(t, err, "a's start")
			waitFor(t, held, "the session holding a's start")
			_, err = io.WriteString(b, "GET /"+strings.Repeat("b", cut)+" HTTP/1.1\r\nHost: b\r\n\r\n")
			require.NoError(t, err, "b's request")
			codes, _ := readResponses(t, bufio.NewReader(b), 1)
			assert.Equal(t, []int{404}, codes, "b's answer (pad %d)", pad)
			_, err = io.WriteString(a, head[cut:])
			require.NoError(t, err, "a's rest")
			codes, bodies := readResponses(t, bufio.NewReader(a), 1)
			assert.Equal(t, []int{200}, codes, "a's answer (pad %d)", pad)
			assert.Equal(t, []string{helloBody}, bodies, "a's answer (pad %d)", pad)
		}
	})

	t.Run("after the answer that closes the connection, nothing read is kept", func(t *testing.T) {
		// Nothing after that answer will be answered: moved out of the
		// scratch, it would only be held through the write and the
		// lingering close.
		h := newBareHTTPSession()
		out := feed(h, []byte("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"+strings.Repeat(get, 200)), time.Now())
		assert.Equal(t, []int{200}, codes(parseAnswers(out)), "one answer, then the close")
		assert.Zero(t, len(h.in), "bytes of input kept after the closing answer")
	})

	t.Run("so is what waits behind maxOut of answers for a client that reads slowly", func(t *testing.T) {
		// Client a pipelines more requests than maxOut of answers, and
		// reads nothing yet: its session answers maxOut's worth, cannot
		// write them all, and waits with the rest of the read unanswered.
		// Client b's requests are then read into the scratch. Left there,
		// a's rest would be b's bytes: a would get b's 404s.
		const n = 1000 // 39,000 bytes, one read; 135,000 bytes of answers, twice maxOut
		waiting := make(chan struct{}, 1)
		ts := startHTTPServer(t, func(s *server) {
			s.onPark = func() {
				if sessionsWhere(s, func(h *httpSession) bool { return h.state == httpWriting && len(h.in) > h.off }) > 0 {
					select {
					case waiting <- struct{}{}:
					default: // said already
					}
				}
			}
		})
		shrinkSendBuffers(t, ts, 16<<10) // else loopback's send buffer takes every answer
		a := dialNarrow(t, ts, 4<<10)
		b := dial(t, ts)
		_, err := io.WriteString(a, strings.Repeat(get, n))
		require.NoError(t, err, "a's requests")
		waitFor(t, waiting, "a's session writing, with requests of a's not answered yet")
		_, err = io.WriteString(b, strings.Repeat("GET /b HTTP/1.1\r\nHost: b\r\n\r\n", n))
		require.NoError(t, err, "b's requests")
		codes, _ := readResponses(t, bufio.NewReader(b), n)
		assert.Len(t, codes, n, "b's answers")
		codes, _ = readResponses(t, bufio.NewReader(a), n)
		require.Len(t, codes, n, "a's answers")
		for i, code := range codes {
			require.Equal(t, 200, code, "a's answer %d", i)
		}
	})
}

func TestHTTPBodies(t *testing.T) {
	t.Run("a body is skipped as it comes, never held, however long it says it is", func(t *testing.T) {
		h := newBareHTTPSession()
		now := time.Now()
		h.in = append(h.in, "POST /plaintext HTTP/1.1\r\nHost: a\r\nContent-Length: 100000000000\r\n\r\n"...)
		h.in = append(h.in, bytes.Repeat([]byte("b"), 64<<10)...)
		h.respond(now)
		assert.Contains(t, string(h.out), "HTTP/1.1 405 Method Not Allowed", "answered before the body has come")
		assert.Equal(t, len(h.in), h.off, "body bytes not yet dropped")
		assert.Equal(t, 100000000000-(64<<10), h.skip, "body bytes still to skip")
		h.skip = 5 // pretend the rest has come but five bytes
		h.out = h.out[:0]
		h.in = append(h.in, "12345"+get...)
		h.respond(now)
		assert.Contains(t, string(h.out), "HTTP/1.1 200 OK", "the request after the body")
	})

	t.Run("a head trickled a byte at a time is closed at the idle limit", func(t *testing.T) {
		ts := startHTTPServer(t, func(s *server) { s.idle = 100 * time.Millisecond })
		c := dial(t, ts)
		closed := make(chan error, 1)
		go func() {
			_, err := io.ReadAll(c)
			closed <- err
		}()
		head := "GET /plaintext HTTP/1.1\r\nX-Slow: " + strings.Repeat("s", 1000)
		var err error
		for i := 0; i < len(head) && err == nil; i++ {
			select {
			case err = <-closed:
			default:
				_, err = io.WriteString(c, head[i:i+1])
				time.Sleep(5 * time.Millisecond) // the trickle's pace, not synchronisation
			}
		}
		require.Error(t, err, "the server closed the connection before the head was whole")
	})
}

func TestHTTPDate(t *testing.T) {
	var d httpDate
	t0 := time.Date(2026, 11, 27, 16, 0, 0, 100, time.UTC)
	first := d.get(t0)
	assert.Equal(t, "Fri, 27 Nov 2026 16:00:00 GMT", string(first), "format")
	again := d.get(t0.Add(900 * time.Millisecond))
	assert.Same(t, &first[0], &again[0], "within the same second: the same bytes, not formatted again")
	assert.Equal(t, "Fri, 27 Nov 2026 16:00:01 GMT", string(d.get(t0.Add(time.Second))), "the next second")
}

// TestPrebuiltAnswer checks the answer taken prebuilt (see answer): it is
// given only where it is the right answer, byte for byte what building
// that answer gives, and never a second old.
func TestPrebuiltAnswer(t *testing.T) {
	now := time.Date(2026, 12, 2, 1, 2, 3, 0, time.UTC)
	date := []byte("Wed, 02 Dec 2026 01:02:03 GMT")
	for _, tc := range []struct {
		request string
		want    response
	}{
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", helloAnswer},
		{"GET /plaintext?x HTTP/1.1\r\nHost: a\r\n\r\n", helloAnswer},
		{"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", response{code: 200, body: helloBody, keepAlive: true, headOnly: true}},
		{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", response{code: 200, body: helloBody, keepAlive: true, http10: true}},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", response{code: 200, body: helloBody}},
		{"GET /x HTTP/1.1\r\nHost: a\r\n\r\n", response{code: 404, body: "Not Found\n", keepAlive: true}},
	} {
		h := newBareHTTPSession()
		got := feed(h, []byte(tc.request), now)
		assert.Equal(t, string(buildResponse(nil, tc.want, date)), string(got), "the answer to %q", tc.request)
		assert.Equal(t, !tc.want.keepAlive, h.closing, "closing after %q", tc.request)
	}

	h := newBareHTTPSession()
	feed(h, []byte(get), now)
	later := feed(h, []byte(get), now.Add(time.Second))
	assert.Contains(t, string(later), "Date: Wed, 02 Dec 2026 01:02:04 GMT\r\n", "a second later, the prebuilt answer has the new Date")
}

// TestHTTPTrickledHeadIsParsedPerLine sends a head of 2 KiB a byte at a
// time: it must be answered once, and parsed again only when a line has
// ended, not on every byte (which made such a head cost time quadratic
// in its length: 2,000 parses of up to 2 KiB each).
func TestHTTPTrickledHeadIsParsedPerLine(t *testing.T) {
	head := "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X-Padding: "+strings.Repeat("p", 87)+"\r\n", 20) + "\r\n"
	lines := strings.Count(head, "\n")
	h := newBareHTTPSession()
	answers := parseAnswers(feedByteAtATime(h, head))
	require.Len(t, answers, 1, "answers to a head sent a byte at a time")
	assert.Equal(t, 200, answers[0].code, "the answer")
	assert.LessOrEqual(t, h.srv.stats.headParses, int64(lines+1), "parses of a %d-byte head of %d lines sent a byte at a time", len(head), lines)

	t.Run("a head with bare LF line ends is answered too: the wait is for an LF, not a CRLF", func(t *testing.T) {
		h := newBareHTTPSession()
		answers := parseAnswers(feedByteAtATime(h, strings.ReplaceAll(head, "\r\n", "\n")))
		require.Len(t, answers, 1, "answers to a bare-LF head sent a byte at a time")
		assert.Equal(t, 200, answers[0].code, "the answer")
	})

	t.Run("and one that never ends is refused at maxHead, as before", func(t *testing.T) {
		h := newBareHTTPSession()
		start := "GET / HTTP/1.1\r\nHost: a\r\nX: "
		feed(h, []byte(start), time.Now())
		var out []byte
		for range maxHead {
			out = append(out, feed(h, []byte("x"), time.Now())...)
		}
		answers := parseAnswers(out)
		require.Len(t, answers, 1, "answers to a head over maxHead with no line end")
		assert.Equal(t, 431, answers[0].code, "the answer")
		assert.LessOrEqual(t, h.srv.stats.headParses, int64(3), "parses of a head with no LF after its third line")
	})
}
