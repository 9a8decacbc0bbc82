// Wrong, on purpose: takes the newest task, from the back of the queue (LIFO).

// Package runloop is the heart of chapter 04's executor: the loop that takes
// tasks from a run queue one at a time, polls each once, parks the ones that
// answer Pending, and sleeps when nobody can run.
//
// The chapter's executor sleeps in epoll_wait. Here sleep is any function
// with the same contract, so that the loop can be tried on its own, without
// sockets: it returns once something may have happened that a parked task
// waits for, and it cannot say for which task. So after every sleep the loop
// puts every parked task back on the run queue, and most of them are polled
// only to answer Pending again. Chapter 05 fixes that with wakers.
package runloop

import "errors"

// Task is a future the executor owns. The future's result type is erased
// behind poll, so that tasks of different types share one queue.
type Task struct {
	name string                 // for people reading a debugger or a trace
	poll func(cx *Context) bool // polls the future once; true when it has finished
}

// Executor runs tasks on one goroutine: a FIFO run queue, the tasks that
// answered Pending, and a way to sleep when no task can run.
type Executor struct {
	queue  []*Task      // runnable tasks, oldest first
	parked []*Task      // tasks that answered Pending, in the order they parked
	sleep  func() error // waits until a parked task may be able to go on
}

// ErrStuck is what a sleep function returns when every task is parked and
// nothing could ever wake one: in the chapter, epoll_wait with no descriptor
// registered, which would sleep for ever.
var ErrStuck = errors.New("every task is Pending and nothing can wake them")

// NewExecutor returns an executor with no tasks that calls sleep when no
// task can run. sleep stands in for epoll_wait: it blocks until something
// happened that a parked task may be waiting for, and returns an error if
// it cannot, ErrStuck when nothing ever could.
func NewExecutor(sleep func() error) *Executor {
	return &Executor{sleep: sleep}
}

// Spawn makes f a task named name and puts it at the back of the run queue.
// It may be called from inside a running task.
func Spawn[T any](ex *Executor, name string, f Future[T]) {
	ex.queue = append(ex.queue, &Task{name: name, poll: func(cx *Context) bool {
		return f.Poll(cx).IsReady()
	}})
}

// BlockOn spawns f and runs the executor until f has finished, polling
// every other task meanwhile too. It returns f's value, or the error that
// stopped the loop first.
func BlockOn[T any](ex *Executor, name string, f Future[T]) (T, error) {
	var v T
	finished := false
	ex.queue = append(ex.queue, &Task{name: name, poll: func(cx *Context) bool {
		v, finished = f.Poll(cx).Value()
		return finished
	}})
	err := ex.runUntil(func() bool { return finished })
	return v, err
}

// Run runs the executor until every task has finished.
func (ex *Executor) Run() error {
	return ex.runUntil(func() bool { return false })
}

// runUntil is the loop. As long as done() says no, it takes the oldest task
// from the queue and polls it once: a task that finished is forgotten, one
// that answered Pending is parked. When the queue is empty and tasks are
// parked, it calls sleep, then moves every parked task back to the queue,
// in the order they parked. It returns nil once done() says yes, or when
// no task is left at all; it returns sleep's error if sleep fails.
func (ex *Executor) runUntil(done func() bool) error {
	cx := &Context{} // still empty: nothing can tell the loop whom to wake
	// Ask done before every task, not only when the queue runs dry: BlockOn
	// returns as soon as its own task has finished, and the tasks still
	// queued or parked wait for the next BlockOn or Run.
	for !done() {
		if len(ex.queue) > 0 {
			// FIFO: the oldest task first, so every task gets its turn and a
			// task that spawns others cannot push ahead of those waiting.
			t := ex.queue[len(ex.queue)-1]
			ex.queue = ex.queue[:len(ex.queue)-1]
			if !t.poll(cx) {
				// Pending: polling it again now would only hear Pending
				// again. It waits in parked until something happens.
				ex.parked = append(ex.parked, t)
			}
			continue
		}
		if len(ex.parked) == 0 {
			return nil // every task has finished: nothing left to do
		}
		// Nobody can run: sleep until something happens. An error ends the
		// loop, since calling sleep again would not help: ErrStuck means
		// nothing ever will happen, and the chapter's reactor retries EINTR
		// itself, so an error from epoll_wait means the epoll instance is
		// broken.
		if err := ex.sleep(); err != nil {
			return err
		}
		// Which task was that for? We cannot tell, so: every parked task,
		// in the order they parked. Most will answer Pending again.
		ex.queue = append(ex.queue, ex.parked...)
		ex.parked = ex.parked[:0]
	}
	return nil
}
