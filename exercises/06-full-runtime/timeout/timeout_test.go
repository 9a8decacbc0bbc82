package timeout

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests never sleep. The runtime's clock is fake: rt.advance(d) moves
// it and fires the timers that are due, as the chapter's loop does after
// epoll_wait. f is a probe, a future that is Ready at the poll a test
// chooses and records how Timeout treats it. Each test polls the Timeout
// by hand with a Context whose Waker counts how often the timers wake the
// task.

// probe is a future that is Pending until its readyAt-th poll (for ever,
// if readyAt is 0), then Ready with value.
type probe struct {
	readyAt int
	value   string

	polls          int
	waker          *Waker // the waker of the last poll
	ready          bool   // it returned Ready
	dropped        bool   // Drop was called before it returned Ready
	pollsAfterDrop int
}

func (p *probe) Poll(cx *Context) Poll[string] {
	if p.dropped {
		p.pollsAfterDrop++
	}
	p.polls++
	p.waker = cx.Waker
	if p.readyAt > 0 && p.polls >= p.readyAt {
		p.ready = true
		return Ready(p.value)
	}
	return Pending[string]()
}

// Drop of a finished future does nothing, by the contract in future.go.
func (p *probe) Drop() {
	if !p.ready {
		p.dropped = true
	}
}

// pollOnce polls f once with the Context of the task whose waker is w.
func pollOnce[T any](f Future[T], w *Waker) (T, bool) {
	return f.Poll(&Context{Waker: w}).Value()
}

