package waker

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests drive the executor with mailboxes: futures that are Pending
// until another goroutine sends them a value and calls their waker. The
// executor sleeps in a rig (see helpers_test.go) that counts each sleep and
// each notify, so a test can tell a wake that rang from one that did not.

func TestWake(t *testing.T) {
	t.Run("many wakes before the task runs queue it once, from however many goroutines", func(t *testing.T) {
		ex, r := newRig(t)
		box := &mailbox{}
		Spawn(ex, "box", Future[string](box))

		// Round after round: the task is polled (Pending, so its waker is
		// in the box), then 8 goroutines released together wake it 10
		// times each. Rounds, because two wakes that collide at the very
		// first instant are what an unsafe wake gets wrong.
		const rounds, goroutines, each = 200, 8, 10
		for round := range rounds {
			pollOnce(t, ex)
			p := together(goroutines, func() {
				for range each {
					box.wake()
				}
			})
			require.Nil(t, p, "Wake from %d goroutines panicked", goroutines)
			ex.takeWoken()
			if !assert.Equal(t, 1, len(ex.queue), "tasks on the run queue after %d wakes of one task, in round %d",
				goroutines*each, round+1) {
				break
			}
		}
		assert.Equal(t, int64(0), r.rings.Load(), "notify calls, with the loop awake (not sleeping)")
	})

	t.Run("a second wake that runs between the first one's read of queued and its update does not queue the task twice", func(t *testing.T) {
		// The flag's hook runs right after the first wake has read queued
		// (false), before it acts on what it read. There a second wake runs
		// from start to end, on another goroutine. A wake that reads, then
		// sets, lets both through; one atomic swap lets exactly one.
		ex, r := newRig(t)
		box := &mailbox{}
		Spawn(ex, "box", Future[string](box))
		pollOnce(t, ex) // Pending: the box holds the waker
		var hooked atomic.Bool
		second := make(chan any, 1) // what the second wake panicked with, or nil
		box.waker.task.queued.afterLoad = func() {
			if !hooked.CompareAndSwap(false, true) {
				return // the second wake's own read: no hook for it
			}
			go func() {
				defer func() { second <- recover() }()
				box.wake()
			}()
			select {
			case p := <-second:
				second <- p // for the test below
			case <-time.After(holdOff):
				// The second wake waits for a lock the first one holds:
				// they are serialised, which is as good as a swap.
			}
		}

		noPanic(t, "the first Wake", box.wake)
		if hooked.Load() {
			select {
			case p := <-second:
				require.Nil(t, p, "the second Wake panicked")
			case <-time.After(patience):
				require.FailNow(t, "the second Wake did not return")
			}
		}
		ex.takeWoken()
		assert.Equal(t, 1, len(ex.queue), "tasks on the run queue after two wakes, the second of which ran between the first one's "+
			"Load of t.queued and its Store: both saw false, and both queued the task. Read and set in one step: CompareAndSwap")
		assert.Equal(t, int64(0), r.rings.Load(), "notify calls, with the loop awake (not sleeping)")
	})

	t.Run("a wake during the poll queues the task again", func(t *testing.T) {
		ex, r := newRig(t)
		c := &countdown{left: 3, n: 3} // wakes itself from inside its own poll
		Spawn(ex, "countdown", Future[int](c))

		r.finishes(t, "Run", ex.Run)
		assert.Equal(t, 4, c.polls, "polls of a task that woke itself 3 times")
		assert.Equal(t, int64(0), r.sleeps.Load(), "sleeps: the task was always runnable")
		assert.Equal(t, int64(0), r.rings.Load(), "notify calls: a task that wakes itself wakes an awake loop")
	})

	t.Run("waking a finished task does nothing", func(t *testing.T) {
		ex, r := newRig(t)
		box := &mailbox{}
		Spawn(ex, "box", Future[string](box))
		pollOnce(t, ex) // Pending
		noPanic(t, "Wake of a task that answered Pending", func() { box.send("hello") })
		pollOnce(t, ex) // Ready: finished

		p := together(4, box.wake) // from other goroutines too, as a late event would
		require.Nil(t, p, "Wake from 4 goroutines panicked")
		noPanic(t, "Wake of a finished task", box.wake)
		assert.False(t, ex.takeWoken(), "a finished task was queued again")
		assert.Empty(t, ex.queue, "the run queue")
		assert.Equal(t, 2, box.polls, "polls of the box")
		assert.Equal(t, int64(0), r.rings.Load(), "notify calls")
	})
}

