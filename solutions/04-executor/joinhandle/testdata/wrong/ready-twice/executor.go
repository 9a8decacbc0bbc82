// Wrong, on purpose: hands the result out again at every poll after Ready.

// Package joinhandle is the handle that chapter 04's Spawn returns: a task's
// result to come, and a future itself, so that one task can wait for another.
//
// A handle is Pending until its task has finished, then Ready, once, with
// the task's value; polling it again is a bug, and it panics to say so. A
// task that panics does not take the executor down: the loop recovers the
// panic and finishes the task's handle with an error that names the task.
// Spawn is where a task and its handle are tied together.
//
// The executor here is the chapter's, without epoll: nothing outside the
// tasks can wake a parked task. What can is another task finishing (someone
// may be waiting for its handle), and the loop cannot tell who, so then it
// puts every parked task back on the run queue.
package joinhandle

import (
	"errors"
	"fmt"
)

// Task is a future the executor owns. The future's result type is erased
// behind poll and fail, so that tasks of different types share one queue.
type Task struct {
	id   int
	name string
	poll func(cx *Context) bool // polls the future once; true when it has finished
	fail func(err error)        // the future panicked: finish the handle with err instead
}

// Executor runs tasks on one goroutine: a FIFO run queue, and the tasks
// that answered Pending.
type Executor struct {
	queue  []*Task // runnable tasks, oldest first
	parked []*Task // tasks that answered Pending, in the order they parked
	nextID int     // the id of the last task spawned
}

// NewExecutor returns an executor with no tasks.
func NewExecutor() *Executor {
	return &Executor{}
}

// JoinHandle is a spawned task's result to come. It is a future itself:
// Pending until the task finishes, then Ready with the task's value, or
// with the panic that ended it as an error. It yields the result once.
type JoinHandle[T any] struct {
	value    T
	err      error
	finished bool // the task is done: value or err is set
	taken    bool // Poll returned Ready; polling again is a bug
}

// Joined is what a JoinHandle yields: the task's value, or why it has none.
type Joined[T any] struct {
	Value T
	Err   error // non-nil if the task panicked
}

// Poll is Pending until the task has finished, then Ready with its value or
// its error. Polling again after Ready panics with
// "JoinHandle: polled after it returned Ready".
func (h *JoinHandle[T]) Poll(*Context) Poll[Joined[T]] {
	// The result has been handed over, and the value may hold something
	// (a connection, a buffer) that now belongs to whoever took it. A second
	// Ready would hand it out twice, so say the driver's bug out loud.
	// Not finished yet: Pending, as often as we are asked. Nothing here
	// will wake the poller; in this chapter the loop re-queues every parked
	// task when one finishes, and chapter 05 gives the handle a waker.
	if !h.finished {
		return Pending[Joined[T]]()
	}
	h.taken = true
	return Ready(Joined[T]{Value: h.value, Err: h.err})
}

// Spawn makes f a task named name, puts it at the back of the run queue and
// returns its handle. It does not poll f: the loop does, when the task's
// turn comes. It may be called from inside a running task.
func Spawn[T any](ex *Executor, name string, f Future[T]) *JoinHandle[T] {
	h := &JoinHandle[T]{}
	// The task and the handle share h through these two closures: the task
	// writes the result into it, the handle reads it out. T is known here
	// and nowhere in the loop, which sees only a func that says "finished".
	poll := func(cx *Context) bool {
		v, ok := f.Poll(cx).Value()
		if ok {
			// Only a Ready poll carries the value; a Pending one has none.
			h.value, h.finished = v, true
		}
		return ok
	}
	// A panic finishes the task as surely as Ready does: the loop will not
	// poll it again, so the handle must not wait for it for ever.
	fail := func(err error) { h.err, h.finished = err, true }
	ex.spawn(name, poll, fail)
	return h
}

// spawn gives the task made of poll and fail the next id and queues it.
func (ex *Executor) spawn(name string, poll func(cx *Context) bool, fail func(err error)) {
	ex.nextID++
	ex.queue = append(ex.queue, &Task{id: ex.nextID, name: name, poll: poll, fail: fail})
}

// BlockOn spawns f and runs the executor until f has finished, polling
// every other task meanwhile too. It returns f's value, or an error if f
// panicked or can never finish.
func BlockOn[T any](ex *Executor, name string, f Future[T]) (T, error) {
	h := Spawn(ex, name, f)
	err := ex.runUntil(func() bool { return h.finished })
	if err == nil && h.err != nil {
		err = h.err
	}
	return h.value, err
}

// Run runs the executor until every task has finished.
func (ex *Executor) Run() error {
	return ex.runUntil(func() bool { return false })
}

// ErrStuck is returned when tasks are parked but none is runnable: with no
// task left to finish, nothing can ever wake them.
var ErrStuck = errors.New("every task is Pending and none is left to wake them")

// runUntil is the loop. It returns when done() says so, or when no task
// is left, or with ErrStuck.
func (ex *Executor) runUntil(done func() bool) error {
	cx := &Context{}
	for !done() {
		if len(ex.queue) == 0 {
			if len(ex.parked) == 0 {
				return nil // nothing left to do
			}
			return ErrStuck
		}
		t := ex.queue[0]
		ex.queue[0] = nil // let the GC have the task once it is done
		ex.queue = ex.queue[1:]
		ex.run(t, cx)
	}
	return nil
}

// run polls one task and files it: done, or parked.
func (ex *Executor) run(t *Task, cx *Context) {
	finished, err := pollIsolated(t, cx)
	switch {
	case err != nil:
		t.fail(err)
	case !finished:
		ex.parked = append(ex.parked, t)
		return
	}
	// Someone may be waiting for this task's handle. Which one? We cannot
	// tell, so: every parked task, in the order they parked.
	ex.queue = append(ex.queue, ex.parked...)
	ex.parked = ex.parked[:0]
}

// pollIsolated polls t, turning a panic into an error for t alone: one
// broken task must not take the loop, and every other task, down with it.
// The task is finished then: it is never polled again.
func pollIsolated(t *Task, cx *Context) (finished bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("task %d (%s) panicked: %v", t.id, t.name, p)
		}
	}()
	return t.poll(cx), nil
}
