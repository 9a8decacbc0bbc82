//go:build linux

package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/asyncio-go/tutorial/experiments/internal/lab"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain opens and closes one listener with the net package before the
// tests count descriptors: its first use opens an epoll fd and a wake-up
// fd that stay open for good, and would look like a leak.
func TestMain(m *testing.M) {
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	os.Exit(m.Run())
}

func openFDs(t *testing.T) int {
	t.Helper()
	n, err := lab.OpenFDs(os.Getpid())
	require.NoError(t, err, "counting descriptors")
	return n
}

// startServer runs serve on a goroutine of its own, as main does, and
// returns the address it listens on and a function that stops it (as
// SIGTERM does). When the test ends (after the test's own cleanups,
// registered later, have closed its clients) it stops the server if the
// test has not, and checks that every descriptor is closed again.
func startServer(t *testing.T) (addr string, stop func()) {
	t.Helper()
	before := openFDs(t)
	stopping := make(chan struct{})
	var once sync.Once
	stop = func() { once.Do(func() { close(stopping) }) }
	listening := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve("127.0.0.1:0", func(addr string) { listening <- addr }, stopping) }()
	select {
	case addr = <-listening:
	case err := <-done:
		require.NoError(t, err, "serve returned before it listened")
		require.FailNow(t, "serve returned before it listened")
	}
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-done, "serve")
		assert.Equal(t, before, openFDs(t), "descriptors open once the server has stopped")
	})
	return addr, stop
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err, "dial")
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// roundTrip sends s and reads it back.
func roundTrip(t *testing.T, c net.Conn, s string) {
	t.Helper()
	_, err := c.Write([]byte(s))
	require.NoError(t, err, "write")
	got := make([]byte, len(s))
	_, err = io.ReadFull(c, got)
	require.NoError(t, err, "read the echo")
	require.Equal(t, s, string(got), "the echo")
}

func TestByteEcho(t *testing.T) {
	t.Run("every byte comes back in order, across many reads, and a half-close ends the echo", func(t *testing.T) {
		addr, _ := startServer(t)
		c := dial(t, addr)
		sent := bytes.Repeat([]byte("0123456789abcdef\n"), 16<<10) // 272 KiB: many reads and writes, some partial
		go func() {
			c.Write(sent) // an error shows as a short echo below
			c.CloseWrite()
		}()
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)), "deadline: a guard, as below")
		got, err := io.ReadAll(c) // until the server, having read EOF, closes
		require.NoError(t, err, "read the echoes")
		assert.True(t, bytes.Equal(sent, got), "the echo of %d bytes (got %d)", len(sent), len(got))
	})

	t.Run("a client that resets disturbs no other, and its descriptor is closed at once", func(t *testing.T) {
		addr, _ := startServer(t)
		before := openFDs(t)
		a, b := dial(t, addr), dial(t, addr)
		roundTrip(t, a, "hello from a")
		roundTrip(t, b, "hello from b") // both accepted: two descriptors each side
		require.Equal(t, before+4, openFDs(t), "descriptors with both clients served")
		require.NoError(t, a.SetLinger(0), "SO_LINGER 0: close with a reset")
		require.NoError(t, a.Close(), "reset")
		// The reset reached the server's socket before b's next bytes did
		// (loopback delivers within the sending call), so the loop turn
		// that echoes them has woken a's task too; the second round trip
		// starts after that turn, so a's task has run and closed by then.
		roundTrip(t, b, "still here")
		roundTrip(t, b, "and again")
		assert.Equal(t, before+2, openFDs(t), "descriptors once a's reset was handled: b's two")
	})
	t.Run("stopping closes the connections still open", func(t *testing.T) {
		addr, stop := startServer(t)
		c := dial(t, addr)
		roundTrip(t, c, "hello")
		stop()
		// A guard, not a synchronisation: a connection the server failed
		// to close would otherwise keep this read waiting for good.
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)), "deadline")
		rest, err := io.ReadAll(c)
		require.NoError(t, err, "the server closed the connection: EOF")
		assert.Empty(t, rest, "nothing more came")
	})
}
