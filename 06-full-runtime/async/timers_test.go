//go:build linux

package async

import (
	"math"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestTimers(t *testing.T) {
	now := time.Now()

	t.Run("fire wakes the due timers, earliest first, and leaves the others", func(t *testing.T) {
		rt := newTestRuntime(t)
		ts := &timers{}
		tms := make([]timer, 5)
		for i, after := range []time.Duration{30, 10, 50, 20, 40} {
			tms[i] = newTimer()
			tk := &task{id: uint32(i + 1), name: "t"}
			ts.schedule(&tms[i], now.Add(after*time.Millisecond), &Waker{task: tk, ex: rt.ex})
		}
		assert.Equal(t, 3, ts.fire(now.Add(30*time.Millisecond)), "timers fired")
		rt.ex.takeWoken()
		var order []uint32
		for rt.ex.queue.len() > 0 {
			order = append(order, rt.ex.queue.pop().id)
		}
		assert.Equal(t, []uint32{2, 4, 1}, order, "tasks woken, by deadline")
		assert.Equal(t, 2, ts.len(), "timers left")
		assert.False(t, ts.holds(&tms[1]), "a fired timer is out of the heap")
		assert.True(t, ts.holds(&tms[2]), "one not due yet is still in it")
		assert.Equal(t, 10*time.Millisecond, ts.untilNext(now.Add(30*time.Millisecond)), "until the next")
	})

	t.Run("schedule moves an armed timer instead of adding it twice", func(t *testing.T) {
		ts := &timers{}
		first, second := testWaker(t, "first"), testWaker(t, "second")
		tm := newTimer()
		ts.schedule(&tm, now.Add(time.Hour), first)
		ts.schedule(&tm, now.Add(time.Minute), second)
		assert.Equal(t, 1, ts.len(), "timers armed")
		assert.Equal(t, int64(1), ts.added, "timers added: a move is not an addition")
		assert.Equal(t, time.Minute, ts.untilNext(now), "until the moved deadline")
		assert.Equal(t, 1, ts.fire(now.Add(time.Minute)), "timers fired")
		assert.True(t, tookWake(second), "the latest waker is woken")
		assert.False(t, tookWake(first), "the replaced one is not")
	})

	t.Run("a removed timer never fires, and removing twice is harmless", func(t *testing.T) {
		ts := &timers{}
		w := testWaker(t, "sleeper")
		tm := newTimer()
		ts.schedule(&tm, now, w)
		ts.remove(&tm)
		ts.remove(&tm)
		assert.Equal(t, 0, ts.fire(now.Add(time.Hour)), "timers fired")
		assert.False(t, tookWake(w), "woken")
	})

	t.Run("a timer that was never armed is held by no heap, not even at index 0", func(t *testing.T) {
		ts := &timers{}
		armed, fresh := newTimer(), newTimer()
		ts.schedule(&armed, now, testWaker(t, "armed"))
		assert.False(t, ts.holds(&fresh), "holds a fresh timer")
		ts.remove(&fresh)
		assert.True(t, ts.holds(&armed), "removing a fresh timer leaves the armed one")
	})

	t.Run("untilNext: -1 with no timer, 0 once one is due", func(t *testing.T) {
		ts := &timers{}
		assert.Equal(t, time.Duration(-1), ts.untilNext(now), "no timer")
		tm := newTimer()
		ts.schedule(&tm, now.Add(-time.Second), testWaker(t, "late"))
		assert.Equal(t, time.Duration(0), ts.untilNext(now), "overdue")
	})

	t.Run("epoll_wait's timeout rounds up to whole milliseconds, never down to a busy zero", func(t *testing.T) {
		for d, want := range map[time.Duration]int{
			-1:                                     -1,
			0:                                      0,
			time.Nanosecond:                        1,
			400 * time.Microsecond:                 1,
			time.Millisecond:                       1,
			time.Millisecond + time.Microsecond:    2,
			250*time.Millisecond - time.Nanosecond: 250,
			20 * 24 * time.Hour:                    1e9, // capped at 11.5 days
		} {
			assert.Equal(t, want, waitMillis(d), "waitMillis(%v)", d)
		}
	})

	t.Run("a Sleep of the largest Duration is capped at 1e9 ms too, not wrapped to a negative timeout", func(t *testing.T) {
		// A negative timeout makes epoll_wait wait with no limit at all.
		// time.Sub saturates, so a far deadline gives untilNext a value
		// within a millisecond of math.MaxInt64; rounding it up must not
		// overflow.
		rt := newTestRuntime(t)
		forever := rt.Sleep(math.MaxInt64)
		require.False(t, forever.Poll(&Context{Waker: testWaker(t, "sleeper")}).IsReady(), "Poll")
		until := rt.timers.untilNext(time.Now())
		assert.Equal(t, int(1e9), waitMillis(until), "waitMillis(%d ns)", int64(until))
		assert.Equal(t, int(1e9), waitMillis(math.MaxInt64), "waitMillis(math.MaxInt64)")
	})

	t.Run("Sleep is Ready after its time, and the loop slept in epoll_wait meanwhile", func(t *testing.T) {
		rt := newTestRuntime(t)
		start := time.Now()
		_, err := BlockOn(rt, "sleep", rt.Sleep(30*time.Millisecond))
		require.NoError(t, err, "BlockOn")
		assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond, "slept at least its time")
		// A busy loop would make thousands of calls; a timed sleep a
		// few (a signal may cut one short).
		assert.LessOrEqual(t, rt.Stats().EpollWaits, int64(5), "epoll_wait calls")
		assert.Equal(t, 0, rt.timers.len(), "timers left")
	})

	t.Run("a Sleep polled by another task wakes that task", func(t *testing.T) {
		rt := newTestRuntime(t)
		f := rt.Sleep(time.Hour)
		first, second := testWaker(t, "first"), testWaker(t, "second")
		require.False(t, f.Poll(&Context{Waker: first}).IsReady(), "first poll")
		require.False(t, f.Poll(&Context{Waker: second}).IsReady(), "second poll")
		assert.Equal(t, 1, rt.timers.len(), "one timer, moved, not two")
		rt.timers.fire(time.Now().Add(2 * time.Hour))
		assert.True(t, tookWake(second), "the latest poller is woken")
		assert.False(t, tookWake(first), "the earlier one is not")
	})

	t.Run("Timeout gives up on a future that takes too long, and drops it", func(t *testing.T) {
		rt := newTestRuntime(t)
		slow := &never{}
		r, err := BlockOn(rt, "timeout", Timeout(rt, 20*time.Millisecond, Future[string](slow)))
		require.NoError(t, err, "BlockOn")
		assert.ErrorIs(t, r.Err, ErrTimeout, "result")
		assert.ErrorIs(t, r.Err, os.ErrDeadlineExceeded, "matches os.ErrDeadlineExceeded")
		assert.True(t, slow.dropped, "the abandoned future was dropped")
	})

	t.Run("Timeout returns a quick future's value and cancels its timer", func(t *testing.T) {
		rt := newTestRuntime(t)
		r, err := BlockOn(rt, "timeout", Timeout(rt, time.Hour, Future[string](&fetchData{})))
		require.NoError(t, err, "BlockOn")
		assert.Equal(t, Result[string]{Value: "Hello"}, r, "result")
		assert.Equal(t, 0, rt.timers.len(), "timers left")
	})

	t.Run("a dropped Sleep leaves no timer behind", func(t *testing.T) {
		rt := newTestRuntime(t)
		f := rt.Sleep(time.Hour)
		require.False(t, f.Poll(&Context{Waker: testWaker(t, "sleeper")}).IsReady(), "an hour to go")
		require.Equal(t, 1, rt.timers.len(), "timers after the first poll")
		Drop(f)
		assert.Equal(t, 0, rt.timers.len(), "timers after Drop")
	})

	t.Run("a task that is always runnable does not starve a timer", func(t *testing.T) {
		rt := newTestRuntime(t)
		busy := &spinner{}
		Spawn(rt, "spinner", Future[struct{}](busy))
		finishes(t, "BlockOn", func() error {
			_, err := BlockOn(rt, "sleep", rt.Sleep(10*time.Millisecond))
			return err // the timer fired although the queue was never empty
		})
		assert.Greater(t, busy.polls, 1, "the spinner ran meanwhile: the loop was never idle")
	})

	t.Run("a task that is always runnable does not starve a socket", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		busy := &spinner{}
		Spawn(rt, "spinner", Future[struct{}](busy))
		// The line is sent only once the reader waits for it, so that
		// only the reactor's event can wake the reader; and the loop,
		// never idle, sees that event only if it looks without being
		// asked to.
		var sendErr error
		r := &sendWhenWaiting{read: c.ReadLine(100), send: func() { _, sendErr = unix.Write(peer, []byte("through\n")) }}
		var got Result[[]byte]
		finishes(t, "BlockOn", func() (err error) {
			got, err = BlockOn(rt, "reader", Future[Result[[]byte]](r))
			return err
		})
		require.NoError(t, sendErr, "write")
		assert.Equal(t, Result[[]byte]{Value: []byte("through\n")}, got, "the line")
		assert.Greater(t, busy.polls, 0, "the spinner ran meanwhile")
	})
}