func TestTimeout(t *testing.T) {
	t.Run("f finishes first: its value, and the timer is cancelled", func(t *testing.T) {
		rt, w := NewRuntime(), &Waker{}
		f := &probe{readyAt: 3, value: "hello"}
		to := Timeout(rt, time.Second, Future[string](f))
		for i := 1; i <= 2; i++ {
			_, ok := pollOnce(to, w)
			require.False(t, ok, "Timeout's poll %d: f is not ready yet, and there is time left", i)
			rt.advance(100 * time.Millisecond)
		}
		r, ok := pollOnce(to, w)
		require.True(t, ok, "Timeout's poll 3: f is Ready at its 3rd poll")
		assert.Equal(t, Result[string]{Value: "hello"}, r, "Timeout's result")
		assert.Equal(t, 3, f.polls, "polls of f: one per poll of Timeout")
		assert.Same(t, w, f.waker, "the waker f was polled with: the task's, from the Context")
		assert.Equal(t, 0, rt.timers.len(), "timers left after f won: drop the Sleep, which cancels its timer")
		rt.advance(time.Hour)
		assert.Equal(t, 0, w.wakes, "wakes of the task after f won, once the limit has passed: a timer left behind wakes it for nothing")
	})

	t.Run("f ready at its first poll: Ready at once, and no timer is left", func(t *testing.T) {
		rt, w := NewRuntime(), &Waker{}
		to := Timeout(rt, time.Second, Future[string](&probe{readyAt: 1, value: "now"}))
		r, ok := pollOnce(to, w)
		require.True(t, ok, "Timeout's first poll: f is Ready at its first")
		assert.Equal(t, Result[string]{Value: "now"}, r, "Timeout's result")
		assert.Equal(t, 0, rt.timers.len(), "timers left after f won")
	})

	t.Run("the time runs out: ErrTimeout, which matches os.ErrDeadlineExceeded, and f is dropped", func(t *testing.T) {
		rt, w := NewRuntime(), &Waker{}
		f := &probe{} // never Ready
		to := Timeout(rt, 10*time.Millisecond, Future[string](f))
		_, ok := pollOnce(to, w)
		require.False(t, ok, "Timeout's first poll")
		require.Equal(t, 1, rt.timers.len(), "timers after the first poll: the Sleep set one")

		rt.advance(10*time.Millisecond - time.Nanosecond)
		assert.Equal(t, 0, w.wakes, "wakes of the task a nanosecond before the limit")
		rt.advance(time.Nanosecond)
		assert.Equal(t, 1, w.wakes, "wakes of the task when the limit is reached: the timer wakes the waker the Sleep "+
			"was polled with, which must be the task's, from the Context")

		r, ok := pollOnce(to, w)
		require.True(t, ok, "Timeout's poll after the timer woke the task")
		assert.ErrorIs(t, r.Err, ErrTimeout, "Timeout's error")
		assert.ErrorIs(t, r.Err, os.ErrDeadlineExceeded, "Timeout's error matches os.ErrDeadlineExceeded, as the net package's timeouts do")
		assert.Equal(t, "", r.Value, "Timeout's value, with the error")
		assert.True(t, f.dropped, "f dropped when the time ran out: the loser is dropped at once, and lets go of what it holds")
		assert.Equal(t, 0, rt.timers.len(), "timers left after the timeout")
	})

	t.Run("after Ready, another poll panics and polls neither f nor the Sleep", func(t *testing.T) {
		rt, w := NewRuntime(), &Waker{}
		won := &probe{readyAt: 1, value: "won"}
		first := Timeout(rt, time.Second, Future[string](won))
		_, ok := pollOnce(first, w)
		require.True(t, ok, "Timeout's first poll: f is Ready at its first")
		assert.PanicsWithValue(t, "Timeout: polled after it returned Ready", func() { pollOnce(first, w) },
			"poll of a Timeout that returned f's value")
		assert.Equal(t, 1, won.polls, "polls of f")

		lost := &probe{}
		second := Timeout(rt, 0, Future[string](lost))
		_, ok = pollOnce(second, w)
		require.True(t, ok, "Timeout's first poll: a limit of 0 has run out")
		assert.PanicsWithValue(t, "Timeout: polled after it returned Ready", func() { pollOnce(second, w) },
			"poll of a Timeout that returned ErrTimeout")
		assert.Equal(t, 0, lost.pollsAfterDrop, "polls of f after it was dropped")
	})

	t.Run("the limit counts from the call to Timeout, not from the first poll", func(t *testing.T) {
		rt, w := NewRuntime(), &Waker{}
		f := &probe{}
		to := Timeout(rt, 10*time.Millisecond, Future[string](f))
		rt.advance(10 * time.Millisecond) // the task is not polled for a while: others run first
		r, ok := pollOnce(to, w)
		require.True(t, ok, "the first poll of a Timeout made 10 ms ago, with a limit of 10 ms: the time is up, "+
			"since the limit counts from the call to Timeout, not from the first poll")
		assert.ErrorIs(t, r.Err, ErrTimeout, "Timeout's error")
		assert.Equal(t, 1, f.polls, "polls of f: the one chance the first poll gives it")
		assert.True(t, f.dropped, "f dropped when the time ran out: the loser is dropped at once")
	})

	t.Run("polling again does not restart the clock, or set another timer", func(t *testing.T) {
		rt, w := NewRuntime(), &Waker{}
		f := &probe{}
		to := Timeout(rt, 10*time.Millisecond, Future[string](f))
		for i := 1; i <= 4; i++ {
			_, ok := pollOnce(to, w)
			require.False(t, ok, "Timeout's poll %d, after %d ms of a 10 ms limit", i, 3*(i-1))
			assert.Equal(t, 1, rt.timers.len(), "timers after poll %d: one, however often Timeout is polled "+
				"(a new Sleep at each poll restarts the clock and leaves a timer behind)", i)
			rt.advance(3 * time.Millisecond)
		}
		assert.Equal(t, 1, w.wakes, "wakes of the task at 12 ms, with a limit of 10 ms")
		r, ok := pollOnce(to, w)
		require.True(t, ok, "Timeout's poll at 12 ms, with a limit of 10 ms")
		assert.ErrorIs(t, r.Err, ErrTimeout, "Timeout's error")
	})

	t.Run("f ready in the same poll in which the time runs out wins", func(t *testing.T) {
		rt, w := NewRuntime(), &Waker{}
		f := &probe{readyAt: 2, value: "just in time"}
		to := Timeout(rt, 10*time.Millisecond, Future[string](f))
		_, ok := pollOnce(to, w)
		require.False(t, ok, "Timeout's first poll")
		rt.advance(10 * time.Millisecond) // both are ready now: f at its next poll, and the limit
		r, ok := pollOnce(to, w)
		require.True(t, ok, "Timeout's second poll")
		assert.Equal(t, Result[string]{Value: "just in time"}, r, "Timeout's result: f is polled first, and its finished work is not thrown away")
		assert.False(t, f.dropped, "f dropped")
	})

	t.Run("a limit of 0, or less, still gives f one poll", func(t *testing.T) {
		for _, d := range []time.Duration{0, -time.Second} {
			rt, w := NewRuntime(), &Waker{}
			quick := &probe{readyAt: 1, value: "quick"}
			r, ok := pollOnce(Timeout(rt, d, Future[string](quick)), w)
			require.True(t, ok, "first poll of Timeout(%v) of a future that is Ready at once", d)
			assert.Equal(t, Result[string]{Value: "quick"}, r, "result of Timeout(%v) of a future that is Ready at once", d)

			slow := &probe{}
			r, ok = pollOnce(Timeout(rt, d, Future[string](slow)), w)
			require.True(t, ok, "first poll of Timeout(%v) of a future that is not Ready: the time is up already", d)
			assert.ErrorIs(t, r.Err, ErrTimeout, "result of Timeout(%v) of a future that is not Ready", d)
			assert.Equal(t, 1, slow.polls, "polls of f in Timeout(%v)", d)
			assert.True(t, slow.dropped, "f dropped by Timeout(%v)", d)
			assert.Equal(t, 0, rt.timers.len(), "timers left by Timeout(%v)", d)
		}
	})
}

