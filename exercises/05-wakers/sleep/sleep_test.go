package sleep

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Most tests run on a fake clock (helpers_test.go): the test moves the
// time, and a timer's function runs only when the test lets it. They poll
// the Sleep by hand with the waker of a task that is never run, and count
// that task's wakes. TestSleepUnderTheExecutor lets the executor drive it,
// on the fake clock and then on the real one.

func TestSleep(t *testing.T) {
	t.Run("it is Pending until its time, and Ready once its timer has fired, which wakes the task once", func(t *testing.T) {
		c := useFakeClock(t)
		ex := NewExecutor()
		a := task(ex, "a")
		s := Sleep(10 * time.Millisecond)

		require.False(t, poll(t, s, a, "the first poll"), "the first poll, at 0 of 10 ms")
		assert.Equal(t, int64(0), a.wakes.Load(), "wakes of the task by its own poll (a Sleep that wakes its own "+
			"task at each poll is polled again and again: a busy loop)")
		tm := c.only(t)
		assert.Equal(t, start.Add(10*time.Millisecond), tm.at, "when the timer comes due: at the deadline, 10 ms after Sleep was called")
		c.advance(9 * time.Millisecond)
		assert.False(t, poll(t, s, a, "a poll at 9 ms"), "a poll at 9 ms of 10: not Ready early")
		assert.Equal(t, int64(0), a.wakes.Load(), "wakes of the task at 9 ms, before its time")
		c.advance(time.Millisecond)
		assert.Equal(t, int64(1), a.wakes.Load(), "wakes of the task at 10 ms: the timer's function wakes it")
		assert.True(t, poll(t, s, a, "the poll after the wake"), "the poll after the wake, at 10 ms")
		assert.Equal(t, 1, c.count(), "timers started, in all")
		assert.Equal(t, 0, c.waiting(), "timers still waiting after Ready")
	})

	t.Run("a poll is not a wake: polled again and again before its time, it stays Pending, with one timer", func(t *testing.T) {
		c := useFakeClock(t)
		ex := NewExecutor()
		a := task(ex, "a")
		s := Sleep(10 * time.Millisecond)
		for i := 1; i <= 5; i++ {
			assert.False(t, poll(t, s, a, "a spurious poll"), "poll %d, at %d ms of 10: futures are polled when "+
				"nothing happened for them too, and a poll before the deadline is not Ready", i, i-1)
			c.advance(time.Millisecond)
		}
		assert.Equal(t, 1, c.count(), "timers started by 5 polls: one per Sleep, however often it is polled")
		c.advance(5 * time.Millisecond)
		assert.Equal(t, int64(1), a.wakes.Load(), "wakes of the task, once its time has come: one per Sleep")
		assert.True(t, poll(t, s, a, "the poll after the wake"), "the poll after the wake")
	})

	t.Run("its time counts from the call to Sleep, and a Sleep whose time has passed is Ready at once, with no timer", func(t *testing.T) {
		c := useFakeClock(t)
		ex := NewExecutor()
		a := task(ex, "a")
		s := Sleep(10 * time.Millisecond)
		c.advance(10 * time.Millisecond) // the task is not polled for a while: others run first
		assert.True(t, poll(t, s, a, "the first poll"), "the first poll of a Sleep made 10 ms ago, of 10 ms: "+
			"its time counts from the call to Sleep, not from the first poll")
		for _, d := range []time.Duration{0, -time.Second} {
			assert.True(t, poll(t, Sleep(d), a, "the first poll"), "the first poll of Sleep(%v)", d)
		}
		assert.Equal(t, 0, c.count(), "timers started for Sleeps whose time had passed at their first poll: "+
			"none is needed")

		s = Sleep(10 * time.Millisecond) // at 10 ms: due at 20 ms
		c.advance(4 * time.Millisecond)
		require.False(t, poll(t, s, a, "the first poll"), "the first poll, at 14 ms, of a Sleep due at 20 ms")
		tm := c.only(t)
		assert.Equal(t, start.Add(20*time.Millisecond), tm.at, "when the timer comes due: at the deadline, 10 ms "+
			"after Sleep was called, not 10 ms after the first poll (start it for the time left)")
	})

	t.Run("polled by another task before it fires, it wakes the latest waker, and only that one", func(t *testing.T) {
		c := useFakeClock(t)
		ex := NewExecutor()
		a, b := task(ex, "a"), task(ex, "b")
		s := Sleep(10 * time.Millisecond)
		require.False(t, poll(t, s, a, "the poll by task a"), "the poll by task a, at 0 ms")
		c.advance(time.Millisecond)
		require.False(t, poll(t, s, b, "the poll by task b"), "the poll by task b, at 1 ms: the future has moved to b")
		c.advance(9 * time.Millisecond)
		assert.Equal(t, int64(1), b.wakes.Load(), "wakes of task b, which polled last: the timer wakes the waker of the latest poll")
		assert.Equal(t, int64(0), a.wakes.Load(), "wakes of task a, which polled first and has moved on: a stale waker "+
			"wakes the wrong task, and the one that waits sleeps for ever")
		assert.Equal(t, 1, c.count(), "timers started, in all")
	})

	t.Run("a poll from another task while the timer's function runs shares their state without a data race", func(t *testing.T) {
		// Run with -race. Two goroutines, released together: one polls
		// the Sleep with task b's waker, the other runs the timer's
		// function, as the timer's goroutine would. Nothing orders them
		// but what the Sleep itself uses: a mutex, or atomics. Plain
		// fields shared between them are a data race, which the race
		// detector reports whichever goroutine happens to go first.
		c := useFakeClock(t)
		ex := NewExecutor()
		for round := 1; round <= 20; round++ {
			a, b := task(ex, "a"), task(ex, "b")
			before := c.count()
			s := Sleep(10 * time.Millisecond)
			require.False(t, poll(t, s, a, "the poll by task a"), "the poll by task a, in round %d", round)
			require.Equal(t, before+1, c.count(), "timers started by the poll of round %d", round)
			tm := c.timers[before]
			tm.expire()
			var pending atomic.Bool
			p := together(
				func() { pending.Store(!s.Poll(&b.cx).IsReady()) },
				tm.f,
			)
			require.Nil(t, p, "a poll of the Sleep and its timer's function, at once, in round %d: a panic", round)
			if !assert.Equal(t, int64(1), a.wakes.Load()+b.wakes.Load(), "wakes of task a and task b, in round %d: "+
				"one timer, one wake", round) {
				break
			}
			if pending.Load() {
				c.set(10 * time.Millisecond * time.Duration(round))
				assert.True(t, poll(t, s, b, "the poll after the wake"), "the poll after the wake, in round %d", round)
			}
			c.set(10 * time.Millisecond * time.Duration(round))
		}
	})

	t.Run("after Drop it leaves no timer waiting, and wakes nobody", func(t *testing.T) {
		c := useFakeClock(t)
		ex := NewExecutor()
		a := task(ex, "a")
		s := Sleep(time.Hour)
		require.False(t, poll(t, s, a, "the first poll"), "the first poll")
		require.NotPanics(t, func() { drop(s) }, "Drop")
		assert.Equal(t, 0, c.waiting(), "timers still waiting after Drop: stop the timer, or it holds the task's "+
			"waker until its time comes, an hour from now")
		c.advance(time.Hour)
		assert.Equal(t, int64(0), a.wakes.Load(), "wakes of the task after Drop")
		assert.NotPanics(t, func() { drop(s) }, "a second Drop")
	})

	t.Run("dropped after its timer's time has come, before the timer's function has run, it wakes nobody", func(t *testing.T) {
		// The timer's goroutine is on its way: Stop returns false, and the
		// function runs after Drop has returned. It must see that the
		// Sleep was dropped.
		c := useFakeClock(t)
		ex := NewExecutor()
		a := task(ex, "a")
		s := Sleep(10 * time.Millisecond)
		require.False(t, poll(t, s, a, "the first poll"), "the first poll")
		tm := c.only(t)
		tm.expire()
		require.NotPanics(t, func() { drop(s) }, "Drop")
		elsewhere(tm.f)
		assert.Equal(t, int64(0), a.wakes.Load(), "wakes of the task by a timer's function that ran after Drop "+
			"(Stop had returned false): it must check that the Sleep was dropped, and wake nobody")
	})

	t.Run("at its deadline it is Ready even if its timer has not run yet, and then the timer wakes nobody", func(t *testing.T) {
		c := useFakeClock(t)
		ex := NewExecutor()
		a := task(ex, "a")

		s := Sleep(10 * time.Millisecond)
		require.False(t, poll(t, s, a, "the first poll"), "the first poll")
		c.set(10 * time.Millisecond) // the deadline has passed; the timer has not come due yet
		assert.True(t, poll(t, s, a, "the poll at the deadline"), "the poll at 10 ms of 10, before the timer's goroutine "+
			"has run: read the clock, not only the timer")
		assert.Equal(t, 0, c.waiting(), "timers still waiting after Ready: stop the timer, or it wakes the task later for nothing")

		s = Sleep(10 * time.Millisecond)
		require.False(t, poll(t, s, a, "the first poll of a second Sleep"), "the first poll of a second Sleep")
		tm := c.timers[len(c.timers)-1]
		c.set(20 * time.Millisecond)
		tm.expire()
		assert.True(t, poll(t, s, a, "the poll at the deadline"), "the poll of the second Sleep at its deadline")
		before := a.wakes.Load()
		elsewhere(tm.f)
		assert.Equal(t, before, a.wakes.Load(), "wakes of the task by a timer's function that ran after the Sleep "+
			"was Ready: it must wake nobody")
	})

	t.Run("polled after Ready, it panics", func(t *testing.T) {
		useFakeClock(t)
		ex := NewExecutor()
		a := task(ex, "a")
		s := Sleep(0)
		require.True(t, poll(t, s, a, "the first poll"), "the first poll of Sleep(0)")
		assert.PanicsWithValue(t, "Sleep: polled after it returned Ready", func() { s.Poll(&a.cx) }, "a poll after Ready")
		assert.NotPanics(t, func() { drop(s) }, "Drop after Ready")
	})
}

