//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// roundTrip sends line and reads back exactly as many bytes.
func roundTrip(t *testing.T, c net.Conn, line string) string {
	t.Helper()
	_, err := io.WriteString(c, line)
	require.NoError(t, err, "write")
	got := make([]byte, len(line))
	_, err = io.ReadFull(c, got)
	require.NoError(t, err, "read echo")
	return string(got)
}

// pattern returns n bytes that are not all alike, so a byte lost, doubled
// or reordered shows up in a comparison.
func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte('a' + i%26 + i/26%7)
	}
	return p
}

func TestServer(t *testing.T) {
	t.Run("never arms EPOLLOUT while writes go through at once", func(t *testing.T) {
		var trace bytes.Buffer
		ts := startTestServerTrace(t, &trace)
		c := dial(t, ts)
		for i := range 10 {
			line := fmt.Sprintf("line %d\n", i)
			assert.Equal(t, line, roundTrip(t, c, line), "echo")
		}
		ts.stop()
		assert.False(t, strings.Contains(trace.String(), "OUT"), "EPOLLOUT in the trace of a client that reads its echoes:\n%s", trace.String())
		assert.Contains(t, trace.String(), "read 7, wrote 7, pending 0", "trace of one echo")
	})

	t.Run("1000 clients at once are served on one thread", func(t *testing.T) {
		ts := startTestServer(t)
		clients := make([]*net.TCPConn, 1000)
		for i := range clients {
			clients[i] = dial(t, ts)
		}
		for i, c := range clients {
			line := fmt.Sprintf("client %d\n", i)
			_, err := io.WriteString(c, line)
			require.NoError(t, err, "write")
		}
		for i, c := range clients {
			line := fmt.Sprintf("client %d\n", i)
			got := make([]byte, len(line))
			_, err := io.ReadFull(c, got)
			require.NoError(t, err, "read")
			assert.Equal(t, line, string(got), "echo to client %d", i)
		}
	})

	t.Run("echoes every line back to the client that sent it", func(t *testing.T) {
		ts := startTestServer(t)
		a, b := dial(t, ts), dial(t, ts)
		for i := range 20 {
			lineA, lineB := fmt.Sprintf("a says %d\n", i), fmt.Sprintf("b says %d\n", i)
			assert.Equal(t, lineA, roundTrip(t, a, lineA), "echo to a")
			assert.Equal(t, lineB, roundTrip(t, b, lineB), "echo to b")
		}
	})

	t.Run("a client that half-closes still gets every byte back, then EOF", func(t *testing.T) {
		ts := startTestServer(t)
		c := dial(t, ts)
		sent := pattern(300 << 10) // more than the socket buffers hold at once
		go func() {
			c.Write(sent) // errors show up as a short echo below
			c.CloseWrite()
		}()
		got, err := io.ReadAll(c) // until the server closes its side
		require.NoError(t, err, "read until EOF")
		assert.True(t, bytes.Equal(sent, got), "echo after half-close: sent %d bytes, got %d", len(sent), len(got))
	})

	t.Run("a client sending one byte at a time is echoed exactly", func(t *testing.T) {
		ts := startTestServer(t)
		c := dial(t, ts)
		for _, b := range []byte("one byte at a time\n") {
			assert.Equal(t, string(b), roundTrip(t, c, string(b)), "echo of one byte")
		}
	})

	t.Run("a client that resets affects only itself", func(t *testing.T) {
		ts := startTestServer(t)
		good := dial(t, ts)
		bad := dial(t, ts)
		assert.Equal(t, "before\n", roundTrip(t, bad, "before\n"), "echo before reset")
		// Linger 0 makes close send RST instead of FIN: the server's
		// next read or write on that socket fails with ECONNRESET.
		require.NoError(t, bad.SetLinger(0), "set linger")
		_, err := bad.Write(pattern(64 << 10)) // unread data makes the reset certain
		require.NoError(t, err, "write before reset")
		require.NoError(t, bad.Close(), "reset")
		for i := range 10 {
			line := fmt.Sprintf("still here %d\n", i)
			assert.Equal(t, line, roundTrip(t, good, line), "echo to the other client")
		}
		ts.stop()
		assert.Equal(t, int64(2), ts.stats.accepted, "accepted")
		assert.Equal(t, int64(2), ts.stats.closed, "closed")
	})

	t.Run("a client that stops reading is held back while others are served", func(t *testing.T) {
		trace := &capWatcher{reached: make(chan struct{})}
		ts := startTestServerTrace(t, trace)
		slow := dial(t, ts)
		// A small receive window, so that the kernel's buffers between
		// us cannot swallow the whole stream; then far more than fits.
		require.NoError(t, slow.SetReadBuffer(128<<10), "SetReadBuffer")
		sent := pattern(16 << 20)
		wrote := make(chan error, 1)
		go func() {
			// Blocks once the server stops reading from slow: that is
			// the backpressure we want. It resumes when slow reads.
			_, err := slow.Write(sent)
			slow.CloseWrite()
			wrote <- err
		}()
		<-trace.reached // the server holds maxPending for slow: it must stop reading now
		other := dial(t, ts)
		for i := range 10 {
			line := fmt.Sprintf("served meanwhile %d\n", i)
			assert.Equal(t, line, roundTrip(t, other, line), "echo to a reading client")
		}
		got, err := io.ReadAll(slow)
		require.NoError(t, err, "slow client reads at last")
		require.NoError(t, <-wrote, "slow client's write")
		assert.True(t, bytes.Equal(sent, got), "slow client's echo: sent %d bytes, got %d", len(sent), len(got))
		ts.stop()
		assert.LessOrEqual(t, ts.stats.peakPending, maxPending+readSize, "unsent bytes held for one connection")
		assert.True(t, strings.Contains(trace.String(), ": OUT: "), "EPOLLOUT reported while the slow client's echo waited")
	})

	t.Run("out of descriptors at accept: the listener rests instead of spinning, and resumes", func(t *testing.T) {
		trace := &lineWatcher{want: "too many open files", seen: make(chan struct{})}
		ts := startTestServerTrace(t, trace)
		early := dial(t, ts)
		assert.Equal(t, "before\n", roundTrip(t, early, "before\n"), "echo before the shortage")
		// Client sockets first: connect needs no new descriptor.
		const waiting = 8
		socks := make([]int, waiting)
		for i := range socks {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			require.NoError(t, err, "socket")
			t.Cleanup(closeIfSame(fd))
			socks[i] = fd
		}
		var old unix.Rlimit
		require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &old), "getrlimit")
		low := unix.Rlimit{Cur: uint64(openFDs(t) + 2), Max: old.Max}
		require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &low), "setrlimit")
		restored := false
		restore := func() {
			if !restored {
				require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &old), "restore the limit")
				restored = true
			}
		}
		defer restore()
		sa := &unix.SockaddrInet4{Port: int(ts.addr.Port()), Addr: ts.addr.Addr().As4()}
		for i, fd := range socks {
			require.NoError(t, unix.Connect(fd, sa), "connect %d", i)
		}
		<-trace.seen // accept4 said EMFILE
		assert.Equal(t, "during\n", roundTrip(t, early, "during\n"), "an existing connection is still served")
		restore()
		for i, fd := range socks {
			line := fmt.Sprintf("waited %d\n", i)
			_, err := unix.Write(fd, []byte(line))
			require.NoError(t, err, "write %d", i)
			got := make([]byte, len(line))
			n, err := unix.Read(fd, got) // blocking socket: waits for the echo
			require.NoError(t, err, "read %d", i)
			assert.Equal(t, line, string(got[:n]), "echo to a client that waited in the backlog")
		}
		ts.stop()
		assert.Equal(t, int64(1+waiting), ts.stats.accepted, "accepted")
		assert.Less(t, ts.stats.acceptErrors, int64(20), "accept4 failures: a few rests, not a spin")
	})

	t.Run("shutdown closes open connections and the listener", func(t *testing.T) {
		ts := startTestServer(t)
		c := dial(t, ts)
		assert.Equal(t, "hi\n", roundTrip(t, c, "hi\n"), "echo")
		ts.stop()
		_, err := c.Read(make([]byte, 1))
		assert.ErrorIs(t, err, io.EOF, "read after server shutdown")
		_, err = net.Dial("tcp", ts.addr.String())
		assert.ErrorIs(t, err, unix.ECONNREFUSED, "dial after shutdown")
	})
}

// lineWatcher collects the server's trace and closes seen the first time
// a line contains want.
type lineWatcher struct {
	bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(w.want)) {
		w.once.Do(func() { close(w.seen) })
	}
	return w.Buffer.Write(p)
}

// capWatcher collects the server's trace and closes reached the first time
// a connection's pending output reaches maxPending. The event loop writes
// to it; the test reads the trace only after the server has stopped.
type capWatcher struct {
	bytes.Buffer
	reached chan struct{}
	once    sync.Once
}

var pendingRE = regexp.MustCompile(`pending (\d+)`)

func (w *capWatcher) Write(p []byte) (int, error) {
	if m := pendingRE.FindSubmatch(p); m != nil {
		if n, _ := strconv.Atoi(string(m[1])); n >= maxPending {
			w.once.Do(func() { close(w.reached) })
		}
	}
	return w.Buffer.Write(p)
}
