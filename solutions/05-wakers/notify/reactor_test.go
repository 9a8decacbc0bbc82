//go:build linux

package notify

import (
	"encoding/binary"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The tests look at the eventfd the way the kernel sees it: they read its
// counter themselves, which says how many writes reached it, and count the
// epoll_wait calls that returned. Wait never blocks a test for long: when a
// Notify is pending it returns at once; when none is, it waits quiet, which
// is short.
const (
	// quiet is how long a Wait with nothing to report waits, to show that
	// nothing comes: long enough to see a spinning loop go round
	// thousands of times, short enough to keep the tests quick.
	quiet = 50 * time.Millisecond
	// patience bounds a Wait that must return at once because a Notify is
	// pending: it needs microseconds, so 5 s is far beyond that on any
	// machine, and a lost Notify fails the test instead of hanging it.
	patience = 5 * time.Second
	// holdOff bounds how long a test's hook holds one Notify in a window
	// while another goes through. It is only reached when a correct
	// Notify serialises the two with a lock (the other one waits for it),
	// which is as good as an atomic step; then the hook lets go.
	holdOff = 500 * time.Millisecond
)

func TestNotify(t *testing.T) {
	t.Run("one Notify adds 1 to the eventfd's counter", func(t *testing.T) {
		r := newTestReactor(t)
		r.Notify()
		assert.Equal(t, int64(1), counter(t, r), "the eventfd's counter after one Notify: the number 1, as 8 bytes in the "+
			"machine's byte order (72057594037927936 is 1<<56: a 1 put in the wrong end)")
	})

	t.Run("a burst of Notify from 8 goroutines, 1000 each, costs one write", func(t *testing.T) {
		r := newTestReactor(t)
		// Round after round, since what a burst gets wrong is two calls
		// that collide at its very start. Between rounds the test drains
		// the eventfd itself, as Wait would: it reads the counter, then
		// clears the flag.
		const rounds, goroutines, each = 50, 8, 1000
		for round := range rounds {
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
			if !assert.Equal(t, int64(1), counter(t, r), "the eventfd's counter after %d calls of Notify, in round %d: "+
				"one per write, and a burst costs one write, by the call that sets r.notified", goroutines*each, round+1) {
				break
			}
			r.notified.Store(false)
		}
	})

	t.Run("a second Notify between the first one's read of notified and its update does not write again", func(t *testing.T) {
		// The flag's hook runs right after the first Notify has read
		// notified (false), before it acts on what it read. There a second
		// Notify runs from start to end, on another goroutine. A Notify
		// that reads, then sets, lets both write; one atomic swap lets
		// exactly one through.
		r := newTestReactor(t)
		var hooked atomic.Bool
		second := make(chan any, 1) // what the second Notify panicked with, or nil
		r.notified.afterLoad = func() {
			if !hooked.CompareAndSwap(false, true) {
				return // the second Notify's own read: no hook for it
			}
			go func() {
				defer func() { second <- recover() }()
				r.Notify()
			}()
			select {
			case p := <-second:
				second <- p // for the test below
			case <-time.After(holdOff):
				// The second Notify waits for a lock the first one holds:
				// they are serialised, which is as good as a swap.
			}
		}

		r.Notify()
		if hooked.Load() {
			select {
			case p := <-second:
				require.Nil(t, p, "the second Notify panicked")
			case <-time.After(patience):
				require.FailNow(t, "the second Notify did not return")
			}
		}
		r.notified.afterLoad = nil
		assert.Equal(t, int64(1), counter(t, r), "the eventfd's counter after two calls of Notify, the second of which ran "+
			"between the first one's Load of r.notified and its Store: both saw false, and both wrote. "+
			"Read and set in one step: CompareAndSwap")
	})

	t.Run("Wait returns for a Notify, and drains the eventfd", func(t *testing.T) {
		r := newTestReactor(t)
		r.Notify()
		require.True(t, readable(t, r), "the eventfd after Notify: readable if a write reached it (a write to an eventfd is exactly 8 bytes; fewer fail with EINVAL)")
		notified, err := r.Wait(patience)
		require.NoError(t, err, "Wait")
		assert.True(t, notified, "Wait after a Notify reports it")
		assert.Equal(t, int64(0), counter(t, r), "the eventfd's counter after Wait: drained, with r.readCounter")
		assert.False(t, r.notified.Load(), "r.notified after the drain: cleared, or every later Notify is skipped")
	})

	t.Run("after the drain the eventfd is quiet: a loop that waits does not spin", func(t *testing.T) {
		r := newTestReactor(t)
		notifyAndWait(t, r)

		// What the executor's loop does when nobody can run: wait again,
		// and again, until its deadline. With the eventfd drained, the
		// first epoll_wait sleeps until the deadline. Left undrained, it
		// would be reported readable at once, every time: a busy loop.
		waits, spurious := r.waits, 0
		deadline := time.Now().Add(quiet)
		for left := time.Until(deadline); left > 0; left = time.Until(deadline) {
			notified, err := r.Wait(left)
			require.NoError(t, err, "Wait")
			if notified {
				spurious++
			}
		}
		assert.Equal(t, 0, spurious, "Waits that reported a Notify within %v of the drain, with nobody calling Notify: "+
			"an eventfd left undrained stays readable, level-triggered, and every epoll_wait returns at once", quiet)
		assert.Equal(t, int64(1), r.waits-waits, "epoll_wait calls that returned within %v of the drain", quiet)
	})

	t.Run("after a drain, the next Notify writes again", func(t *testing.T) {
		r := newTestReactor(t)
		notifyAndWait(t, r)

		r.Notify()
		assert.Equal(t, int64(1), counter(t, r), "the eventfd's counter after a Notify that follows a drain: "+
			"the drain clears r.notified, so the next Notify writes again")
	})

	t.Run("a Notify that lands during the drain, before the read, is not lost and writes nothing", func(t *testing.T) {
		// beforeRead runs in the drain just before it reads the counter.
		// A Notify lands there: another goroutine woke a task while the
		// loop was draining. Whichever way the drain is written, the loop
		// wakes for it, since it is awake already. What must not happen is
		// that the flag and the counter disagree afterwards.
		r := newTestReactor(t)
		landed := false
		r.beforeRead = func() {
			r.beforeRead = nil
			landed = true
			r.Notify()
		}
		notifyAndWait(t, r)
		require.True(t, landed, "the drain read the counter with r.readCounter, where the test lands its Notify")
		assert.Equal(t, int64(0), counter(t, r), "the eventfd's counter after the drain")
		assert.False(t, r.notified.Load(), "r.notified after the drain: set, with an empty counter, every later Notify would be skipped")

		// The proof: a later Notify, from another goroutine, must still
		// reach the eventfd and end a Wait.
		sent := make(chan struct{})
		go func() { r.Notify(); close(sent) }()
		<-sent
		require.True(t, readable(t, r), "the eventfd after a later Notify: not readable, so the Notify wrote nothing and the loop would sleep on")
		notified, err := r.Wait(patience)
		require.NoError(t, err, "Wait")
		assert.True(t, notified, "Wait after a later Notify reports it")
	})

	t.Run("round after round, a burst of Notify from many goroutines always ends the Wait", func(t *testing.T) {
		r := newTestReactor(t)
		// First, one by one, so that a Notify that cannot write twice
		// fails here, at once, rather than after patience in a round.
		notifyAndWait(t, r)
		notifyAndWait(t, r)
		const rounds, goroutines = 200, 8
		for round := range rounds {
			var start, done sync.WaitGroup
			start.Add(1)
			for range goroutines {
				done.Add(1)
				go func() {
					defer done.Done()
					start.Wait()
					r.Notify()
				}()
			}
			start.Done() // the burst races with the Wait below, and with its drain
			notified := waitNotified(t, r)
			done.Wait()
			if !assert.True(t, notified, "Waits in round %d report the burst (none did in %v: it was lost)", round+1, patience) {
				break
			}
		}
	})

	t.Run("with no Notify, Wait times out and reports nothing", func(t *testing.T) {
		r := newTestReactor(t)
		notified, err := r.Wait(quiet)
		require.NoError(t, err, "Wait")
		assert.False(t, notified, "Wait with no Notify")
	})
}

// newTestReactor makes a reactor that is closed when the test ends, and
// checks then that every descriptor it opened is closed again.
func newTestReactor(t *testing.T) *Reactor {
	t.Helper()
	before := openFDs(t)
	r, err := NewReactor()
	require.NoError(t, err, "NewReactor")
	t.Cleanup(func() {
		require.NoError(t, r.Close(), "Close")
		assert.Equal(t, before, openFDs(t), "open descriptors after Close (more would be a leak)")
	})
	return r
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err, "reading /proc/self/fd")
	return len(entries)
}

