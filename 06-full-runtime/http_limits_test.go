//go:build linux

package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The HTTP session's limits on what a client can make it hold, and its
// ways of closing: a client that does not read, shutdown, EOF.

// vmRSS reads this process's resident memory, in bytes.
func vmRSS(t *testing.T) int64 {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err, "reading /proc/self/status")
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			require.NoError(t, err, "VmRSS: %q", v)
			return kib << 10
		}
	}
	require.Fail(t, "no VmRSS in /proc/self/status")
	return 0
}

// shrinkSendBuffers sets SO_SNDBUF on ts's listening socket; the sockets
// it accepts inherit it. On loopback the kernel would otherwise grow each
// connection's send buffer to megabytes, and a test of clients that do
// not read would spend its time filling them. The test finds the socket
// among this process's descriptors: the one bound to ts's port that
// listens (the connections it accepted are bound to the same port, but do
// not listen).
func shrinkSendBuffers(t *testing.T, ts *testServer, size int) {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err, "reading /proc/self/fd")
	for _, e := range entries {
		fd, _ := strconv.Atoi(e.Name())
		sa, err := unix.Getsockname(fd)
		in4, ok := sa.(*unix.SockaddrInet4)
		if err != nil || !ok || in4.Port != int(ts.addr.Port()) {
			continue
		}
		if listening, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); listening == 1 {
			require.NoError(t, unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, size), "SO_SNDBUF")
			return
		}
	}
	require.Fail(t, "the server's listening socket is not among our descriptors")
}

// sessionsWhere counts the HTTP sessions of s that satisfy f. It reads
// the sessions, so it runs on the loop's goroutine (in onPark).
func sessionsWhere(s *server, f func(*httpSession) bool) int {
	n := 0
	for _, sess := range s.live {
		if h, ok := sess.(*httpSession); ok && f(h) {
			n++
		}
	}
	return n
}

