//go:build linux

package main

import (
	"io"
	"runtime"
	"sync"
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

// testWaker returns the waker of a task that is never polled, on an
// executor of its own, so a test can see whether it was woken.
func testWaker(t *testing.T, name string) *Waker {
	t.Helper()
	return &Waker{task: &Task{id: 1, name: name}, ex: newTestExecutor(t, io.Discard)}
}

// tookWake reports whether w's task was woken since the last call, and
// makes it wakeable again, as polling it would.
func tookWake(w *Waker) bool {
	return w.task.queued.Swap(false)
}

func TestReactor(t *testing.T) {
	// Wait must never block a test for long: when something should be
	// ready, it returns at once; when nothing should be, 50 ms proves it.
	const nothingReady = 50 * time.Millisecond

	t.Run("wakes the task waiting on the descriptor that became ready, and no other", func(t *testing.T) {
		r := newTestReactor(t)
		quiet, _ := socketpair(t)
		loud, loudPeer := socketpair(t)
		require.NoError(t, r.Register(quiet), "Register quiet")
		require.NoError(t, r.Register(loud), "Register loud")
		quietW, loudW := testWaker(t, "quiet"), testWaker(t, "loud")
		require.NoError(t, r.WakeOn(quiet, Readable, quietW), "WakeOn quiet")
		require.NoError(t, r.WakeOn(loud, Readable, loudW), "WakeOn loud")

		_, err := unix.Write(loudPeer, []byte("x"))
		require.NoError(t, err, "write")
		ready, err := r.Wait(-1)
		require.NoError(t, err, "Wait")
		assert.Equal(t, []*Waker{loudW}, ready, "wakers returned")
		assert.Nil(t, r.regs[loud].reader.waker, "a waker is handed out once")
		assert.Equal(t, quietW, r.regs[quiet].reader.waker, "the quiet one still waits")
	})

	t.Run("wakes the reader and the writer of one descriptor separately", func(t *testing.T) {
		r := newTestReactor(t)
		fd, peer := socketpair(t)
		require.NoError(t, r.Register(fd), "Register")
		_, err := r.Wait(-1) // the edge of a fresh socket: writable
		require.NoError(t, err, "Wait")
		reader, writer := testWaker(t, "reader"), testWaker(t, "writer")
		require.NoError(t, r.WakeOn(fd, Readable, reader), "WakeOn Readable")
		assert.False(t, tookWake(reader), "the reader is not woken by the old writable edge")
		require.NoError(t, r.WakeOn(fd, Writable, writer), "WakeOn Writable")
		assert.True(t, tookWake(writer), "the writer is woken at once by the edge that came while nobody waited")

		_, err = unix.Write(peer, []byte("x"))
		require.NoError(t, err, "write")
		ready, err := r.Wait(-1)
		require.NoError(t, err, "Wait")
		assert.Equal(t, []*Waker{reader}, ready, "wakers returned for data to read")
	})

	t.Run("with nothing ready, Wait returns no waker after its timeout", func(t *testing.T) {
		r := newTestReactor(t)
		fd, _ := socketpair(t)
		require.NoError(t, r.Register(fd), "Register")
		_, err := r.Wait(-1) // the writable edge
		require.NoError(t, err, "Wait")
		ready, err := r.Wait(nothingReady)
		require.NoError(t, err, "Wait")
		assert.Empty(t, ready, "wakers")
	})

	t.Run("edge-triggered: data left unread is not reported again", func(t *testing.T) {
		r := newTestReactor(t)
		fd, peer := socketpair(t)
		require.NoError(t, r.Register(fd), "Register")
		_, err := unix.Write(peer, []byte("unread"))
		require.NoError(t, err, "write")
		waits := r.waits
		_, err = r.Wait(-1)
		require.NoError(t, err, "Wait")
		ready, err := r.Wait(nothingReady)
		require.NoError(t, err, "Wait")
		assert.Empty(t, ready, "wakers")
		assert.Equal(t, waits+2, r.waits, "epoll_wait calls")
		assert.True(t, r.regs[fd].reader.ready, "the edge is remembered, since nobody waited for it")
	})

	t.Run("an edge that comes before the waker does is not lost", func(t *testing.T) {
		// The race: interest is registered, the event arrives and is
		// reported, and only then does the task hand over its waker.
		// Edge-triggered epoll will not report it again, so the reactor
		// must remember it, or the task would wait forever.
		r := newTestReactor(t)
		fd, peer := socketpair(t)
		require.NoError(t, r.Register(fd), "Register")
		_, err := unix.Write(peer, []byte("early"))
		require.NoError(t, err, "write")
		ready, err := r.Wait(-1)
		require.NoError(t, err, "Wait")
		require.Empty(t, ready, "nobody was waiting yet")

		w := testWaker(t, "late")
		require.NoError(t, r.WakeOn(fd, Readable, w), "WakeOn")
		assert.True(t, tookWake(w), "WakeOn wakes at once for the edge it missed")
		assert.False(t, r.regs[fd].reader.ready, "the edge was used up")
		require.NoError(t, r.WakeOn(fd, Readable, w), "WakeOn again")
		assert.False(t, tookWake(w), "the same edge does not wake twice")
	})

	t.Run("a stale event for a reused descriptor number wakes nobody", func(t *testing.T) {
		// The epoll set holds open files, not numbers. Close a registered
		// fd without Deregister while a copy of it lives on (here a dup;
		// in life a forked child, or a missed Deregister) and its
		// registration stays in the kernel. Give the number to a new
		// socket, and events for the old file arrive under the new
		// socket's number. The generation in the event tells them apart.
		r := newTestReactor(t)
		old, oldPeer := socketpair(t)
		require.NoError(t, r.Register(old), "Register old")
		_, err := r.Wait(-1) // the old socket's writable edge, while it is still current
		require.NoError(t, err, "Wait")
		oldCopy, err := unix.Dup(old)
		require.NoError(t, err, "dup")
		t.Cleanup(closeIfSame(oldCopy))
		require.NoError(t, unix.Close(old), "close old without Deregister")

		fresh, freshPeer := socketpair(t)
		if fresh != old { // the kernel gives the lowest free number, usually old's
			require.NoError(t, unix.Dup3(fresh, old, unix.O_CLOEXEC), "move the new socket to the old number")
			t.Cleanup(closeIfSame(old))
			require.NoError(t, unix.Close(fresh), "close the new socket's first number")
		}
		reused := old
		require.NoError(t, r.Register(reused), "Register the new socket under the reused number")
		_, err = r.Wait(-1) // the new socket's writable edge
		require.NoError(t, err, "Wait")
		w := testWaker(t, "new owner of the number")
		require.NoError(t, r.WakeOn(reused, Readable, w), "WakeOn")

		_, err = unix.Write(oldPeer, []byte("for the old socket"))
		require.NoError(t, err, "write to the old socket")
		ready, err := r.Wait(-1)
		require.NoError(t, err, "Wait")
		assert.Empty(t, ready, "wakers for an event meant for the old socket")
		assert.Equal(t, int64(1), r.stale, "stale events counted")

		_, err = unix.Write(freshPeer, []byte("for the new one"))
		require.NoError(t, err, "write to the new socket")
		ready, err = r.Wait(-1)
		require.NoError(t, err, "Wait")
		assert.Equal(t, []*Waker{w}, ready, "the new socket's own event wakes its task")
		require.NoError(t, r.Deregister(reused), "Deregister")
		require.NoError(t, unix.Close(oldCopy), "close the copy") // and with it the kernel's old registration
	})

	t.Run("after Deregister the descriptor is not reported", func(t *testing.T) {
		r := newTestReactor(t)
		fd, peer := socketpair(t)
		require.NoError(t, r.Register(fd), "Register")
		require.NoError(t, r.Deregister(fd), "Deregister")
		_, err := unix.Write(peer, []byte("x"))
		require.NoError(t, err, "write")
		ready, err := r.Wait(nothingReady)
		require.NoError(t, err, "Wait")
		assert.Empty(t, ready, "wakers")
		assert.Equal(t, int64(0), r.nready, "events")
		assert.ErrorIs(t, r.Deregister(fd), unix.ENOENT, "Deregister twice")
		assert.ErrorContains(t, r.WakeOn(fd, Readable, testWaker(t, "late")), "not registered", "WakeOn after Deregister")
	})

	t.Run("registering the same descriptor twice is an error", func(t *testing.T) {
		r := newTestReactor(t)
		fd, _ := socketpair(t)
		require.NoError(t, r.Register(fd), "Register")
		assert.ErrorIs(t, r.Register(fd), unix.EEXIST, "Register again")
	})

	t.Run("a burst of Notify from many goroutines costs one eventfd write, and is drained", func(t *testing.T) {
		r := newTestReactor(t)
		const goroutines, each = 8, 1000
		var start, done sync.WaitGroup
		start.Add(1)
		for range goroutines {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait() // all at once
				for range each {
					r.Notify()
				}
			}()
		}
		start.Done()
		done.Wait()
		assert.Equal(t, int64(1), r.notifies.Load(), "eventfd writes for the burst")

		ready, err := r.Wait(-1)
		require.NoError(t, err, "Wait")
		assert.Empty(t, ready, "the eventfd wakes the loop, not a task")
		assert.Equal(t, int64(1), r.drained, "drains")
		waits := r.waits
		ready, err = r.Wait(nothingReady)
		require.NoError(t, err, "Wait after the drain")
		assert.Empty(t, ready, "wakers")
		assert.Equal(t, int64(1), r.drained, "the drained eventfd does not fire again: no spin")
		assert.Equal(t, waits+1, r.waits, "epoll_wait calls")

		r.Notify()
		assert.Equal(t, int64(2), r.notifies.Load(), "after a drain the next Notify writes again")
		_, err = r.Wait(-1)
		require.NoError(t, err, "Wait")
		assert.Equal(t, int64(2), r.drained, "drains")
	})

	t.Run("a signal during epoll_wait (EINTR) is not an error", func(t *testing.T) {
		r := newTestReactor(t)
		fd, peer := socketpair(t)
		require.NoError(t, r.Register(fd), "Register")
		_, err := r.Wait(-1) // the writable edge
		require.NoError(t, err, "Wait")
		w := testWaker(t, "reader")
		require.NoError(t, r.WakeOn(fd, Readable, w), "WakeOn")
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
		ready, err := r.Wait(nothingReady)
		require.NoError(t, err, "Wait with a timeout while signals arrive")
		assert.Empty(t, ready, "a timed wait interrupted by a signal returns as a timeout")

		ready, err = r.Wait(-1)
		stop.Store(true)
		require.NoError(t, <-done, "write")
		require.NoError(t, err, "Wait with no timeout while signals arrive")
		assert.Equal(t, []*Waker{w}, ready, "an untimed wait goes on until a descriptor is ready")
	})
}
