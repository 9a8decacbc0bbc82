//go:build linux

package main

import (
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestMain starts Go's own netpoller once, before any test counts open
// descriptors: the first net.Dial in a process opens an epoll fd and a
// wake-up fd that stay open for good and would look like a leak.
//
// It is also the child of the tests that run the demo's clients in a
// child process: the program re-executes itself, and here that is the
// test binary.
func TestMain(m *testing.M) {
	if addr := os.Getenv(clientsEnv); addr != "" {
		os.Exit(clientsMain(addr, os.Args[1:], os.Stdout, os.Stderr))
	}
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	os.Exit(m.Run())
}

// openFDs counts this process's open file descriptors.
func openFDs(t testing.TB) int {
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
func startTestServer(t testing.TB) *testServer {
	t.Helper()
	return startTestServerTrace(t, nil)
}

// startTestServerTrace is startTestServer with the event loop's trace
// written to trace. Read it only after stop: the loop writes it. Each
// setup function runs on the server before its loop starts.
func startTestServerTrace(t testing.TB, trace io.Writer, setup ...func(*server)) *testServer {
	t.Helper()
	before := openFDs(t)
	var panics strings.Builder // the runtime reports a task that panicked here; read after stop
	srv, err := newServer(serverConfig{addr: "127.0.0.1:0", grace: 10 * time.Second, idle: 30 * time.Second, trace: trace, log: &panics})
	require.NoError(t, err, "newServer")
	for _, f := range setup {
		f(srv)
	}
	ts := &testServer{server: srv, done: startServer(srv)}
	t.Cleanup(func() {
		end := ts.stop()
		require.NoError(t, end.err, "serve")
		assert.Empty(t, panics.String(), "tasks that panicked (the loop survives them, but a session must not panic)")
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
	return dialWith(t, ts, &net.Dialer{})
}

// dialNarrow is dial with the client's receive buffer set to size before
// it connects, so that the window it offers is small from its first
// segment: answers beyond it stay in the server's send queue, not
// acknowledged, however the server wrote them. (Set after connecting, a
// window already offered stays: the kernel then takes one large write
// whole, where it would have held back the second of two.)
func dialNarrow(t *testing.T, ts *testServer, size int) *net.TCPConn {
	t.Helper()
	return dialWith(t, ts, &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		if cerr := rc.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, size)
		}); cerr != nil {
			return cerr
		}
		return err
	}})
}

func dialWith(t *testing.T, ts *testServer, d *net.Dialer) *net.TCPConn {
	t.Helper()
	d.Timeout = 5 * time.Second
	c, err := d.Dial("tcp", ts.addr.String())
	require.NoError(t, err, "dial")
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)), "set deadline")
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// closeIfSame returns a cleanup that closes fd unless the test closed it
// already: the kernel may have given its number to a new descriptor since,
// which a second close would wrongly close. The inode tells them apart.
func closeIfSame(fd int) func() {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return func() {}
	}
	return func() {
		var now unix.Stat_t
		if unix.Fstat(fd, &now) == nil && now.Ino == st.Ino && now.Dev == st.Dev {
			unix.Close(fd)
		}
	}
}
