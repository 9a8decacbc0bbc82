//go:build linux

package main

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// socketpair returns two connected non-blocking stream sockets, closed
// when the test ends. The first has a small send buffer, so that writes
// to it come back partial long before the data runs out.
func socketpair(t *testing.T) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err, "socketpair")
	t.Cleanup(closeIfSame(fds[0]))
	t.Cleanup(closeIfSame(fds[1]))
	require.NoError(t, unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 4096), "SO_SNDBUF")
	return fds[0], fds[1]
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

func TestConn(t *testing.T) {
	t.Run("a partial write keeps the unsent tail and sends it later, once", func(t *testing.T) {
		ours, peer := socketpair(t)
		c := &conn{fd: ours}
		sent := pattern(1 << 20)
		c.out = append(c.out, sent...)

		var got []byte
		buf := make([]byte, 64<<10)
		partial := false
		for len(got) < len(sent) {
			n, err := c.flush()
			require.NoError(t, err, "flush")
			if len(c.out) > 0 {
				partial = true
				assert.Equal(t, sent[len(sent)-len(c.out):], c.out, "the tail kept after writing %d bytes", n)
			}
			m, err := unix.Read(peer, buf)
			if errors.Is(err, unix.EAGAIN) {
				continue
			}
			require.NoError(t, err, "peer read")
			got = append(got, buf[:m]...)
		}
		assert.True(t, partial, "the kernel took 1 MiB at once: the test never saw a partial write")
		assert.True(t, bytes.Equal(sent, got), "peer received %d of %d bytes, in order", len(got), len(sent))
		assert.Empty(t, c.out, "nothing left to send")
	})

	t.Run("EAGAIN on read means not ready, not an error and not EOF", func(t *testing.T) {
		ours, _ := socketpair(t)
		c := &conn{fd: ours}
		n, err := c.fill(make([]byte, readSize))
		require.NoError(t, err, "fill on an empty socket")
		assert.Equal(t, 0, n, "bytes read")
		assert.False(t, c.eof, "eof after EAGAIN")
	})

	t.Run("a read of zero bytes is EOF: the peer closed its side", func(t *testing.T) {
		ours, peer := socketpair(t)
		c := &conn{fd: ours}
		require.NoError(t, unix.Shutdown(peer, unix.SHUT_WR), "peer shutdown")
		_, err := c.fill(make([]byte, readSize))
		require.NoError(t, err, "fill at EOF")
		assert.True(t, c.eof, "eof after the peer's shutdown")
		assert.True(t, c.done(), "done with nothing pending")
	})

	t.Run("writing to a peer that has gone is an error for this connection", func(t *testing.T) {
		ours, peer := socketpair(t)
		c := &conn{fd: ours, out: []byte("too late")}
		require.NoError(t, unix.Close(peer), "close peer")
		_, err := c.flush()
		assert.ErrorIs(t, err, unix.EPIPE, "flush to a closed peer")
	})
}