func TestTimeoutDrop(t *testing.T) {
	t.Run("dropping a running Timeout drops f and cancels the timer", func(t *testing.T) {
		rt, w := NewRuntime(), &Waker{}
		f := &probe{}
		to := Timeout(rt, 10*time.Millisecond, Future[string](f))
		_, ok := pollOnce(to, w)
		require.False(t, ok, "Timeout's first poll")
		require.Equal(t, 1, rt.timers.len(), "timers after the first poll")

		require.NotPanics(t, func() { drop(to) }, "Drop of a running Timeout")
		assert.True(t, f.dropped, "f dropped with the Timeout")
		assert.Equal(t, 0, rt.timers.len(), "timers left after the Timeout was dropped")
		rt.advance(time.Hour)
		assert.Equal(t, 0, w.wakes, "wakes of the task, once the limit of the dropped Timeout has passed")
		assert.NotPanics(t, func() { drop(to) }, "a second Drop")
	})

	t.Run("dropping a Timeout that has finished does nothing", func(t *testing.T) {
		rt, w := NewRuntime(), &Waker{}
		to := Timeout(rt, 0, Future[string](&probe{}))
		_, ok := pollOnce(to, w)
		require.True(t, ok, "Timeout's first poll: a limit of 0 has run out")
		assert.NotPanics(t, func() { drop(to) }, "Drop of a Timeout that returned Ready")
	})

	t.Run("when an outer Timeout runs out, the inner one is dropped, with its f and its timer", func(t *testing.T) {
		rt, w := NewRuntime(), &Waker{}
		f := &probe{}
		inner := Timeout(rt, time.Second, Future[string](f))
		outer := Timeout(rt, 10*time.Millisecond, inner)
		_, ok := pollOnce(outer, w)
		require.False(t, ok, "the outer Timeout's first poll")
		require.Equal(t, 2, rt.timers.len(), "timers after the first poll: the inner's and the outer's")

		rt.advance(10 * time.Millisecond)
		r, ok := pollOnce(outer, w)
		require.True(t, ok, "the outer Timeout's poll after its limit")
		assert.ErrorIs(t, r.Err, ErrTimeout, "the outer Timeout's error")
		assert.True(t, f.dropped, "f dropped: the outer Timeout dropped the inner one, which dropped f")
		assert.Equal(t, 0, rt.timers.len(), "timers left: the inner Timeout's timer must go with it")
	})

	t.Run("when an inner Timeout runs out first, the outer one returns its result and cancels its own timer", func(t *testing.T) {
		// The chapter's echo session wraps a ReadLine, which returns a
		// Result of its own, in a Timeout: the result in a result.
		rt, w := NewRuntime(), &Waker{}
		f := &probe{}
		inner := Timeout(rt, 10*time.Millisecond, Future[string](f))
		outer := Timeout(rt, time.Second, inner)
		_, ok := pollOnce(outer, w)
		require.False(t, ok, "the outer Timeout's first poll")

		rt.advance(10 * time.Millisecond)
		r, ok := pollOnce(outer, w)
		require.True(t, ok, "the outer Timeout's poll after the inner limit")
		assert.NoError(t, r.Err, "the outer Timeout's own error: its time is not up")
		assert.ErrorIs(t, r.Value.Err, ErrTimeout, "the inner Timeout's error, the outer one's value")
		assert.True(t, f.dropped, "f dropped by the inner Timeout")
		assert.Equal(t, 0, rt.timers.len(), "timers left: the outer Timeout cancels its own when the inner one wins")
	})
}