func TestHTTPLimits(t *testing.T) {
	now := time.Now()

	t.Run("a batch is answered at most maxOut at a time; the rest waits in the input, answered after", func(t *testing.T) {
		h := newBareHTTPSession()
		req := "GET / HTTP/1.1\nHost:\n\n" // the shortest request: the largest answer per byte read
		n := (64 << 10) / len(req)
		h.in = append(h.in, strings.Repeat(req, n)...)
		answered, rounds := 0, 0
		for ; h.off < len(h.in); rounds++ {
			answered += h.respond(now)
			assert.Less(t, len(h.out), maxOut+256, "answers held after round %d: maxOut and one answer at most", rounds)
			h.out = h.out[:0] // written
		}
		assert.Equal(t, n, answered, "requests answered, in all")
		assert.Greater(t, rounds, 1, "rounds: more answers than maxOut")
	})

	t.Run("a batch whose answers exceed maxOut is answered whole over the socket, in order", func(t *testing.T) {
		ts := startHTTPServer(t)
		c := dial(t, ts)
		req := "GET /nope HTTP/1.1\nHost:\n\n"
		n := (64 << 10) / len(req)
		go io.WriteString(c, strings.Repeat(req, n-1)+"GET / HTTP/1.1\nHost:\nConnection: close\n\n")
		codes, _ := readResponses(t, bufio.NewReader(c), n)
		assert.Equal(t, 404, codes[n-2], "the last but one")
		assert.Equal(t, 200, codes[n-1], "the last")
		ts.stop()
		assert.Greater(t, ts.stats.batches, int64(1), "writes: the answers did not fit in one")
	})

	t.Run("50 clients that pipeline and never read: memory bounded, another client served, each closed at the idle limit", func(t *testing.T) {
		const stalled = 50
		stuck := make(chan struct{})
		var closedStalled atomic.Int64 // the loop's stats.stalled, as of its last park
		ts := startHTTPServer(t, func(s *server) {
			s.idle = 2 * time.Second
			signalled := false
			s.onPark = func() {
				closedStalled.Store(s.stats.stalled)
				if !signalled && sessionsWhere(s, func(h *httpSession) bool { return h.state == httpWriting }) == stalled {
					signalled = true
					close(stuck)
				}
			}
		})
		shrinkSendBuffers(t, ts, 16<<10)
		before := vmRSS(t)
		batch := strings.Repeat("GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n", 400)
		errs := make(chan error, stalled)
		for range stalled {
			c := dial(t, ts)
			require.NoError(t, c.SetReadBuffer(4<<10), "SetReadBuffer")
			go func() { // pipeline until the server closes the connection; never read
				for {
					if _, err := io.WriteString(c, batch); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		waitFor(t, stuck, "50 sessions waiting for their clients to read")
		grown := vmRSS(t) - before

		other := dial(t, ts)
		r := bufio.NewReader(other)
		for i := range 20 {
			_, err := io.WriteString(other, get)
			require.NoError(t, err, "request %d of the other client", i)
			codes, _ := readResponses(t, r, 1)
			require.Equal(t, []int{200}, codes, "answer %d to the other client", i)
		}
		assert.Zero(t, closedStalled.Load(), "stalled sessions closed before the other client had its 20 answers")

		for range stalled {
			err := <-errs
			assert.True(t, errors.Is(err, unix.ECONNRESET) || errors.Is(err, unix.EPIPE),
				"a stalled client's write fails once the server closes: %v", err)
		}
		ts.stop()
		assert.Equal(t, int64(stalled), ts.stats.stalled, "sessions closed for not reading")
		assert.Less(t, grown, int64(64<<20), "RSS growth with 50 stalled clients")
		t.Logf("RSS grew by %.1f MiB with %d stalled clients (%.0f KiB each)", float64(grown)/(1<<20), stalled, float64(grown)/stalled/1024)
	})

	t.Run("at shutdown an idle keep-alive connection closes gently: queued answers arrive though a request came meanwhile", func(t *testing.T) {
		const n = 200
		idle, draining := make(chan struct{}), make(chan struct{})
		ts := startHTTPServer(t, func(s *server) {
			sawIdle, sawDraining := false, false
			s.onPark = func() {
				answeredAll := func(h *httpSession) bool {
					return h.state == httpReading && h.betweenRequests() && s.stats.requests == n
				}
				switch {
				case !sawIdle && sessionsWhere(s, answeredAll) == 1:
					sawIdle = true
					close(idle)
				case s.draining && !sawDraining && sessionsWhere(s, func(h *httpSession) bool { return h.state == httpReading }) == 0:
					sawDraining = true
					close(draining)
				}
			}
		})
		// A receive window smaller than the answers: the session writes
		// them all into its socket and waits, idle, for another request,
		// while most of the answers are still in the kernel's queue.
		c := dialNarrow(t, ts, 4<<10)
		_, err := io.WriteString(c, strings.Repeat(get, n))
		require.NoError(t, err, "requests")
		waitFor(t, idle, "the session idle with its answers queued")
		ts.shutdown()
		waitFor(t, draining, "the session to act on the shutdown")
		// A request on its way as the server shuts down. Closed at once,
		// the socket would answer it with a reset, which throws away the
		// answers still queued; lingering, the session reads and drops it.
		_, err = io.WriteString(c, get)
		require.NoError(t, err, "a request sent during shutdown")
		codes, _ := readResponses(t, bufio.NewReader(c), n)
		assert.Len(t, codes, n, "every answer queued before the shutdown")
		_, err = c.Read(make([]byte, 1))
		assert.ErrorIs(t, err, io.EOF, "then EOF, not a reset; the request sent during shutdown is not answered")
		ts.stop()
		assert.Equal(t, int64(1), ts.stats.drained, "sessions drained")
		assert.Equal(t, int64(n), ts.stats.requests, "requests answered")
	})

	t.Run("a head cut short by EOF gets a 400 that says so", func(t *testing.T) {
		ts := startHTTPServer(t)
		c := dial(t, ts)
		_, err := io.WriteString(c, "GET /plaintext HTTP/1.1\r\nHost: a\r\n")
		require.NoError(t, err, "write")
		require.NoError(t, c.CloseWrite(), "half-close")
		codes, bodies := readResponses(t, bufio.NewReader(c), 1)
		assert.Equal(t, []int{400}, codes, "status")
		assert.Equal(t, []string{errIncompleteEOF.why}, bodies, "body")
	})
}
