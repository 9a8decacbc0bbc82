package timers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests never sleep and never read the real clock. They pass times of
// their own to untilNext and fire, as the chapter's loop passes time.Now(),
// counted from start. TestLoop fakes epoll_wait as well: it sleeps by
// moving that clock.

// start is the tests' clock at zero.
var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// at returns the time ms milliseconds after start.
func at(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }

// woken records the names of the timers whose waker was called, in order.
type woken struct{ names []string }

// waker returns a Waker that records name each time it is called.
func (w *woken) waker(name string) *Waker {
	return &Waker{wake: func() { w.names = append(w.names, name) }}
}

func TestTimers(t *testing.T) {
	t.Run("untilNext is -1 with no timer at all", func(t *testing.T) {
		ts := &Timers{}
		assert.Equal(t, time.Duration(-1), ts.untilNext(start), "untilNext with no timer")
	})

	t.Run("untilNext is the time until the earliest deadline, and 0 once it is due, never less", func(t *testing.T) {
		ts, w := &Timers{}, &woken{}
		for _, ms := range []int{30, 10, 50, 20, 40} {
			ts.add(at(ms), w.waker(fmt.Sprintf("%d ms", ms)))
		}
		assert.Equal(t, 10*time.Millisecond, ts.untilNext(at(0)), "untilNext at 0 ms, deadlines at 30, 10, 50, 20 and 40 ms")
		assert.Equal(t, 4*time.Millisecond, ts.untilNext(at(6)), "untilNext at 6 ms")
		assert.Equal(t, time.Duration(0), ts.untilNext(at(10)), "untilNext at 10 ms: the earliest is due now")
		assert.Equal(t, time.Duration(0), ts.untilNext(at(25)),
			"untilNext at 25 ms: the earliest is 15 ms overdue (a negative answer would read as -1, no timer)")
		assert.Empty(t, w.names, "timers woken by untilNext: it only looks")
		assert.Equal(t, 5, ts.len(), "timers pending after untilNext: it only looks")
	})

	t.Run("fire wakes every due timer, earliest first, and leaves the others", func(t *testing.T) {
		ts, w := &Timers{}, &woken{}
		deadlines := []int{30, 10, 50, 20, 40}
		timers := make([]*timer, len(deadlines))
		for i, ms := range deadlines {
			timers[i] = ts.add(at(ms), w.waker(fmt.Sprintf("%d ms", ms)))
		}
		assert.Equal(t, 3, ts.fire(at(30)), "timers fired at 30 ms: a deadline equal to now is due")
		assert.Equal(t, []string{"10 ms", "20 ms", "30 ms"}, w.names,
			"timers woken at 30 ms, in order; the one due at exactly 30 ms is due too")
		assert.Equal(t, 2, ts.len(), "timers pending after fire at 30 ms: fire takes each timer it wakes out of the heap")
		for i, ms := range deadlines {
			assert.Equal(t, ms <= 30, timers[i].fired, "timer due at %d ms marked fired, after fire at 30 ms", ms)
		}
		assert.Equal(t, 10*time.Millisecond, ts.untilNext(at(30)), "untilNext at 30 ms: 40 ms is next")

		w.names = nil
		assert.Equal(t, 0, ts.fire(at(35)), "timers fired at 35 ms: none is due")
		assert.Empty(t, w.names, "timers woken at 35 ms")
		assert.Equal(t, 2, ts.fire(at(60)), "timers fired at 60 ms")
		assert.Equal(t, []string{"40 ms", "50 ms"}, w.names, "timers woken at 60 ms, in order")
		assert.Equal(t, 0, ts.len(), "timers pending after fire at 60 ms")
	})

	t.Run("a timer fires once", func(t *testing.T) {
		ts, w := &Timers{}, &woken{}
		ts.add(at(1), w.waker("once"))
		assert.Equal(t, 1, ts.fire(at(1)), "timers fired at 1 ms")
		assert.Equal(t, 0, ts.fire(at(1000)), "timers fired at 1 s: it fired already")
		assert.Equal(t, []string{"once"}, w.names, "timers woken")
	})

	t.Run("a removed timer never fires, and removing it twice is harmless", func(t *testing.T) {
		ts, w := &Timers{}, &woken{}
		removed := ts.add(at(1), w.waker("removed"))
		ts.add(at(2), w.waker("kept"))
		require.NotPanics(t, func() { ts.remove(removed) }, "remove")
		assert.Equal(t, 1, ts.len(), "timers pending after remove")
		assert.Equal(t, 2*time.Millisecond, ts.untilNext(at(0)), "untilNext after the earliest was removed")
		assert.NotPanics(t, func() { ts.remove(removed) }, "remove of a timer removed already: its index is -1 once it has left the heap")
		assert.Equal(t, 1, ts.len(), "timers pending after a second remove of the same timer")
		assert.Equal(t, 1, ts.fire(at(1000)), "timers fired at 1 s")
		assert.Equal(t, []string{"kept"}, w.names, "timers woken")
		assert.False(t, removed.fired, "the removed timer marked fired")
	})

	t.Run("removing a timer that has fired is harmless, and leaves the others alone", func(t *testing.T) {
		// A Sleep is dropped after its timer fired: a Select whose other
		// future was ready in the same poll drops both.
		ts, w := &Timers{}, &woken{}
		fired := ts.add(at(1), w.waker("fired"))
		ts.add(at(60_000), w.waker("in a minute"))
		require.Equal(t, 1, ts.fire(at(1)), "timers fired at 1 ms")
		assert.NotPanics(t, func() { ts.remove(fired) }, "remove of a timer that has fired: its index is -1 once it has left the heap")
		assert.Equal(t, 1, ts.len(), "timers pending: the other one is still there")
		assert.Equal(t, time.Minute-time.Millisecond, ts.untilNext(at(1)), "untilNext at 1 ms")
	})

	t.Run("hundreds of timers, some removed from the middle of the heap, fire in deadline order", func(t *testing.T) {
		const added, removed = 300, 100
		rng := rand.New(rand.NewPCG(6, 1)) // a fixed seed: the same timers every run
		ts := &Timers{}
		var fired []int // deadlines, in ms, in the order the timers fired
		timers := make([]*timer, added)
		deadlines := make([]int, added)
		for i := range added {
			ms := rng.IntN(1000)
			deadlines[i] = ms
			timers[i] = ts.add(at(ms), &Waker{wake: func() { fired = append(fired, ms) }})
		}
		gone := rng.Perm(added)[:removed] // in no particular order: from the root, the leaves, the middle
		for _, i := range gone {
			require.NotPanics(t, func() { ts.remove(timers[i]) }, "remove of timer %d, due at %d ms: each timer's index "+
				"must still name its place in the heap", i, deadlines[i])
		}
		require.Equal(t, added-removed, ts.len(), "timers pending after %d added and %d removed", added, removed)

		var kept []int // the deadlines that must fire, sorted
		for i, ms := range deadlines {
			if !slices.Contains(gone, i) {
				kept = append(kept, ms)
			}
		}
		slices.Sort(kept)
		reported := false // the first wrong untilNext says enough
		for now := 0; now <= 1000; now += 50 {
			ts.fire(at(now))
			// After each fire, the root must be the earliest timer left.
			left := kept[min(len(fired), len(kept)):]
			want := time.Duration(-1)
			if len(left) > 0 {
				want = at(left[0]).Sub(at(now))
			}
			if !reported {
				reported = !assert.Equal(t, want, ts.untilNext(at(now)), "untilNext at %d ms, after fire: the root must be "+
					"the earliest timer left, whatever was removed from the middle", now)
			}
		}
		assert.Equal(t, len(kept), len(fired), "timers fired, of %d added and %d removed", added, removed)
		for i := range min(len(kept), len(fired)) {
			if kept[i] != fired[i] {
				assert.Fail(t, "timers fired out of deadline order, or a removed one fired: a heap is in order only at its root",
					"timer #%d to fire was due at %d ms, but timer #%d of those kept, in deadline order, is due at %d ms",
					i+1, fired[i], i+1, kept[i])
				break
			}
		}
		for _, i := range gone {
			assert.False(t, timers[i].fired, "removed timer %d (due at %d ms) marked fired", i, deadlines[i])
		}
	})
}

