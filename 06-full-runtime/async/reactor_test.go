//go:build linux

package async

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestReactor(t *testing.T) {
	// wait must never block a test for long: when something should be
	// ready, it returns at once; when nothing should be, 50 ms proves it.
	const nothingReady = 50 * time.Millisecond

	t.Run("wakes the task waiting on the descriptor that became ready, and no other", func(t *testing.T) {
		r := newTestReactor(t)
		quiet, _ := socketpair(t)
		loud, loudPeer := socketpair(t)
		quietReg, err := newReg(r, quiet)
		require.NoError(t, err, "register quiet")
		loudReg, err := newReg(r, loud)
		require.NoError(t, err, "register loud")
		quietW, loudW := testWaker(t, "quiet"), testWaker(t, "loud")
		require.False(t, quietReg.wakeOn(readable, quietW), "wakeOn quiet: nothing came yet, so it waits")
		require.False(t, loudReg.wakeOn(readable, loudW), "wakeOn loud")

		write(t, loudPeer, "x")
		ready, err := r.wait(-1)
		require.NoError(t, err, "wait")
		assert.Equal(t, []*Waker{loudW}, ready, "wakers returned")
		assert.Nil(t, loudReg.reader.waker, "a waker is handed out once")
		assert.Same(t, quietW, quietReg.reader.waker, "the quiet one still waits")
	})

	t.Run("wakes the reader and the writer of one descriptor separately", func(t *testing.T) {
		r := newTestReactor(t)
		fd, peer := socketpair(t)
		reg, err := newReg(r, fd)
		require.NoError(t, err, "register")
		_, err = r.wait(-1) // the edge of a fresh socket: writable
		require.NoError(t, err, "wait")
		reader, writer := testWaker(t, "reader"), testWaker(t, "writer")
		assert.False(t, reg.wakeOn(readable, reader), "the reader waits: the old writable edge is not for it")
		assert.True(t, reg.wakeOn(writable, writer), "the writer is told to try again: its edge came while nobody waited")
		assert.False(t, tookWake(writer), "... and is not woken: its caller retries at once")
		assert.Nil(t, reg.writer.waker, "... and no writer waits")

		write(t, peer, "x")
		ready, err := r.wait(-1)
		require.NoError(t, err, "wait")
		assert.Equal(t, []*Waker{reader}, ready, "wakers returned for data to read")
	})

	t.Run("with nothing ready, wait returns no waker after its timeout", func(t *testing.T) {
		r := newTestReactor(t)
		settledReg(t, r)
		ready, err := r.wait(nothingReady)
		require.NoError(t, err, "wait")
		assert.Empty(t, ready, "wakers")
	})

	t.Run("HoldProcessor: a sleep longer than the held millisecond sleeps its whole timeout, and counts once", func(t *testing.T) {
		r := newTestReactor(t)
		r.hold = true
		// A signal may cut a sleep short (while the loop holds its
		// processor, Go's scheduler may preempt it, or stop it for the
		// garbage collector): wait then returns early, as a timeout
		// would, and its caller sleeps for the rest. So sleep as the
		// executor does, until the time is up, and count the calls: a
		// few at most, not one per held millisecond.
		waits, calls, start := r.waits, int64(0), time.Now()
		for left := nothingReady; left > 0; left = nothingReady - time.Since(start) {
			ready, err := r.wait(left)
			require.NoError(t, err, "wait")
			assert.Empty(t, ready, "wakers")
			calls++
		}
		assert.Less(t, calls, int64(10), "waits for %v (one per held millisecond would be %d)", nothingReady, nothingReady/time.Millisecond)
		assert.Positive(t, r.heldOut, "sleeps that went on, after the held millisecond, in the ordinary epoll_wait: a hold of the whole timeout keeps the processor from every other goroutine")
		assert.Equal(t, waits+calls, r.waits, "each wait counted once, its two epoll_wait calls together")
	})

	t.Run("HoldProcessor: the raw call sleeps for the milliseconds it is given", func(t *testing.T) {
		// The held millisecond is a raw epoll_wait with a timeout; one
		// that ignored it would turn every held sleep into a spin (0) or
		// an unbounded hold (-1). A signal may end it early (EINTR):
		// measure a call that was not interrupted.
		r := newTestReactor(t)
		for {
			start := time.Now()
			n, err := r.rawWait(5)
			if err == unix.EINTR {
				continue
			}
			require.NoError(t, err, "rawWait")
			assert.Zero(t, n, "events: nothing is registered but the eventfd, never written")
			assert.GreaterOrEqual(t, time.Since(start), 4*time.Millisecond, "rawWait(5) returned early")
			return
		}
	})

	t.Run("HoldProcessor: what is ready is returned by the held call", func(t *testing.T) {
		r := newTestReactor(t)
		r.hold = true
		reg, _, peer := settledReg(t, r)
		w := testWaker(t, "reader")
		require.False(t, reg.wakeOn(readable, w), "wakeOn: nothing came yet")
		write(t, peer, "x")
		ready, err := r.wait(-1)
		require.NoError(t, err, "wait")
		assert.Equal(t, []*Waker{w}, ready, "wakers returned")

		r.notify()
		ready, err = r.wait(-1) // the eventfd, drained: no waker, but the wait returns
		require.NoError(t, err, "wait after notify")
		assert.Empty(t, ready, "wakers after notify")
	})

	t.Run("edge-triggered: data left unread is not reported again", func(t *testing.T) {
		r := newTestReactor(t)
		fd, peer := socketpair(t)
		reg, err := newReg(r, fd)
		require.NoError(t, err, "register")
		write(t, peer, "unread")
		waits := r.waits
		_, err = r.wait(-1)
		require.NoError(t, err, "wait")
		ready, err := r.wait(nothingReady)
		require.NoError(t, err, "wait")
		assert.Empty(t, ready, "wakers")
		assert.Equal(t, waits+2, r.waits, "epoll_wait calls")
		assert.True(t, reg.reader.ready, "the edge is remembered, since nobody waited for it")
	})

	t.Run("an edge that comes before the waker does is not lost: wakeOn says try again", func(t *testing.T) {
		// The race: interest is registered, the event arrives and is
		// reported, and only then does the task hand over its waker.
		// Edge-triggered epoll will not report it again, so the reactor
		// must remember it and say so, or the task would wait forever.
		r := newTestReactor(t)
		fd, peer := socketpair(t)
		reg, err := newReg(r, fd)
		require.NoError(t, err, "register")
		write(t, peer, "early")
		ready, err := r.wait(-1)
		require.NoError(t, err, "wait")
		require.Empty(t, ready, "nobody was waiting yet")

		w := testWaker(t, "late")
		assert.True(t, reg.wakeOn(readable, w), "wakeOn reports the edge it missed: try again")
		assert.False(t, tookWake(w), "rather than waking the task")
		assert.Nil(t, reg.reader.waker, "no waker left behind")
		assert.False(t, reg.reader.ready, "the edge was used up")
		assert.False(t, reg.wakeOn(readable, w), "wakeOn again: the same edge does not count twice")
		assert.Same(t, w, reg.reader.waker, "this time the waker waits")
	})

	t.Run("a later wakeOn replaces the waker, and forget withdraws it but keeps a marked edge", func(t *testing.T) {
		r := newTestReactor(t)
		fd, peer := socketpair(t)
		reg, err := newReg(r, fd)
		require.NoError(t, err, "register")
		first, second := testWaker(t, "first"), testWaker(t, "second")
		require.False(t, reg.wakeOn(readable, first), "wakeOn first")
		require.False(t, reg.wakeOn(readable, second), "wakeOn second")
		assert.Same(t, second, reg.reader.waker, "one waker per direction: the latest")
		reg.forget(readable)
		assert.Nil(t, reg.reader.waker, "after forget")

		write(t, peer, "x")
		ready, err := r.wait(-1)
		require.NoError(t, err, "wait")
		assert.Empty(t, ready, "nobody is woken for a withdrawn waker")
		reg.forget(readable)
		assert.True(t, reg.reader.ready, "an edge noted as ready stays noted through forget")
	})

	t.Run("every event counts an edge per direction, whether it woke a task or was marked", func(t *testing.T) {
		r := newTestReactor(t)
		reg, fd, peer := settledReg(t, r)
		require.Equal(t, uint32(0), reg.reader.edges, "readable edges so far")
		require.Equal(t, uint32(1), reg.writer.edges, "writable edges so far")
		assert.True(t, reg.quietSince(0), "quiet: no readable edge since 0")

		write(t, peer, "marked")
		_, err := r.wait(-1)
		require.NoError(t, err, "wait")
		assert.Equal(t, uint32(1), reg.reader.edges, "an edge nobody waited for")
		assert.False(t, reg.quietSince(0), "not quiet since 0 any more")
		assert.True(t, reg.quietSince(1), "quiet since 1")

		drain(t, fd)
		reader := testWaker(t, "reader")
		require.True(t, reg.wakeOn(readable, reader), "wakeOn: the marked edge says try again")
		require.False(t, reg.wakeOn(readable, reader), "wakeOn again: now the reader waits")
		write(t, peer, "woke")
		ready, err := r.wait(-1)
		require.NoError(t, err, "wait")
		require.Equal(t, []*Waker{reader}, ready, "wakers")
		assert.Equal(t, uint32(2), reg.reader.edges, "an edge that woke a task counts too")
		assert.False(t, reg.quietSince(1), "not quiet since 1")
	})

	t.Run("a hang-up wakes the reader and the writer, and ends quiet for good", func(t *testing.T) {
		r := newTestReactor(t)
		reg, fd, peer := settledReg(t, r)
		fill(t, fd)
		reader, writer := testWaker(t, "reader"), testWaker(t, "writer")
		require.False(t, reg.wakeOn(readable, reader), "wakeOn reader")
		require.True(t, reg.wakeOn(writable, writer), "wakeOn writer: the first edge is still marked")
		require.False(t, reg.wakeOn(writable, writer), "wakeOn writer again: now it waits")

		require.NoError(t, unix.Close(peer), "the peer closes")
		ready, err := r.wait(-1)
		require.NoError(t, err, "wait")
		assert.ElementsMatch(t, []*Waker{reader, writer}, ready, "both are woken")
		assert.True(t, reg.hungUp, "the registration knows the peer hung up")
		assert.False(t, reg.quietSince(reg.reader.edges), "never quiet again after a hang-up")
	})

	t.Run("a stale event for a reused descriptor number wakes nobody", func(t *testing.T) {
		// The epoll set holds open files, not numbers. Close a registered
		// fd without deregister while a copy of it lives on (here a dup;
		// in life a forked child, or a missed deregister) and its
		// registration stays in the kernel. Give the number to a new
		// socket, and events for the old file arrive under the new
		// socket's number. The generation in the event tells them apart.
		r := newTestReactor(t)
		old, oldPeer := socketpair(t)
		_, err := newReg(r, old)
		require.NoError(t, err, "register old")
		_, err = r.wait(-1) // the old socket's writable edge, while it is still current
		require.NoError(t, err, "wait")
		oldCopy, err := unix.Dup(old)
		require.NoError(t, err, "dup")
		t.Cleanup(closeIfSame(oldCopy))
		require.NoError(t, unix.Close(old), "close old without deregister")

		reused, freshPeer := socketpairAt(t, old)
		reg, err := newReg(r, reused)
		require.NoError(t, err, "register the new socket under the reused number")
		_, err = r.wait(-1) // the new socket's writable edge
		require.NoError(t, err, "wait")
		w := testWaker(t, "new owner of the number")
		require.False(t, reg.wakeOn(readable, w), "wakeOn")

		write(t, oldPeer, "for the old socket")
		ready, err := r.wait(-1)
		require.NoError(t, err, "wait")
		assert.Empty(t, ready, "wakers for an event meant for the old socket")
		assert.Equal(t, int64(1), r.stale, "stale events counted")
		assert.Equal(t, uint32(0), reg.reader.edges, "the new registration heard nothing")

		write(t, freshPeer, "for the new one")
		ready, err = r.wait(-1)
		require.NoError(t, err, "wait")
		assert.Equal(t, []*Waker{w}, ready, "the new socket's own event wakes its task")
		require.NoError(t, r.deregister(reg), "deregister")
		require.NoError(t, unix.Close(oldCopy), "close the copy") // and with it the kernel's old registration
	})

	t.Run("after deregister the descriptor is not reported, and late calls on its handle do nothing", func(t *testing.T) {
		r := newTestReactor(t)
		fd, peer := socketpair(t)
		reg, err := newReg(r, fd)
		require.NoError(t, err, "register")
		require.False(t, reg.wakeOn(readable, testWaker(t, "reader")), "wakeOn")
		require.NoError(t, r.deregister(reg), "deregister")
		assert.True(t, reg.closed, "the handle is marked closed")
		assert.Nil(t, reg.reader.waker, "its wakers are forgotten")
		assert.Nil(t, r.regs[fd], "the number has no registration")

		write(t, peer, "x")
		ready, err := r.wait(nothingReady)
		require.NoError(t, err, "wait")
		assert.Empty(t, ready, "wakers")
		assert.Equal(t, int64(0), r.nready, "events")
		assert.NoError(t, r.deregister(reg), "deregister twice is harmless")
		late := testWaker(t, "late")
		assert.True(t, reg.wakeOn(readable, late), "wakeOn on a closed handle: try again, and find it closed")
		assert.Nil(t, reg.reader.waker, "no waker is left on a closed handle")
		reg.forget(readable) // must not panic or touch anything
	})

	t.Run("deregistering an old handle leaves the number's new registration alone", func(t *testing.T) {
		r := newTestReactor(t)
		fd, _ := socketpair(t)
		oldReg, err := newReg(r, fd)
		require.NoError(t, err, "register")
		require.NoError(t, r.deregister(oldReg), "deregister")
		newReg, err := newReg(r, fd)
		require.NoError(t, err, "register again")
		require.NoError(t, r.deregister(oldReg), "deregister the old handle again")
		assert.Same(t, newReg, r.regs[fd], "the new registration is still the number's")
		assert.False(t, newReg.closed, "and still open")
	})

	t.Run("registering the same descriptor twice is an error", func(t *testing.T) {
		r := newTestReactor(t)
		fd, _ := socketpair(t)
		_, err := newReg(r, fd)
		require.NoError(t, err, "register")
		_, err = newReg(r, fd)
		assert.ErrorIs(t, err, unix.EEXIST, "register again")
	})

	t.Run("a burst of notify from many goroutines costs one eventfd write, and is drained", func(t *testing.T) {
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
					r.notify()
				}
			}()
		}
		start.Done()
		done.Wait()
		assert.Equal(t, int64(1), r.notifies.Load(), "eventfd writes for the burst")

		ready, err := r.wait(-1)
		require.NoError(t, err, "wait")
		assert.Empty(t, ready, "the eventfd wakes the loop, not a task")
		assert.Equal(t, int64(1), r.drained, "drains")
		assert.Equal(t, int64(0), r.nready, "the eventfd is not counted as a ready descriptor")
		waits := r.waits
		ready, err = r.wait(nothingReady)
		require.NoError(t, err, "wait after the drain")
		assert.Empty(t, ready, "wakers")
		assert.Equal(t, int64(1), r.drained, "the drained eventfd does not fire again: no spin")
		assert.Equal(t, waits+1, r.waits, "epoll_wait calls")

		r.notify()
		assert.Equal(t, int64(2), r.notifies.Load(), "after a drain the next notify writes again")
		_, err = r.wait(-1)
		require.NoError(t, err, "wait")
		assert.Equal(t, int64(2), r.drained, "drains")
	})

	t.Run("a signal during epoll_wait (EINTR) is not an error", func(t *testing.T) {
		r := newTestReactor(t)
		reg, _, peer := settledReg(t, r)
		w := testWaker(t, "reader")
		require.False(t, reg.wakeOn(readable, w), "wakeOn")
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
		ready, err := r.wait(nothingReady)
		require.NoError(t, err, "wait with a timeout while signals arrive")
		assert.Empty(t, ready, "a timed wait interrupted by a signal returns as a timeout")

		ready, err = r.wait(-1)
		stop.Store(true)
		require.NoError(t, <-done, "write")
		require.NoError(t, err, "wait with no timeout while signals arrive")
		assert.Equal(t, []*Waker{w}, ready, "an untimed wait goes on until a descriptor is ready")
	})
}

// settledReg registers one end of a fresh socket pair with r and takes its
// first edge (a fresh socket is writable at once), so that the next event
// is the one the test makes. It returns the registration, the registered
// end and its peer.
func settledReg(t *testing.T, r *reactor) (*registration, int, int) {
	t.Helper()
	fd, peer := socketpair(t)
	reg, err := newReg(r, fd)
	require.NoError(t, err, "register")
	_, err = r.wait(-1)
	require.NoError(t, err, "wait for the writable edge")
	return reg, fd, peer
}
