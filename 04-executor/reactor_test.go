//go:build linux

package main

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// newTestReactor makes a reactor that is closed when the test ends, and
// checks that no descriptor it opened is left behind.
func newTestReactor(t *testing.T) *Reactor {
	t.Helper()
	before := openFDs(t)
	r, err := NewReactor(tracer{})
	require.NoError(t, err, "NewReactor")
	t.Cleanup(func() {
		require.NoError(t, r.Close(), "Close")
		assert.Equal(t, before, openFDs(t), "open descriptors after Close")
	})
	return r
}

func TestReactor(t *testing.T) {
	// Wait must never block a test for long: when something should be
	// ready, it returns at once; when nothing should be, 50 ms proves it.
	const nothingReady = 50 * time.Millisecond

	t.Run("reports the descriptor that became ready, and no other", func(t *testing.T) {
		r := newTestReactor(t)
		quiet, _ := socketpair(t)
		loud, loudPeer := socketpair(t)
		require.NoError(t, r.Register(quiet, Readable), "Register quiet")
		require.NoError(t, r.Register(loud, Readable), "Register loud")

		_, err := unix.Write(loudPeer, []byte("x"))
		require.NoError(t, err, "write")
		n, err := r.Wait(-1)
		require.NoError(t, err, "Wait")
		assert.Equal(t, 1, n, "ready descriptors")
		assert.Equal(t, int32(loud), r.events[0].Fd, "the ready descriptor")
	})

	t.Run("with nothing ready, Wait returns 0 after its timeout", func(t *testing.T) {
		r := newTestReactor(t)
		fd, _ := socketpair(t)
		require.NoError(t, r.Register(fd, Readable), "Register")
		n, err := r.Wait(nothingReady)
		require.NoError(t, err, "Wait")
		assert.Equal(t, 0, n, "ready descriptors")
	})

	t.Run("level-triggered: data left unread is reported again", func(t *testing.T) {
		r := newTestReactor(t)
		fd, peer := socketpair(t)
		require.NoError(t, r.Register(fd, Readable), "Register")
		_, err := unix.Write(peer, []byte("unread"))
		require.NoError(t, err, "write")
		for range 3 {
			n, err := r.Wait(-1)
			require.NoError(t, err, "Wait")
			assert.Equal(t, 1, n, "ready descriptors")
		}
	})

	t.Run("Modify switches between readable and writable interest", func(t *testing.T) {
		r := newTestReactor(t)
		fd, _ := socketpair(t)
		require.NoError(t, r.Register(fd, Readable), "Register")
		n, err := r.Wait(nothingReady)
		require.NoError(t, err, "Wait while readable interest")
		assert.Equal(t, 0, n, "an idle socket is not readable")

		require.NoError(t, r.Modify(fd, Readable|Writable), "Modify")
		n, err = r.Wait(-1)
		require.NoError(t, err, "Wait while writable interest")
		assert.Equal(t, 1, n, "an idle socket is always writable")
		assert.Equal(t, uint32(unix.EPOLLOUT), r.events[0].Events, "events")

		require.NoError(t, r.Modify(fd, Readable), "Modify back")
		n, err = r.Wait(nothingReady)
		require.NoError(t, err, "Wait after disarming EPOLLOUT")
		assert.Equal(t, 0, n, "nothing reported once EPOLLOUT is disarmed")
	})

	t.Run("after Deregister the descriptor is not reported", func(t *testing.T) {
		r := newTestReactor(t)
		fd, peer := socketpair(t)
		require.NoError(t, r.Register(fd, Readable), "Register")
		require.NoError(t, r.Deregister(fd), "Deregister")
		_, err := unix.Write(peer, []byte("x"))
		require.NoError(t, err, "write")
		n, err := r.Wait(nothingReady)
		require.NoError(t, err, "Wait")
		assert.Equal(t, 0, n, "ready descriptors")
		assert.ErrorIs(t, r.Deregister(fd), unix.ENOENT, "Deregister twice")
		assert.ErrorIs(t, r.Modify(fd, Readable), unix.ENOENT, "Modify after Deregister")
	})

	t.Run("counts what it watches, for the executor's stuck check", func(t *testing.T) {
		r := newTestReactor(t)
		a, _ := socketpair(t)
		b, _ := socketpair(t)
		require.NoError(t, r.Register(a, Readable), "Register a")
		require.NoError(t, r.Register(b, Writable), "Register b")
		assert.Equal(t, 2, r.watched, "watched after two Registers")
		require.NoError(t, r.Deregister(a), "Deregister a")
		assert.Equal(t, 1, r.watched, "watched after a Deregister")
	})

	t.Run("registering the same descriptor twice is an error", func(t *testing.T) {
		r := newTestReactor(t)
		fd, _ := socketpair(t)
		require.NoError(t, r.Register(fd, Readable), "Register")
		assert.ErrorIs(t, r.Register(fd, Readable), unix.EEXIST, "Register again")
	})

	t.Run("a signal during epoll_wait (EINTR) is not an error", func(t *testing.T) {
		r := newTestReactor(t)
		fd, peer := socketpair(t)
		require.NoError(t, r.Register(fd, Readable), "Register")
		// Keep the waits on this thread, and pepper the thread with
		// SIGURG, the signal Go's scheduler itself uses to preempt.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid, pid := unix.Gettid(), unix.Getpid()
		var stop atomic.Bool
		done := make(chan error, 1)
		go func() {
			for i := 0; !stop.Load(); i++ {
				unix.Tgkill(pid, tid, unix.SIGURG)
				if i == 200 { // then, at last, something to read
					_, err := unix.Write(peer, []byte("x"))
					done <- err
				}
				time.Sleep(time.Millisecond) // pacing the signals, not synchronising
			}
			close(done)
		}()
		n, err := r.Wait(nothingReady)
		require.NoError(t, err, "Wait with a timeout while signals arrive")
		assert.Equal(t, 0, n, "a timed wait interrupted by a signal returns as a timeout")

		n, err = r.Wait(-1)
		stop.Store(true)
		require.NoError(t, <-done, "write")
		require.NoError(t, err, "Wait with no timeout while signals arrive")
		assert.Equal(t, 1, n, "an untimed wait goes on until a descriptor is ready")
	})
}