// sendWhenWaiting polls read, and the first time read is Pending (its
// waker is with the reactor) it calls send.
type sendWhenWaiting struct {
	read Future[Result[[]byte]]
	send func()
	sent bool
}

func (s *sendWhenWaiting) Poll(cx *Context) Poll[Result[[]byte]] {
	p := s.read.Poll(cx)
	if !p.IsReady() && !s.sent {
		s.sent = true
		s.send()
	}
	return p
}

func TestDeadline(t *testing.T) {
	// The deadlines are an hour or more away, and the tests fire the
	// timers by hand with a made-up now: Poll, which looks at the loop's
	// clock (the time the runtime was made, in these tests), always finds
	// them still ahead.
	now := time.Now()

	t.Run("Poll reads the loop's clock: a deadline it has not reached yet is armed, and fires when the loop's clock passes it", func(t *testing.T) {
		rt := newTestRuntime(t)
		d := &Deadline{}
		w := rtWaker(rt, "watcher")
		rt.ex.setNow(now.Add(-time.Hour)) // the loop last woke an hour ago
		d.Reset(now.Add(-time.Minute))    // passed by the system's clock
		assert.False(t, d.Poll(&Context{Waker: w}).IsReady(), "Poll: not passed by the loop's clock")
		assert.True(t, rt.timers.holds(&d.t), "so the timer is armed")
		rt.ex.setNow(now) // the loop wakes
		assert.Equal(t, 1, rt.timers.fire(rt.ex.now), "the timer fires by the loop's new time")
		assert.True(t, tookWake(w), "and wakes the watcher")
		assert.True(t, d.Poll(&Context{Waker: w}).IsReady(), "whose Poll finds the deadline passed")
		assert.True(t, d.Passed(), "as the system's clock says too")
	})

	t.Run("ResetAfter is Reset to the loop's clock plus the duration", func(t *testing.T) {
		rt := newTestRuntime(t)
		rt.ex.setNow(now.Add(time.Minute)) // the loop's clock, not the system's
		after, reset := &Deadline{}, &Deadline{}
		after.ResetAfter(rt, time.Hour)
		reset.Reset(rt.Now().Add(time.Hour))
		assert.Equal(t, reset.at, after.at, "the same deadline")
		cx := &Context{Waker: rtWaker(rt, "watcher")}
		require.False(t, after.Poll(cx).IsReady(), "Poll")
		assert.Equal(t, now.Add(time.Minute+time.Hour).Sub(base), after.t.when, "armed for it")

		far := &Deadline{}
		far.ResetAfter(rt, math.MaxInt64)
		assert.False(t, far.Poll(cx).IsReady(), "a deadline past the end of time does not wrap round to the past")
	})

	t.Run("the loop reads the clock when it starts: a ResetAfter in a first poll counts from then", func(t *testing.T) {
		rt := newTestRuntime(t)
		rt.ex.setNow(now.Add(-time.Hour)) // the runtime was made, or last ran, an hour ago
		d := &Deadline{}
		_, err := BlockOn(rt, "first poll", Future[struct{}](resetOnFirstPoll{rt: rt, d: d}))
		require.NoError(t, err, "BlockOn")
		assert.GreaterOrEqual(t, d.at, now.Add(time.Minute).Sub(base), "a minute from when the loop started, not from an hour ago")
	})

	t.Run("a deadline that was never set never passes, and arms nothing", func(t *testing.T) {
		rt := newTestRuntime(t)
		d := &Deadline{}
		assert.False(t, d.Poll(&Context{Waker: rtWaker(rt, "watcher")}).IsReady(), "Poll")
		assert.False(t, d.Passed(), "Passed")
		assert.Equal(t, 0, rt.timers.len(), "timers armed")
	})

	t.Run("Reset later does not touch the heap; the early timer fires, and Poll arms it for the new time", func(t *testing.T) {
		rt := newTestRuntime(t)
		d := &Deadline{}
		w := rtWaker(rt, "watcher")
		cx := &Context{Waker: w}
		d.Reset(now.Add(time.Hour))
		require.False(t, d.Poll(cx).IsReady(), "Poll")
		require.True(t, rt.timers.holds(&d.t), "armed")
		require.Equal(t, now.Add(time.Hour).Sub(base), d.t.when, "armed for the deadline")

		d.Reset(now.Add(2 * time.Hour))
		assert.True(t, rt.timers.holds(&d.t), "still armed")
		assert.Equal(t, now.Add(time.Hour).Sub(base), d.t.when, "still for the old time: Reset only wrote the new one")
		assert.Equal(t, int64(1), rt.timers.added, "timers armed so far")

		assert.Equal(t, 1, rt.timers.fire(now.Add(time.Hour)), "the early timer fires at the old time")
		require.True(t, tookWake(w), "and wakes the watcher")
		assert.False(t, d.Poll(cx).IsReady(), "whose Poll finds the deadline not passed")
		assert.True(t, rt.timers.holds(&d.t), "and arms the timer again")
		assert.Equal(t, now.Add(2*time.Hour).Sub(base), d.t.when, "for the new time")
		assert.Equal(t, 1, rt.timers.len(), "timers in the heap")

		assert.Equal(t, 0, rt.timers.fire(now.Add(time.Hour)), "nothing fires twice at the old time")
		assert.Equal(t, 1, rt.timers.fire(now.Add(2*time.Hour)), "it fires at the new time")
		assert.True(t, tookWake(w), "and wakes the watcher")
		assert.Equal(t, int64(2), rt.timers.added, "timers armed: once per firing, not per Reset")
	})

	t.Run("Reset earlier takes the timer out, so the earlier time is honoured", func(t *testing.T) {
		rt := newTestRuntime(t)
		d := &Deadline{}
		d.Reset(now.Add(time.Hour))
		require.False(t, d.Poll(&Context{Waker: rtWaker(rt, "watcher")}).IsReady(), "Poll")
		d.Reset(now.Add(time.Minute))
		assert.False(t, rt.timers.holds(&d.t), "the late timer is out of the heap")
		require.False(t, d.Poll(&Context{Waker: rtWaker(rt, "watcher")}).IsReady(), "Poll")
		assert.Equal(t, now.Add(time.Minute).Sub(base), d.t.when, "armed afresh for the earlier time")

		// And on the loop, for real: armed an hour away, moved to a few
		// milliseconds away, it passes then, not in an hour.
		d.Reset(time.Now().Add(time.Hour))
		require.False(t, d.Poll(&Context{Waker: rtWaker(rt, "watcher")}).IsReady(), "Poll")
		d.Reset(time.Now().Add(5 * time.Millisecond))
		finishes(t, "BlockOn", func() error {
			_, err := BlockOn(rt, "deadline", Future[struct{}](d))
			return err
		})
		assert.True(t, d.Passed(), "Passed")
	})

	t.Run("the zero time means never: Reset to it disarms, and Poll arms nothing", func(t *testing.T) {
		rt := newTestRuntime(t)
		d := &Deadline{}
		cx := &Context{Waker: rtWaker(rt, "watcher")}
		d.Reset(now.Add(time.Hour))
		require.False(t, d.Poll(cx).IsReady(), "Poll")
		require.Equal(t, 1, rt.timers.len(), "armed")
		d.Reset(time.Time{})
		assert.Equal(t, 0, rt.timers.len(), "disarmed by Reset to the zero time")
		assert.False(t, d.Poll(cx).IsReady(), "Poll")
		assert.Equal(t, 0, rt.timers.len(), "Poll arms nothing for never")
		assert.False(t, d.Passed(), "Passed")
	})

	t.Run("Drop disarms the timer", func(t *testing.T) {
		rt := newTestRuntime(t)
		d := &Deadline{}
		w := rtWaker(rt, "watcher")
		d.Reset(now.Add(time.Hour))
		require.False(t, d.Poll(&Context{Waker: w}).IsReady(), "Poll")
		Drop(d)
		assert.Equal(t, 0, rt.timers.len(), "timers after Drop")
		assert.Equal(t, 0, rt.timers.fire(now.Add(2*time.Hour)), "timers fired")
		assert.False(t, tookWake(w), "the watcher is not woken")
	})

	t.Run("Poll after Ready stays Ready until Reset moves the deadline", func(t *testing.T) {
		rt := newTestRuntime(t)
		d := &Deadline{}
		cx := &Context{Waker: rtWaker(rt, "watcher")}
		rt.ex.setNow(time.Now()) // the loop's clock, which Poll reads
		d.Reset(time.Now().Add(-time.Second))
		assert.True(t, d.Poll(cx).IsReady(), "Poll of a passed deadline")
		assert.True(t, d.Poll(cx).IsReady(), "and again")
		assert.True(t, d.Passed(), "Passed")
		assert.Equal(t, 0, rt.timers.len(), "nothing armed for a deadline that has passed")
		d.Reset(now.Add(time.Hour))
		assert.False(t, d.Passed(), "Passed after Reset")
		assert.False(t, d.Poll(cx).IsReady(), "Poll after Reset")
	})

	t.Run("the timer wakes the latest poller, even when it was armed early", func(t *testing.T) {
		rt := newTestRuntime(t)
		d := &Deadline{}
		first, second, third := rtWaker(rt, "first"), rtWaker(rt, "second"), rtWaker(rt, "third")
		d.Reset(now.Add(time.Hour))
		require.False(t, d.Poll(&Context{Waker: first}).IsReady(), "Poll by first")
		require.False(t, d.Poll(&Context{Waker: second}).IsReady(), "Poll by second")
		rt.timers.fire(now.Add(time.Hour))
		assert.True(t, tookWake(second), "the latest poller is woken")
		assert.False(t, tookWake(first), "the earlier one is not")

		// Armed for an hour, moved to two: the timer is early, and the
		// watcher changes before it fires.
		require.False(t, d.Poll(&Context{Waker: second}).IsReady(), "Poll by second")
		d.Reset(now.Add(2 * time.Hour))
		require.False(t, d.Poll(&Context{Waker: third}).IsReady(), "Poll by third")
		rt.timers.fire(now.Add(time.Hour))
		assert.True(t, tookWake(third), "the early timer wakes the latest poller")
		assert.False(t, tookWake(second), "not the one that armed it")
	})
}

// resetOnFirstPoll moves d a minute after the loop's clock and finishes.
type resetOnFirstPoll struct {
	rt *Runtime
	d  *Deadline
}

func (f resetOnFirstPoll) Poll(*Context) Poll[struct{}] {
	f.d.ResetAfter(f.rt, time.Minute)
	return Ready(struct{}{})
}
