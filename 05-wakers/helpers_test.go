//go:build linux

package main

import (
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMain starts Go's own netpoller once, before any test counts open
// descriptors: the first net.Dial in a process opens an epoll fd and a
// wake-up fd that stay open for good and would look like a leak.
func TestMain(m *testing.M) {
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	os.Exit(m.Run())
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err, "reading /proc/self/fd")
	return len(entries)
}

// testServer is a server running its loop on its own thread, as in main.
type testServer struct {
	*server
	stopOnce sync.Once
	done     <-chan served
	end      served
}

// startTestServer starts a server on a free loopback port. When the test
// ends it shuts the server down, checks that serve returned no error and
// that every descriptor opened since the start has been closed again.
func startTestServer(t *testing.T) *testServer {
	t.Helper()
	return startTestServerTrace(t, nil)
}

// startTestServerTrace is startTestServer with the event loop's trace
// written to trace. Read it only after stop: the loop writes it. Each
// setup function runs on the server before its loop starts.
func startTestServerTrace(t *testing.T, trace io.Writer, setup ...func(*server)) *testServer {
	t.Helper()
	before := openFDs(t)
	srv, err := newServer("127.0.0.1:0", trace, io.Discard)
	require.NoError(t, err, "newServer")
	for _, f := range setup {
		f(srv)
	}
	ts := &testServer{server: srv, done: startServer(srv)}
	t.Cleanup(func() {
		end := ts.stop()
		require.NoError(t, end.err, "serve")
		require.Equal(t, before, openFDs(t), "open descriptors after shutdown (a leak if more)")
	})
	return ts
}

// stop shuts the server down and waits for serve to return; after it the
// server's stats are safe to read. It may be called more than once.
func (ts *testServer) stop() served {
	ts.stopOnce.Do(func() {
		ts.shutdown()
		ts.end = <-ts.done
	})
	return ts.end
}

// dial connects a client to ts, closed when the test ends.
func dial(t *testing.T, ts *testServer) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", ts.addr.String(), 5*time.Second)
	require.NoError(t, err, "dial")
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)), "set deadline")
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}