// notifyAndWait calls Notify, then Wait, as a goroutine waking a task and
// the loop would; it requires that the write reached the eventfd and that
// Wait reported it.
func notifyAndWait(t *testing.T, r *Reactor) {
	t.Helper()
	r.Notify()
	require.True(t, readable(t, r), "the eventfd after Notify: readable if a write reached it (a write to an eventfd is exactly 8 bytes; fewer fail with EINVAL)")
	notified, err := r.Wait(patience)
	require.NoError(t, err, "Wait")
	require.True(t, notified, "Wait after a Notify reports it")
}

// waitNotified calls Wait until one reports a Notify, or patience has
// passed, as the executor's loop would. A Wait that sleeps can end early
// with nothing to report: a signal interrupted epoll_wait (Go's scheduler
// sends SIGURG to preempt goroutines, and a burst of new goroutines makes
// that likely), and Wait returns as a timeout would, with time left. A lost
// Notify is still lost: every Wait until patience runs out reports nothing.
func waitNotified(t *testing.T, r *Reactor) bool {
	t.Helper()
	deadline := time.Now().Add(patience)
	for left := patience; left > 0; left = time.Until(deadline) {
		notified, err := r.Wait(left)
		require.NoError(t, err, "Wait")
		if notified {
			return true
		}
	}
	return false
}

// readable asks the kernel whether the eventfd's counter is above zero,
// without reading it: poll with a timeout of 0 returns at once.
func readable(t *testing.T, r *Reactor) bool {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(r.efd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		require.NoError(t, err, "poll the eventfd")
		return n == 1 && fds[0].Revents&unix.POLLIN != 0
	}
}

// counter reads the eventfd's counter, as the kernel keeps it: how many
// writes (of 1) reached it since it was last read. Reading sets it to
// zero, as a drain does; an empty counter reads as 0.
func counter(t *testing.T, r *Reactor) int64 {
	t.Helper()
	var buf [8]byte
	for {
		_, err := unix.Read(r.efd, buf[:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			return 0
		}
		require.NoError(t, err, "read the eventfd")
		return int64(binary.NativeEndian.Uint64(buf[:]))
	}
}
