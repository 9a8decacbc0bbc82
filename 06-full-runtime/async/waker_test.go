//go:build linux

package async

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWaker(t *testing.T) {
	t.Run("the loop's look finds what Wake listed, by the flag, and skips the mutex when nothing was", func(t *testing.T) {
		rt := newTestRuntime(t)
		ex := rt.ex
		tk := &task{id: 1, name: "woken"}
		tk.waker = Waker{task: tk, ex: ex}
		assert.False(t, ex.takeWoken(), "nothing woken yet")
		tk.waker.Wake() // as another goroutine would
		assert.True(t, ex.anyWoken.Load(), "Wake raised the flag after listing the task")
		require.True(t, ex.takeWoken(), "the loop's next look finds the task")
		assert.Equal(t, 1, ex.queue.len(), "on the run queue")
		assert.False(t, ex.anyWoken.Load(), "the flag is down once the list is taken")
		assert.False(t, ex.takeWoken(), "and the next look finds nothing")
	})

	t.Run("many wakes before the task runs queue it once", func(t *testing.T) {
		rt := newTestRuntime(t)
		box := &mailbox{}
		Spawn(rt, "box", Future[string](box))
		pollRunnable(rt) // Pending: its waker is in the box

		const goroutines, each = 8, 100
		var start, done sync.WaitGroup
		start.Add(1)
		for range goroutines {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				for range each {
					box.waker.Wake()
				}
			}()
		}
		start.Done()
		done.Wait()
		rt.ex.takeWoken()
		assert.Equal(t, 1, rt.ex.queue.len(), "tasks on the run queue after 800 wakes")
		assert.Equal(t, int64(1), rt.ex.wakes.Load(), "wakes that queued the task")
	})

	t.Run("a wake during the poll queues the task again", func(t *testing.T) {
		rt := newTestRuntime(t)
		c := newCountdown(1) // wakes itself from inside its own poll
		Spawn(rt, "countdown", Future[int](c))
		require.NoError(t, rt.Run(), "Run")
		assert.Equal(t, 2, c.polls, "polls")
	})

	t.Run("waking a finished task does nothing", func(t *testing.T) {
		rt := newTestRuntime(t)
		h := Spawn(rt, "quick", Future[string](&fetchData{}))
		require.NoError(t, rt.Run(), "Run")
		polls := rt.ex.polls
		var wg sync.WaitGroup
		for range 4 { // from other goroutines too, as a late event would
			wg.Add(1)
			go func() { defer wg.Done(); h.task.waker.Wake() }()
		}
		wg.Wait()
		h.task.waker.Wake()
		require.NoError(t, rt.Run(), "Run again")
		assert.Equal(t, polls, rt.ex.polls, "polls after the wakes")
		assert.Equal(t, int64(0), rt.ex.wakes.Load(), "wakes that queued a task")
	})

	t.Run("a nil Waker wakes nobody, so a future can be polled by hand", func(t *testing.T) {
		var w *Waker
		assert.NotPanics(t, w.Wake, "Wake on nil")
		assert.Equal(t, "nobody", w.String(), "String on nil")
		v, polls := pollUntilReady(t, Future[int](newCountdown(2)))
		assert.Equal(t, 2, v, "a self-waking future polled with an empty Context")
		assert.Equal(t, 3, polls, "polls")
	})

	t.Run("a dropped task is not polled when woken", func(t *testing.T) {
		rt := newTestRuntime(t)
		box := &mailbox{}
		h := Spawn(rt, "box", Future[string](box))
		pollRunnable(rt)
		rt.ex.close()
		box.send("too late")
		assert.True(t, h.task.done.Load(), "the task is done once dropped")
		assert.False(t, rt.ex.takeWoken(), "a dropped task is not queued")
	})

	t.Run("a wake from another goroutine pulls the loop out of epoll_wait", func(t *testing.T) {
		asleep := make(chan struct{})
		parked := false
		rt := newTestRuntime(t, Config{OnPark: func() {
			if !parked {
				parked = true
				close(asleep)
			}
		}})
		box := &mailbox{}
		h := Spawn(rt, "box", Future[string](box))
		go func() {
			<-asleep
			box.send("hello")
		}()
		finishes(t, "BlockOn", func() error {
			_, err := BlockOn(rt, "joiner", Future[Joined[string]](h))
			return err
		})
		assert.Equal(t, int64(1), rt.ex.remote.Load(), "wakes that found the loop asleep")
		assert.Equal(t, int64(1), rt.reactor.notifies.Load(), "eventfd writes")
	})

	t.Run("the lost wakeup: a wake after the last look at the queue, before epoll_wait, is not lost", func(t *testing.T) {
		// OnPark runs after the loop's last look for wakes and before
		// epoll_wait. The wake lands exactly there and has finished
		// before epoll_wait starts: only the eventfd it wrote can end the
		// sleep. An executor that set its sleeping flag after that last
		// look (or not at all) would sleep here forever.
		box := &mailbox{}
		parked := false
		rt := newTestRuntime(t, Config{OnPark: func() {
			if parked {
				return
			}
			parked = true
			sent := make(chan struct{})
			go func() { box.send("in the window"); close(sent) }()
			<-sent // the barrier: the wake is complete before we sleep
		}})
		Spawn(rt, "box", Future[string](box))
		finishes(t, "Run", rt.Run)
		assert.Equal(t, 2, box.pollsOf(), "polls")
		assert.Equal(t, int64(1), rt.reactor.notifies.Load(), "eventfd writes")
	})

	t.Run("wakes from many goroutines under a barrier each run their task once", func(t *testing.T) {
		rt := newTestRuntime(t)
		const tasks = 64
		boxes := make([]*mailbox, tasks)
		for i := range boxes {
			boxes[i] = &mailbox{}
			Spawn(rt, "box", Future[string](boxes[i]))
		}
		// Poll each once, so every waker is in its box, then release all
		// the senders together while the loop runs.
		pollRunnable(rt)
		var start sync.WaitGroup
		start.Add(1)
		for _, b := range boxes {
			go func() {
				start.Wait()
				b.send("x")
				b.waker.Wake() // a second, redundant wake
			}()
		}
		start.Done()
		finishes(t, "Run", rt.Run)
		for i, b := range boxes {
			assert.Equal(t, 2, b.pollsOf(), "polls of task %d", i)
		}
	})
}