func TestWaitMillis(t *testing.T) {
	for _, c := range []struct {
		timeout time.Duration
		want    int
		why     string
	}{
		{-1, -1, "no timer: wait as long as it takes"},
		{-time.Second, -1, "any negative timeout means no timer"},
		{0, 0, "a timer is due: look, but do not sleep"},
		{time.Nanosecond, 1, "a nanosecond to go is not due: 0 would return at once, and the loop would ask again"},
		{400 * time.Microsecond, 1, "0.4 ms to go rounds up to 1, not down to 0"},
		{time.Millisecond, 1, "exactly 1 ms is 1, not 2"},
		{time.Millisecond + time.Microsecond, 2, "just over 1 ms: 1 would wake the loop a microsecond early"},
		{7 * time.Millisecond, 7, "whole milliseconds stay as they are"},
		{250*time.Millisecond - time.Nanosecond, 250, "just under 250 ms"},
		{time.Hour, 3_600_000, "an hour"},
		{1e9 * time.Millisecond, 1e9, "11.5 days, the longest wait, as it is"},
		{30 * 24 * time.Hour, 1e9, "30 days is capped at 1e9 ms, as Go's netpoll caps it: the kernel keeps only 32 bits, " +
			"and 2,592,000,000 would come out negative there, a wait with no end"},
		{math.MaxInt64, 1e9, "the longest Duration is capped too: rounding up first overflows, and comes out negative"},
	} {
		assert.Equal(t, c.want, waitMillis(c.timeout), "waitMillis(%v): %s", c.timeout, c.why)
	}
}