// sleeper is a task's future: it makes a Sleep at its first poll, awaits
// it, and notes when, by the package's clock, it was Ready.
type sleeper struct {
	d     time.Duration
	s     Future[struct{}]
	polls int
	at    time.Time // when the Sleep was made
	ready time.Time // when it was Ready
}

func (f *sleeper) Poll(cx *Context) Poll[struct{}] {
	f.polls++
	if f.s == nil {
		f.at = now()
		f.s = Sleep(f.d)
	}
	if !f.s.Poll(cx).IsReady() {
		return Pending[struct{}]()
	}
	f.ready = now()
	return Ready(struct{}{})
}

func TestSleepUnderTheExecutor(t *testing.T) {
	t.Run("the timer's function wakes the task from another goroutine, and the loop, asleep, runs it", func(t *testing.T) {
		c := useFakeClock(t)
		ex := NewExecutor()
		f := &sleeper{d: 10 * time.Millisecond}
		tk := Spawn(ex, "sleeper", Future[struct{}](f))
		over := make(chan struct{})
		moved := make(chan struct{})
		go func() {
			// Once the timer is started, move the clock: the timer's
			// function runs on a goroutine of its own, while the loop
			// sleeps, or is about to.
			defer close(moved)
			select {
			case <-c.first:
				c.advance(10 * time.Millisecond)
			case <-over: // no timer was ever started: the test has failed
			}
		}()

		finishes(t, ex)
		close(over)
		<-moved
		assert.Equal(t, 2, f.polls, "polls of the task: Pending, then Ready after the wake")
		assert.Equal(t, int64(1), tk.wakes.Load(), "wakes of the task")
	})

	t.Run("with the real clock, each task is Ready at its time, not before", func(t *testing.T) {
		ex := NewExecutor()
		var sleepers []*sleeper
		for _, d := range []time.Duration{30 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond} {
			f := &sleeper{d: d}
			sleepers = append(sleepers, f)
			Spawn(ex, d.String(), Future[struct{}](f))
		}

		finishes(t, ex)
		for _, f := range sleepers {
			assert.GreaterOrEqual(t, f.ready.Sub(f.at), f.d, "time from Sleep(%v) to Ready: not early", f.d)
			assert.Equal(t, 2, f.polls, "polls of the task with Sleep(%v): Pending, then Ready after the timer woke it", f.d)
		}
	})
}
