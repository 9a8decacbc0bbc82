//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
)

// The executor's contract:
//
//	Spawn(ex, name, f)    makes f a task, queues it, and returns its JoinHandle.
//	BlockOn(ex, name, f)  spawns f and runs the loop until f has finished; returns its result.
//	ex.Run()              runs the loop until every task has finished.
//	ex.Close()            drops every task that has not finished.
//
// The loop is the article's pseudo-code, written out: take the next task
// from the run queue and poll it; Ready means it is done, Pending parks
// it. With nothing left to run, sleep in epoll_wait. Spawn and BlockOn are
// functions, not methods, because Go methods cannot have type parameters.
//
// What this executor cannot do is tell which parked task an event is
// for: nothing connects a descriptor to the task waiting on it. So after
// every epoll_wait, and every time a task finishes (someone may be waiting
// for its JoinHandle), it puts every parked task back on the queue, and
// most of them poll only to say Pending again. Chapter 05 fixes that.

// Task is a future the executor owns, with what it needs to drive it. The
// future's result type is erased behind poll, so that tasks of different
// types share one queue.
type Task struct {
	id    int
	name  string
	state taskState
	poll  func(cx *Context) bool // polls the future; true when it finished
	fail  func(err error)        // finishes the JoinHandle with err instead
	drop  func()                 // releases the future if it never finishes
}

type taskState int

const (
	taskQueued taskState = iota // on the run queue, waiting for its turn
	taskParked                  // returned Pending; waits for something to happen
	taskDone                    // returned Ready (or panicked); will not be polled again
)

// Executor runs tasks on one goroutine: a FIFO run queue, the parked
// tasks, and the reactor to sleep in when nobody can run.
type Executor struct {
	reactor *Reactor
	queue   []*Task // runnable tasks, oldest first
	parked  []*Task // tasks that returned Pending
	nextID  int
	trace   tracer
	log     io.Writer // where a panicking task is reported
	polls   int64     // Poll calls on tasks
	empty   int64     // ... that returned Pending and found nothing to do (see work)
	panics  int64     // tasks that panicked

	// work, if set, is the program's work meter (the server's
	// stats.work): a count that grows whenever a task does something, here
	// reading or writing bytes, or accepting a connection. The executor
	// cannot see inside a future, so it reads the meter before and after
	// each poll: a poll that returns Pending and leaves it where it was
	// found nothing to do, and counts as empty. With no meter, every
	// Pending counts as empty.
	work *int64
}

// NewExecutor makes an executor that sleeps in reactor.
func NewExecutor(reactor *Reactor, trace tracer, log io.Writer) *Executor {
	return &Executor{reactor: reactor, trace: trace, log: log}
}

// JoinHandle is a spawned task's result to come. It is a future itself:
// Pending until the task finishes, then Ready with the task's value, or
// with the panic that ended it as an error. It yields the result once.
type JoinHandle[T any] struct {
	task     *Task
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

// Poll is Ready once the task has finished.
func (h *JoinHandle[T]) Poll(*Context) Poll[Joined[T]] {
	if h.taken {
		panic("JoinHandle: polled after it returned Ready")
	}
	if !h.finished {
		return Pending[Joined[T]]()
	}
	h.taken = true
	return Ready(Joined[T]{Value: h.value, Err: h.err})
}

// Spawn makes f a task named name, puts it at the back of the run queue
// and returns its handle. It may be called from inside a running task.
func Spawn[T any](ex *Executor, name string, f Future[T]) *JoinHandle[T] {
	ex.nextID++
	h := &JoinHandle[T]{}
	t := &Task{id: ex.nextID, name: name, state: taskQueued}
	t.poll = func(cx *Context) bool {
		v, ok := f.Poll(cx).Value()
		if ok {
			h.value, h.finished = v, true
		}
		return ok
	}
	t.fail = func(err error) { h.err, h.finished = err, true }
	t.drop = func() { drop(f) }
	h.task = t
	ex.queue = append(ex.queue, t)
	return h
}

// BlockOn spawns f and runs the executor until f has finished, polling
// every other task meanwhile too. It returns f's result, or an error if
// f panicked or can never finish.
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

// errStuck is returned when tasks are parked but nothing could ever wake
// them: no descriptor is registered, so epoll_wait would sleep forever.
var errStuck = errors.New("every task is Pending and none waits for a descriptor: nothing can wake them")

// runUntil is the loop. It returns when done() says so, or when no task
// is left, or with an error from the reactor or errStuck.
func (ex *Executor) runUntil(done func() bool) error {
	cx := &Context{} // still empty: the executor has no way to be told whom to wake
	for !done() {
		if len(ex.queue) > 0 {
			t := ex.queue[0]
			ex.queue[0] = nil // let the GC have it once it is done
			ex.queue = ex.queue[1:]
			ex.run(t, cx)
			continue
		}
		if len(ex.parked) == 0 {
			return nil // nothing left to do
		}
		if ex.reactor.watched == 0 {
			return errStuck
		}
		// Nobody can run: sleep until the kernel says some fd is ready.
		if _, err := ex.reactor.Wait(-1); err != nil {
			return err
		}
		// Which task was that for? We cannot tell, so: everyone.
		ex.wakeAll("epoll_wait returned")
	}
	return nil
}

// run polls one task and files it: done, or parked.
func (ex *Executor) run(t *Task, cx *Context) {
	ex.polls++
	work := ex.meter()
	finished, err := ex.pollIsolated(t, cx)
	switch {
	case err != nil:
		ex.panics++
		t.fail(err)
		fmt.Fprintf(ex.log, "%s: %v\n", program, err)
		ex.trace.printf("poll task %d (%s): panicked", t.id, t.name)
	case finished:
		ex.trace.printf("poll task %d (%s): Ready", t.id, t.name)
	default:
		pending := "Pending"
		if ex.meter() == work {
			ex.empty++ // nothing read, written or accepted
			pending = "Pending, empty"
		}
		ex.trace.printf("poll task %d (%s): %s", t.id, t.name, pending)
		t.state = taskParked
		ex.parked = append(ex.parked, t)
		return
	}
	t.state = taskDone
	// Someone may be waiting for this task's JoinHandle. Which one? We
	// cannot tell, so again: everyone.
	ex.wakeAll(fmt.Sprintf("task %d finished", t.id))
}

// meter reads the work meter, or 0 if there is none.
func (ex *Executor) meter() int64 {
	if ex.work == nil {
		return 0
	}
	return *ex.work
}

// pollIsolated polls t, turning a panic into an error for t alone: one
// broken task must not take the loop, and every other task, down with it.
func (ex *Executor) pollIsolated(t *Task, cx *Context) (finished bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("task %d (%s) panicked: %v", t.id, t.name, p)
			t.drop()
		}
	}()
	return t.poll(cx), nil
}

// wakeAll moves every parked task back to the run queue, in the order
// they parked.
func (ex *Executor) wakeAll(why string) {
	if len(ex.parked) == 0 {
		return
	}
	ex.trace.printf("%s: re-queueing all %d parked tasks", why, len(ex.parked))
	for _, t := range ex.parked {
		t.state = taskQueued
	}
	ex.queue = append(ex.queue, ex.parked...)
	ex.parked = ex.parked[:0]
}

// Close drops every task that has not finished, queued or parked, so each
// releases what it holds (a session closes its connection).
func (ex *Executor) Close() {
	for _, list := range [][]*Task{ex.queue, ex.parked} {
		for _, t := range list {
			t.state = taskDone
			t.drop()
		}
	}
	ex.queue, ex.parked = nil, nil
}
