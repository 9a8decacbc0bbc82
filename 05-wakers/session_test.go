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

// newTestSession starts a session on fd, registered with a reactor of its
// own, as the accept task would.
func newTestSession(t *testing.T, fd int) *echoSession {
	t.Helper()
	r, err := NewReactor(tracer{})
	require.NoError(t, err, "NewReactor")
	t.Cleanup(func() { r.Close() })
	require.NoError(t, r.Register(fd), "Register")
	return newEchoSession(fd, make([]byte, readSize), r, nil)
}

func TestEchoSession(t *testing.T) {
	w := testWaker(t, "session")
	cx := &Context{Waker: w}

	t.Run("with nothing to read it is Pending and stays in reading", func(t *testing.T) {
		ours, _ := socketpair(t)
		s := newTestSession(t, ours)
		assert.False(t, s.Poll(cx).IsReady(), "poll")
		assert.Equal(t, sessionReading, s.state, "state")
	})

	t.Run("it echoes what arrived and goes back to reading", func(t *testing.T) {
		ours, peer := socketpair(t)
		s := newTestSession(t, ours)
		_, err := unix.Write(peer, []byte("hello\n"))
		require.NoError(t, err, "peer write")
		assert.False(t, s.Poll(cx).IsReady(), "poll")
		assert.Equal(t, sessionReading, s.state, "state after echoing")
		got := make([]byte, 16)
		n, err := unix.Read(peer, got)
		require.NoError(t, err, "peer read")
		assert.Equal(t, "hello\n", string(got[:n]), "echo")
	})

	t.Run("with the send buffer full it is Pending in writing, and keeps the tail", func(t *testing.T) {
		ours, peer := socketpair(t) // ours has a 4 KiB send buffer
		s := newTestSession(t, ours)
		sent := pattern(256 << 10)
		var got []byte
		buf := make([]byte, 64<<10)
		off, sawWriting := 0, false
		for len(got) < len(sent) {
			if off < len(sent) {
				n, err := unix.Write(peer, sent[off:])
				if !errors.Is(err, unix.EAGAIN) {
					require.NoError(t, err, "peer write")
					off += n
				}
			}
			require.False(t, s.Poll(cx).IsReady(), "poll")
			if s.state == sessionWriting {
				sawWriting = true
				assert.Equal(t, w, s.reactor.regs[ours].writer.waker, "waker while waiting to write")
			}
			n, err := unix.Read(peer, buf)
			if !errors.Is(err, unix.EAGAIN) {
				require.NoError(t, err, "peer read")
				got = append(got, buf[:n]...)
			}
		}
		assert.True(t, sawWriting, "the session never had to wait in writing")
		assert.Equal(t, w, s.reactor.regs[ours].reader.waker, "waker once everything is echoed")
		assert.True(t, bytes.Equal(sent, got), "echo: sent %d bytes, got %d, in order", len(sent), len(got))
	})

	t.Run("at EOF with everything echoed it is Ready with the total, and closes", func(t *testing.T) {
		ours, peer := socketpair(t)
		s := newTestSession(t, ours)
		_, err := unix.Write(peer, []byte("bye\n"))
		require.NoError(t, err, "peer write")
		require.NoError(t, unix.Shutdown(peer, unix.SHUT_WR), "peer shutdown")
		v, ok := s.Poll(cx).Value()
		require.True(t, ok, "poll at EOF")
		assert.Equal(t, echoed{bytes: 4}, v, "result")
		_, err = unix.FcntlInt(uintptr(ours), unix.F_GETFD, 0)
		assert.ErrorIs(t, err, unix.EBADF, "the session closed its descriptor")
		assert.Empty(t, s.reactor.regs, "descriptors the reactor still watches")
	})

	t.Run("a reset ends it with the error", func(t *testing.T) {
		ours, peer := socketpair(t)
		s := newTestSession(t, ours)
		require.NoError(t, unix.Close(peer), "peer close")
		s.c.out = []byte("unsendable")
		s.state = sessionWriting
		v, ok := s.Poll(cx).Value()
		require.True(t, ok, "poll after the peer went away")
		assert.ErrorIs(t, v.err, unix.EPIPE, "result's error")
	})

	t.Run("Drop closes the connection of an unfinished session, once", func(t *testing.T) {
		ours, _ := socketpair(t)
		s := newTestSession(t, ours)
		s.Drop()
		_, err := unix.FcntlInt(uintptr(ours), unix.F_GETFD, 0)
		assert.ErrorIs(t, err, unix.EBADF, "descriptor after Drop")
		assert.NotPanics(t, s.Drop, "second Drop")
	})
}