func TestSleep(t *testing.T) {
	t.Run("a burst of wakes from other goroutines while the loop sleeps notifies it once", func(t *testing.T) {
		ex, r := newRig(t)
		box := &mailbox{}
		Spawn(ex, "box", Future[string](box))
		r.onSleep = func() {
			r.onSleep = nil
			// The loop is asleep: 8 goroutines send at once, 100 times
			// each. Only the first send queues the task; only it rings.
			if p := together(8, func() {
				for range 100 {
					box.send("hello")
				}
			}); p != nil {
				panic(p)
			}
		}

		r.finishes(t, "Run", ex.Run)
		assert.Equal(t, 2, box.polls, "polls of the box: Pending, then Ready after the wake")
		assert.Equal(t, int64(1), r.sleeps.Load(), "sleeps")
		assert.Equal(t, int64(1), r.rings.Load(), "notify calls for 800 wakes of one sleeping task")
	})

	t.Run("a wake from another goroutine while the loop is busy polling does not notify", func(t *testing.T) {
		ex, r := newRig(t)
		second := &mailbox{}
		first := andThen{box: &mailbox{}, then: func() {
			// The loop is polling first, awake: a wake of second from
			// another goroutine now needs no ring. The loop takes it
			// from woken when this poll is over.
			elsewhere(func() { second.send("two") })
		}}
		Spawn(ex, "second", Future[string](second))
		Spawn(ex, "first", Future[string](first))
		r.onSleep = func() {
			r.onSleep = nil
			elsewhere(func() { first.box.send("one") }) // this one must ring
		}

		r.finishes(t, "Run", ex.Run)
		assert.Equal(t, 2, second.polls, "polls of second")
		assert.Equal(t, int64(1), r.sleeps.Load(), "sleeps")
		assert.Equal(t, int64(1), r.rings.Load(),
			"notify calls: one for the wake while the loop slept, none for the wake while it polled")
	})

	t.Run("the lost wakeup: a wake after the loop's last look, before it sleeps, is not lost", func(t *testing.T) {
		// beforeSleep runs right after the loop's last look at woken found
		// nothing, and before it sleeps. The wake lands exactly there, on
		// another goroutine, and is over before the loop goes on: only a
		// ring can end the sleep that follows.
		ex, r := newRig(t)
		box := &mailbox{}
		Spawn(ex, "box", Future[string](box))
		var hooked, flagged atomic.Bool
		ex.beforeSleep = func() {
			ex.beforeSleep = nil
			hooked.Store(true)
			flagged.Store(ex.sleeping.Bool.Load()) // as the wake will find it
			elsewhere(func() { box.send("in the window") })
		}
		r.explain = func() string {
			switch {
			case !hooked.Load():
				return "the last look never happened: take it with ex.lastLook() before sleeping"
			case !flagged.Load():
				return "the wake came after the last look, found ex.sleeping not yet set, and did not notify: " +
					"set the flag before the last look, not after"
			}
			return "the wake came after the last look, found ex.sleeping set, and did not notify: " +
				"a wake that finds the loop asleep must ring"
		}

		r.finishes(t, "Run", ex.Run)
		assert.Equal(t, 2, box.polls, "polls of the box")
		assert.Equal(t, int64(1), r.rings.Load(), "notify calls: the wake in the window must ring")
	})

	t.Run("the lost wakeup in wake: a loop that goes to sleep while a wake is under way is woken by it", func(t *testing.T) {
		// A wake starts as the loop runs out of work. The flag's hook holds
		// it right after it reads ex.sleeping until the loop has made up
		// its mind: gone to sleep, or found the task and polled it. If the
		// wake read the flag before it put its task on woken, it read
		// false, and the loop then set the flag, looked, found nothing and
		// slept: the wake puts its task where nobody looks, and rings for
		// nobody.
		ex, r := newRig(t)
		settled := make(chan struct{}) // the loop has slept, or polled the box again
		var settle sync.Once
		box := andThen{box: &mailbox{}, then: func() { settle.Do(func() { close(settled) }) }}
		Spawn(ex, "box", Future[string](box))

		read := make(chan struct{}) // the wake has read ex.sleeping
		var reading sync.Once
		ex.sleeping.afterLoad = func() {
			reading.Do(func() {
				close(read)
				select {
				case <-settled:
				case <-time.After(holdOff): // a lock held across the read keeps the loop waiting: no window
				}
			})
		}
		woke := make(chan struct{}) // the wake has returned
		ex.idle = func() {
			ex.idle = nil
			r.goBackground(func() {
				defer close(woke)
				box.box.send("as the loop goes to sleep")
			})
			select {
			case <-read:
			case <-woke: // it never read the flag
			}
		}
		var looked atomic.Bool
		ex.beforeSleep = func() { looked.Store(true) }
		r.onSleep = func() {
			r.onSleep = nil
			settle.Do(func() { close(settled) })
			<-woke // the wake is over: if it has not rung by now, it never will
		}
		r.explain = func() string {
			if !looked.Load() {
				return "the loop slept without its last look at ex.woken"
			}
			return "the wake read ex.sleeping (false) before it put its task on ex.woken; meanwhile the loop set the " +
				"flag, looked, found nothing and slept. In wake, append first, then read the flag"
		}

		r.finishes(t, "Run", ex.Run)
		assert.Equal(t, 2, box.box.polls, "polls of the box")
	})

	t.Run("a wake just before the loop goes to sleep is found by its last look, without a notify", func(t *testing.T) {
		// idle runs when the loop has found nothing to run, before it
		// starts to go to sleep. A wake there comes too late for the
		// loop's look at the top of Run and before the sleeping flag: only
		// the last look can find it.
		ex, r := newRig(t)
		late := &mailbox{}
		box := andThen{box: &mailbox{}, then: func() {
			// And after that, the loop is awake again: no ring either.
			elsewhere(func() { late.send("after") })
		}}
		Spawn(ex, "late", Future[string](late))
		Spawn(ex, "box", Future[string](box))
		ex.idle = func() {
			ex.idle = nil
			elsewhere(func() { box.box.send("before the last look") })
		}

		r.finishes(t, "Run", ex.Run)
		assert.Equal(t, 2, box.box.polls, "polls of the box")
		assert.Equal(t, 2, late.polls, "polls of late")
		assert.Equal(t, int64(0), r.sleeps.Load(), "sleeps: the last look found the box, so there was no need")
		assert.Equal(t, int64(0), r.rings.Load(), "notify calls: the loop never slept")
	})

	t.Run("waking a finished task while the loop sleeps neither queues it nor notifies", func(t *testing.T) {
		ex, r := newRig(t)
		done := &keeper{}
		box := &mailbox{}
		Spawn(ex, "done", Future[string](done))
		Spawn(ex, "box", Future[string](box))
		r.onSleep = func() {
			r.onSleep = nil
			if p := together(4, func() { done.waker.Load().Wake() }); p != nil {
				panic(p)
			}
			elsewhere(func() { box.send("hello") })
		}

		r.finishes(t, "Run", ex.Run)
		assert.Equal(t, 1, done.polls, "polls of the finished task")
		assert.Equal(t, 2, box.polls, "polls of the box")
		assert.Equal(t, int64(1), r.rings.Load(), "notify calls: the box's wake only")
	})

	t.Run("wakes from many goroutines, while the loop runs, each run their task once more", func(t *testing.T) {
		ex, r := newRig(t)
		const tasks = 64
		boxes := make([]*mailbox, tasks)
		for i := range boxes {
			boxes[i] = &mailbox{}
			Spawn(ex, "box", Future[string](boxes[i]))
		}
		for range tasks {
			pollOnce(t, ex) // each answers Pending: its waker is in its box
		}
		// Release every sender at once, as the loop starts: some wakes
		// land while it polls, some while it sleeps, some in between.
		start := make(chan struct{})
		for _, b := range boxes {
			r.goBackground(func() {
				<-start
				b.send("x")
				b.wake() // a second, redundant wake
			})
		}
		close(start)

		r.finishes(t, "Run", ex.Run)
		for i, b := range boxes {
			assert.Equal(t, 2, b.polls, "polls of task %d", i)
		}
	})
}
