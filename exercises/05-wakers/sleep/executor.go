package sleep

import (
	"sync"
	"sync/atomic"
)

// This file is chapter 05's executor and waker (05-wakers/executor.go and
// waker.go), cut down to what a Sleep needs: tasks, a run queue, Wake from
// any goroutine, and a loop that sleeps until a wake. Where the chapter
// sleeps in epoll_wait and rings an eventfd, this one waits on a channel
// that holds one ring. There is nothing to change in this file.

// Task is a future the executor owns. The future's result type is erased
// behind poll, so that tasks of different types share one queue.
type Task struct {
	name  string
	poll  func(cx *Context) bool // polls the future; true when it finished
	waker Waker                  // the task's one waker, made at Spawn
	cx    Context                // what every Poll of this task gets: its waker

	// Wake reads and writes these from any goroutine.
	queued atomic.Bool  // on the run queue, or on its way there: more wakes are redundant
	done   atomic.Bool  // finished: wakes are ignored
	wakes  atomic.Int64 // calls of Wake, counted for the tests
}

// Executor runs tasks on one goroutine. Wakers may be called from any
// goroutine; they reach the loop through woken.
type Executor struct {
	queue []*Task // runnable tasks, oldest first; the loop's alone
	live  int     // tasks spawned and not finished yet

	mu       sync.Mutex
	woken    []*Task       // tasks woken since the loop last looked (under mu)
	sleeping atomic.Bool   // the loop is asleep, or about to be: a wake must ring
	bell     chan struct{} // holds one ring; the chapter's eventfd
}

// NewExecutor returns an executor with no tasks.
func NewExecutor() *Executor {
	return &Executor{bell: make(chan struct{}, 1)}
}

// Spawn makes f a task named name and puts it at the back of the run queue.
// Call it before Run, or from a task.
func Spawn[T any](ex *Executor, name string, f Future[T]) *Task {
	t := &Task{name: name, poll: func(cx *Context) bool { return f.Poll(cx).IsReady() }}
	t.waker = Waker{task: t, ex: ex}
	t.cx = Context{Waker: &t.waker}
	t.queued.Store(true)
	ex.queue = append(ex.queue, t)
	ex.live++
	return t
}

// Run runs tasks until every one has finished. With tasks left but none
// runnable, it sleeps until a waker is called.
func (ex *Executor) Run() {
	for {
		ex.takeWoken()
		if len(ex.queue) > 0 {
			t := ex.queue[0]
			ex.queue[0] = nil
			ex.queue = ex.queue[1:]
			ex.run(t)
			continue
		}
		if ex.live == 0 {
			return
		}
		// Flag first, last look second: the order that loses no wake
		// (chapter 05, "The lost wakeup").
		ex.sleeping.Store(true)
		if ex.takeWoken() {
			ex.sleeping.Store(false)
			continue
		}
		<-ex.bell
		ex.sleeping.Store(false)
	}
}

// run polls one task, unless it has finished since it was queued.
func (ex *Executor) run(t *Task) {
	if t.done.Load() {
		return
	}
	t.queued.Store(false) // before the poll: a wake during it queues the task again
	if t.poll(&t.cx) {
		t.done.Store(true)
		ex.live--
	}
}

// Waker wakes one task. Wake may be called from any goroutine, any number
// of times: it queues the task once, ignores a task that has finished, and
// rings the bell if the loop sleeps.
type Waker struct {
	task *Task
	ex   *Executor
}

// Wake queues the waker's task to be polled again. A nil Waker wakes
// nobody.
func (w *Waker) Wake() {
	if w != nil {
		w.ex.wake(w.task)
	}
}

func (ex *Executor) wake(t *Task) {
	t.wakes.Add(1)
	if t.done.Load() || !t.queued.CompareAndSwap(false, true) {
		return
	}
	ex.mu.Lock()
	ex.woken = append(ex.woken, t)
	ex.mu.Unlock()
	if ex.sleeping.Load() {
		select {
		case ex.bell <- struct{}{}:
		default: // rung already
		}
	}
}

// takeWoken moves the woken tasks to the back of the run queue and reports
// whether there were any. Only the loop calls it.
func (ex *Executor) takeWoken() bool {
	ex.mu.Lock()
	woken := ex.woken
	ex.woken = nil
	ex.mu.Unlock()
	ex.queue = append(ex.queue, woken...)
	return len(woken) > 0
}
