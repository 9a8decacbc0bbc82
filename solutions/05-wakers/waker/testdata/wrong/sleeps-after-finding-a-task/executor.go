// Wrong, on purpose: the loop sleeps even when its last look found a task.

// Package waker is the wake path of chapter 05's executor: Waker.Wake,
// which puts one task back on the run queue from any goroutine, and the
// loop's way of going to sleep without missing a wake.
//
// In chapter 04 a task that answered Pending was parked, and after every
// event the loop polled all the parked tasks, since it could not tell whom
// the event was for. Here a task that answers Pending is on no list at all.
// The only way back is its Waker: whoever it handed the waker to calls Wake,
// and exactly that task runs again.
//
// Wake may come from another goroutine while the loop sleeps. In the
// chapter the loop sleeps in epoll_wait, and a wake from elsewhere writes
// to an eventfd in the epoll set to end that sleep. Here sleep and notify
// are two functions with that contract, so the tests can play the kernel.
package waker

import (
	"sync"
	"sync/atomic"
)

// Task is a future the executor owns, with what it needs to drive it. The
// future's result type is erased behind poll, so that tasks of different
// types share one queue.
type Task struct {
	name  string
	poll  func(cx *Context) bool // polls the future; true when it finished
	waker Waker                  // the task's one waker, made at Spawn
	cx    Context                // what every Poll of this task gets: its waker

	// Wake reads and writes these from any goroutine.
	queued flag        // on the run queue, or on its way there: more wakes are redundant
	done   atomic.Bool // finished: wakes are ignored
}

// flag is an atomic.Bool that the tests can interrupt. Load reads the flag
// and then, if a test has set afterLoad, runs it before it returns: so a
// test can land another goroutine's work exactly between a read of the
// flag and whatever its caller does with what it read. That is where the
// races of this chapter live. Store, Swap and CompareAndSwap are
// atomic.Bool's own, in one step, with no gap for a hook.
type flag struct {
	atomic.Bool
	afterLoad func() // set by a test before the flag is shared
}

// Load reports whether the flag is set.
func (f *flag) Load() bool {
	v := f.Bool.Load()
	if f.afterLoad != nil {
		f.afterLoad()
	}
	return v
}

// Executor runs tasks on one goroutine: a FIFO run queue, and a way to
// sleep when nobody can run. Wakers may be called from any goroutine; they
// reach the loop through woken.
type Executor struct {
	queue []*Task // runnable tasks, oldest first; the loop's alone
	live  int     // tasks spawned and not finished yet
	polls int     // Poll calls on tasks

	mu       sync.Mutex
	woken    []*Task // tasks woken since the loop last looked (under mu)
	sleeping flag    // the loop is asleep, or about to be: a wake must notify it

	// sleep blocks until notify has been called since sleep last returned;
	// in the chapter, the reactor's epoll_wait. notify ends the sleep in
	// progress or, if nobody sleeps, the next one; any goroutine may call
	// it. In the chapter, a write to the reactor's eventfd.
	sleep  func()
	notify func()

	// Hooks for the tests, to land a wake at the worst moments. idle runs
	// when the loop has found no task to run, just before it goes to
	// sleep; beforeSleep runs when the loop's last look at woken found
	// nothing, right before it sleeps. Both run on the loop's goroutine.
	idle        func()
	beforeSleep func()
}

// NewExecutor returns an executor with no tasks that sleeps in sleep and
// is woken from other goroutines by notify.
func NewExecutor(sleep, notify func()) *Executor {
	return &Executor{sleep: sleep, notify: notify}
}

// Spawn makes f a task named name and puts it at the back of the run queue.
// It may be called from inside a running task, but only on the loop's
// goroutine. (The chapter's Spawn also returns a JoinHandle.)
func Spawn[T any](ex *Executor, name string, f Future[T]) {
	t := &Task{name: name, poll: func(cx *Context) bool { return f.Poll(cx).IsReady() }}
	t.waker = Waker{task: t, ex: ex}
	t.cx = Context{Waker: &t.waker}
	t.queued.Store(true) // on the run queue already: a wake before its first poll is redundant
	ex.queue = append(ex.queue, t)
	ex.live++
}

// Run runs tasks until every one has finished. With tasks left but none
// runnable it sleeps for as long as it takes: any goroutine that holds a
// waker may wake one, so it cannot know that nobody ever will.
func (ex *Executor) Run() {
	for {
		ex.takeWoken()
		if len(ex.queue) > 0 {
			t := ex.queue[0]
			ex.queue[0] = nil // let the GC have it once it is done
			ex.queue = ex.queue[1:]
			ex.run(t)
			continue
		}
		if ex.live == 0 {
			return // every task has finished
		}
		if ex.idle != nil {
			ex.idle()
		}
		ex.sleepUntilWoken()
	}
}

// sleepUntilWoken is called by Run when no task can run. It sleeps until a
// waker is called, and must not sleep through a single wake, wherever it
// lands: before this call, during it, or while the loop sleeps. It has two
// tools. ex.sleeping, while set, makes every wake call ex.notify, which
// ends the sleep. ex.lastLook moves the tasks woken meanwhile to the run
// queue and says whether there were any; then the loop must not sleep.
// The flag is clear again when this returns, whether the loop slept or not.
func (ex *Executor) sleepUntilWoken() {
	// Order matters. First say we are going to sleep, so that from now on
	// a wake rings; then look for wakes one last time. A wake that came
	// before the flag was set is found by the look; one that comes after
	// it rings, and the sleep returns at once. Looking first and setting
	// the flag second would leave a window, after the look and before the
	// flag, where a wake is seen by neither, and we would sleep through
	// it: the lost wakeup.
	ex.sleeping.Store(true)
	ex.lastLook()
	ex.sleep()
	// Awake again. A wake that rang between the end of sleep and this
	// Store costs one spare ring: the next sleep returns at once and the
	// loop looks again. Harmless, unlike a wake that is lost.
	ex.sleeping.Store(false)
}

// lastLook is the loop's last look at woken before it sleeps: takeWoken,
// plus the tests' hook. It reports whether it found a task.
func (ex *Executor) lastLook() bool {
	if ex.takeWoken() {
		return true
	}
	if ex.beforeSleep != nil {
		ex.beforeSleep()
	}
	return false
}

// run polls one task, unless it has finished since it was queued.
func (ex *Executor) run(t *Task) {
	if t.done.Load() {
		return // woken while it was finishing: nothing left to poll
	}
	// Clear queued before polling, not after: an event that comes while
	// the task runs must be able to queue it again, or it would be lost.
	t.queued.Store(false)
	ex.polls++
	if t.poll(&t.cx) {
		t.done.Store(true)
		ex.live--
	}
	// Pending: the task is off the queue until its waker is called.
}
