//go:build linux

package main

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Hostile clients and faults. Each test runs the whole server over
// loopback; startTestServer checks, when the test ends, that serve
// returned no error and that no descriptor was left open.

func TestReliability(t *testing.T) {
	t.Run("out of descriptors at accept: no spin, the others served, accepting resumes", func(t *testing.T) {
		backedOff := make(chan struct{})
		ts := startTestServerTrace(t, nil, func(s *server) {
			s.onPark = func() {
				if s.rt.Stats().AcceptPauses > 0 {
					close(backedOff)
					s.onPark = nil
				}
			}
		})
		early := dial(t, ts)
		assert.Equal(t, "before\n", roundTrip(t, early, "before\n"), "echo before the shortage")

		// Make the client sockets first: connect needs no new
		// descriptor, so the clients can still connect once the server
		// cannot accept.
		const waiting = 8
		socks := make([]int, waiting)
		for i := range socks {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			require.NoError(t, err, "socket")
			t.Cleanup(closeIfSame(fd))
			socks[i] = fd
		}
		// Lower this process's limit to what is open now plus two: the
		// server can accept two more connections, and then accept4
		// fails with EMFILE.
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
			require.NoError(t, unix.Connect(fd, sa), "connect %d (the backlog takes it)", i)
		}
		<-backedOff // the server has hit EMFILE and paused
		assert.Equal(t, "during\n", roundTrip(t, early, "during\n"), "an existing connection is still served")

		// Free descriptors: the retry after the pause accepts the rest.
		restore()
		for i, fd := range socks {
			line := fmt.Sprintf("waited %d\n", i)
			_, err := unix.Write(fd, []byte(line))
			require.NoError(t, err, "write %d", i)
			got := make([]byte, len(line))
			_, err = io.ReadFull(fdReader(fd), got)
			require.NoError(t, err, "read %d", i)
			assert.Equal(t, line, string(got), "echo to a client that waited in the backlog")
		}
		ts.stop()
		assert.Equal(t, int64(1+waiting), ts.stats.runtime.Accepts, "accepted")
		// Pauses double from 5 ms to at most 1 s: a handful, not the
		// millions of a loop that retried at once.
		assert.Less(t, ts.stats.runtime.AcceptPauses, int64(20), "accept pauses")
	})

	t.Run("data that comes with the hang-up is all echoed before the close", func(t *testing.T) {
		ts := startTestServer(t)
		c := dial(t, ts)
		_, err := io.WriteString(c, "one\ntwo\nthree without newline")
		require.NoError(t, err, "write")
		require.NoError(t, c.CloseWrite(), "half-close at once")
		got, err := io.ReadAll(c)
		require.NoError(t, err, "read until the server closes")
		assert.Equal(t, "one\ntwo\nthree without newline", string(got), "echo")
	})

	t.Run("a reset in the middle of a response closes only that session", func(t *testing.T) {
		stuck := make(chan struct{})
		ts := startTestServerTrace(t, nil, whenWriting(stuck))
		bad := dial(t, ts)
		good := dial(t, ts)
		require.NoError(t, bad.SetReadBuffer(64<<10), "SetReadBuffer")
		go bad.Write(pattern(16 << 20)) // never read: the session waits to write
		waitFor(t, stuck, "a session waiting to write")
		require.NoError(t, bad.SetLinger(0), "linger 0")
		require.NoError(t, bad.Close(), "reset")
		for i := range 5 {
			line := fmt.Sprintf("still here %d\n", i)
			assert.Equal(t, line, roundTrip(t, good, line), "echo to the other client")
		}
		ts.stop()
		assert.Equal(t, int64(2), ts.stats.closed, "closed")
	})

	t.Run("a thousand silent clients do not slow the others, and are closed at the idle limit", func(t *testing.T) {
		ts := startTestServerTrace(t, nil, func(s *server) { s.idle = 500 * time.Millisecond })
		silent := make([]*net.TCPConn, 1000)
		for i := range silent {
			silent[i] = dial(t, ts)
		}
		c := dial(t, ts)
		for i := range 20 {
			line := fmt.Sprintf("busy %d\n", i)
			assert.Equal(t, line, roundTrip(t, c, line), "echo among a thousand idle connections")
		}
		require.NoError(t, c.CloseWrite(), "the busy client says goodbye")
		for i, s := range silent {
			reply, err := io.ReadAll(s)
			require.NoError(t, err, "silent client %d", i)
			require.Equal(t, "error: no whole line within 500ms: timed out: i/o timeout; closing\n", string(reply), "silent client %d", i)
		}
		ts.stop()
		assert.Equal(t, int64(1000), ts.stats.timedOut, "sessions closed for idling")
	})

	t.Run("a burst of 3000 connects at once: every one accepted and served", func(t *testing.T) {
		ts := startTestServer(t)
		const n = 3000
		var start, done sync.WaitGroup
		errs := make(chan error, n)
		start.Add(1)
		for i := range n {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait() // all at once, against the listen backlog
				c, err := net.DialTimeout("tcp", ts.addr.String(), 20*time.Second)
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				line := fmt.Sprintf("burst %d\n", i)
				got := make([]byte, len(line))
				if _, err := io.WriteString(c, line); err != nil {
					errs <- err
				} else if _, err := io.ReadFull(c, got); err != nil || string(got) != line {
					errs <- fmt.Errorf("client %d: got %q, %v", i, got, err)
				}
			}()
		}
		start.Done()
		done.Wait()
		close(errs)
		for err := range errs {
			assert.NoError(t, err, "a client of the burst")
		}
		ts.stop()
		assert.Equal(t, int64(n), ts.stats.runtime.Accepts, "accepted")
	})

	t.Run("a line split at every byte boundary is echoed exactly", func(t *testing.T) {
		ts := startTestServer(t)
		c := dial(t, ts)
		line := "split everywhere: \x00 binary \xff bytes are fine too\n"
		for cut := 1; cut < len(line); cut++ {
			_, err := io.WriteString(c, line[:cut])
			require.NoError(t, err, "first part")
			_, err = io.WriteString(c, line[cut:])
			require.NoError(t, err, "second part")
			got := make([]byte, len(line))
			_, err = io.ReadFull(c, got)
			require.NoError(t, err, "read")
			assert.Equal(t, line, string(got), "cut at %d", cut)
		}
	})
}

// fdReader reads from a blocking raw descriptor.
type fdReader int

func (fd fdReader) Read(p []byte) (int, error) {
	n, err := unix.Read(int(fd), p)
	if n == 0 && err == nil {
		return 0, io.EOF
	}
	return max(n, 0), err
}
