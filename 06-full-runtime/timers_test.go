//go:build linux

package main

import (
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// never is a future that is never Ready, and notes whether it was dropped.
type never struct{ dropped bool }

func (n *never) Poll(*Context) Poll[string] { return Pending[string]() }
func (n *never) Drop()                      { n.dropped = true }

// spinner is a task that is always runnable: it wakes itself on every
// poll and never finishes.
type spinner struct{ polls int }

func (s *spinner) Poll(cx *Context) Poll[struct{}] {
	s.polls++
	cx.Waker.Wake()
	return Pending[struct{}]()
}

func TestTimers(t *testing.T) {
	now := time.Now()

	t.Run("fire wakes the due timers, earliest first, and leaves the others", func(t *testing.T) {
		ex := newTestExecutor(t, io.Discard)
		ts := &Timers{}
		for i, after := range []time.Duration{30, 10, 50, 20, 40} {
			task := &Task{id: i + 1, name: "t"}
			ts.add(now.Add(after*time.Millisecond), &Waker{task: task, ex: ex})
		}
		assert.Equal(t, 3, ts.fire(now.Add(30*time.Millisecond)), "timers fired")
		ex.takeWoken()
		var order []int
		for _, task := range ex.queue {
			order = append(order, task.id)
		}
		assert.Equal(t, []int{2, 4, 1}, order, "tasks woken, by deadline")
		assert.Equal(t, 2, ts.len(), "timers left")
		assert.Equal(t, 10*time.Millisecond, ts.untilNext(now.Add(30*time.Millisecond)), "until the next")
	})

	t.Run("a removed timer never fires, and removing twice is harmless", func(t *testing.T) {
		ts := &Timers{}
		w := testWaker(t, "sleeper")
		tm := ts.add(now, w)
		ts.remove(tm)
		ts.remove(tm)
		assert.Equal(t, 0, ts.fire(now.Add(time.Hour)), "timers fired")
		assert.False(t, tookWake(w), "woken")
	})

	t.Run("untilNext: -1 with no timer, 0 once one is due", func(t *testing.T) {
		ts := &Timers{}
		assert.Equal(t, time.Duration(-1), ts.untilNext(now), "no timer")
		ts.add(now.Add(-time.Second), testWaker(t, "late"))
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
		} {
			assert.Equal(t, want, waitMillis(d), "waitMillis(%v)", d)
		}
	})

	t.Run("Sleep is Ready after its time, and the loop slept in epoll_wait meanwhile", func(t *testing.T) {
		rt := newTestRuntime(t)
		start := time.Now()
		_, err := BlockOn(rt, "sleep", rt.Sleep(30*time.Millisecond))
		require.NoError(t, err, "BlockOn")
		assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond, "slept at least its time")
		// A busy loop would make thousands of calls; a timed sleep a
		// few (a signal may cut one short).
		assert.LessOrEqual(t, rt.reactor.waits, int64(5), "epoll_wait calls")
		assert.Equal(t, 0, rt.timers.len(), "timers left")
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
		drop(f)
		assert.Equal(t, 0, rt.timers.len(), "timers after Drop")
	})

	t.Run("a task that is always runnable starves neither timers nor sockets", func(t *testing.T) {
		rt := newTestRuntime(t)
		busy := &spinner{}
		Spawn(rt, "spinner", Future[struct{}](busy))
		_, err := BlockOn(rt, "sleep", rt.Sleep(10*time.Millisecond))
		require.NoError(t, err, "BlockOn: the timer fired although the queue was never empty")
		assert.Greater(t, busy.polls, pollBudget, "the spinner ran meanwhile")
	})
}
