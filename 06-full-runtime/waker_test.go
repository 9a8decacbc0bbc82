//go:build linux

package main

import (
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// finishes runs f on a goroutine and fails the test if it has not returned
// within a generous time: the bugs these tests pin make the loop sleep
// forever, and a test should say so rather than hang.
func finishes(t *testing.T, what string, f func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		require.NoError(t, err, what)
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: still asleep after 20 s: a wake was lost", what)
	}
}

func TestWaker(t *testing.T) {
	t.Run("many wakes before the task runs queue it once", func(t *testing.T) {
		ex := newTestExecutor(t, io.Discard)
		box := &mailbox{}
		spawn(ex, "box", Future[string](box))
		ex.takeWoken()
		ex.run(ex.queue[0]) // Pending: its waker is in the box
		ex.queue = ex.queue[1:]

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
		ex.takeWoken()
		assert.Len(t, ex.queue, 1, "tasks on the run queue after 800 wakes")
		assert.Equal(t, int64(1), ex.wakes.Load(), "wakes that queued the task")
	})

	t.Run("a wake during the poll queues the task again", func(t *testing.T) {
		ex := newTestExecutor(t, io.Discard)
		c := newCountdown(1) // wakes itself from inside its own poll
		spawn(ex, "countdown", Future[int](c))
		require.NoError(t, ex.Run(), "Run")
		assert.Equal(t, 2, c.polls, "polls")
	})

	t.Run("waking a finished task does nothing", func(t *testing.T) {
		ex := newTestExecutor(t, io.Discard)
		h := spawn(ex, "quick", Future[string](&fetchData{}))
		require.NoError(t, ex.Run(), "Run")
		polls := ex.polls
		var wg sync.WaitGroup
		for range 4 { // from other goroutines too, as a late event would
			wg.Add(1)
			go func() { defer wg.Done(); h.task.waker.Wake() }()
		}
		wg.Wait()
		h.task.waker.Wake()
		require.NoError(t, ex.Run(), "Run again")
		assert.Equal(t, polls, ex.polls, "polls after the wakes")
		assert.Equal(t, int64(0), ex.wakes.Load(), "wakes that queued a task")
	})

	t.Run("a dropped task is not polled when woken", func(t *testing.T) {
		ex := newTestExecutor(t, io.Discard)
		box := &mailbox{}
		h := spawn(ex, "box", Future[string](box))
		ex.takeWoken()
		ex.run(ex.queue[0])
		ex.queue = ex.queue[1:]
		ex.Close()
		box.send("too late")
		assert.True(t, h.task.done.Load(), "the task is done once dropped")
		assert.False(t, ex.takeWoken(), "a dropped task is not queued")
	})

	t.Run("a wake from another goroutine pulls the loop out of epoll_wait", func(t *testing.T) {
		ex := newTestExecutor(t, io.Discard)
		box := &mailbox{}
		h := spawn(ex, "box", Future[string](box))
		asleep := make(chan struct{})
		ex.beforeSleep = func() { close(asleep); ex.beforeSleep = nil }
		go func() {
			<-asleep
			box.send("hello")
		}()
		finishes(t, "BlockOn", func() error {
			_, err := blockOn(ex, "joiner", Future[Joined[string]](h))
			return err
		})
		assert.Equal(t, int64(1), ex.remote.Load(), "wakes that found the loop asleep")
		assert.Equal(t, int64(1), ex.reactor.notifies.Load(), "eventfd writes")
	})

	t.Run("the lost wakeup: a wake after the last look at the queue, before epoll_wait, is not lost", func(t *testing.T) {
		// beforeSleep runs after the loop's last look for wakes and
		// before epoll_wait. The wake lands exactly there and has
		// finished before epoll_wait starts: only the eventfd it wrote
		// can end the sleep. An executor that set its sleeping flag after
		// that last look (or not at all) would sleep here forever.
		ex := newTestExecutor(t, io.Discard)
		box := &mailbox{}
		spawn(ex, "box", Future[string](box))
		ex.beforeSleep = func() {
			ex.beforeSleep = nil
			sent := make(chan struct{})
			go func() { box.send("in the window"); close(sent) }()
			<-sent // the barrier: the wake is complete before we sleep
		}
		finishes(t, "Run", ex.Run)
		assert.Equal(t, 2, box.polls, "polls")
		assert.Equal(t, int64(1), ex.reactor.notifies.Load(), "eventfd writes")
	})

	t.Run("wakes from many goroutines under a barrier each run their task once", func(t *testing.T) {
		ex := newTestExecutor(t, io.Discard)
		const tasks = 64
		boxes := make([]*mailbox, tasks)
		for i := range boxes {
			boxes[i] = &mailbox{}
			spawn(ex, "box", Future[string](boxes[i]))
		}
		// Poll each once, so every waker is in its box, then release all
		// the senders together while the loop runs.
		for ex.takeWoken() || len(ex.queue) > 0 {
			t := ex.queue[0]
			ex.queue = ex.queue[1:]
			ex.run(t)
		}
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
		finishes(t, "Run", ex.Run)
		for i, b := range boxes {
			assert.Equal(t, 2, b.polls, "polls of task %d", i)
		}
	})
}