// loop is the part of the chapter's executor loop (Executor.runUntil and
// Executor.poll) that deals with timers, on a fake clock, with a fake
// epoll_wait. No socket is ever ready here, so each epoll_wait sleeps its
// whole timeout: the clock moves by that much.
type loop struct {
	now   time.Time
	waits []int // the timeout of each epoll_wait, in ms
}

// syscallCost is how far the clock moves during an epoll_wait with a
// timeout of 0, which returns at once: a system call takes a microsecond
// or so. A loop that rounds down spins in steps of this size.
const syscallCost = time.Microsecond

// maxWaits stops a loop that never ends (a timer that stays in the heap
// after it fired, say), so that the test fails instead of hanging.
const maxWaits = 100_000

// run turns the loop until no timer is left: ask untilNext, sleep that
// long in epoll_wait, fire what is due.
func (l *loop) run(t *testing.T, ts *Timers) {
	t.Helper()
	for ts.len() > 0 {
		if len(l.waits) == maxWaits {
			require.FailNow(t, fmt.Sprintf("%d timer(s) still pending after %d epoll_wait calls, at %v: "+
				"does fire take the timers it wakes out of the heap?", ts.len(), maxWaits, l.now.Sub(start)))
		}
		msec := waitMillis(ts.untilNext(l.now))
		require.GreaterOrEqual(t, msec, 0,
			"epoll_wait's timeout at %v with %d timer(s) pending: -1 would sleep past every deadline, until a socket happened to wake the loop",
			l.now.Sub(start), ts.len())
		l.waits = append(l.waits, msec)
		l.now = l.now.Add(max(time.Duration(msec)*time.Millisecond, syscallCost))
		ts.fire(l.now)
	}
}

func TestLoop(t *testing.T) {
	t.Run("the loop sleeps in epoll_wait until each deadline, and does not spin", func(t *testing.T) {
		ts := &Timers{}
		l := &loop{now: start}
		type firing struct {
			name string
			late time.Duration
		}
		var fired []firing
		for _, d := range []time.Duration{
			10 * time.Millisecond,
			400 * time.Microsecond,
			2500 * time.Microsecond,
			time.Millisecond + time.Microsecond,
			2500 * time.Microsecond,
		} {
			deadline := start.Add(d)
			ts.add(deadline, &Waker{wake: func() { fired = append(fired, firing{d.String(), l.now.Sub(deadline)}) }})
		}

		l.run(t, ts)

		zeros := 0
		for _, msec := range l.waits {
			if msec == 0 {
				zeros++
			}
		}
		assert.Equal(t, 0, zeros, "epoll_wait calls with timeout 0, of %d calls: each returns at once. "+
			"The loop fired what was due just before each call, so a 0 is a timeout rounded down "+
			"(and the loop spins until the deadline) or a due timer that fire left in the heap", len(l.waits))
		if assert.LessOrEqual(t, len(l.waits), 10, "epoll_wait calls for 5 timers due at 4 different times") {
			assert.Equal(t, []int{1, 1, 1, 7}, l.waits, "epoll_wait's timeouts, in ms, for deadlines at 0.4, 1.001, 2.5, 2.5 and 10 ms")
		}
		var names []string
		for _, f := range fired {
			names = append(names, f.name)
			assert.GreaterOrEqual(t, f.late, time.Duration(0), "the timer due at %s fired early", f.name)
			assert.Less(t, f.late, time.Millisecond, "the timer due at %s fired late by a millisecond or more", f.name)
		}
		assert.Equal(t, []string{"400µs", "1.001ms", "2.5ms", "2.5ms", "10ms"}, names, "timers woken, in order")
	})
}
