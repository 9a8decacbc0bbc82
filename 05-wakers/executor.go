//go:build linux

package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// The executor's contract:
//
//	Spawn(ex, name, f)    makes f a task, queues it, and returns its JoinHandle.
//	BlockOn(ex, name, f)  spawns f and runs the loop until f has finished; returns its result.
//	ex.Run()              runs the loop until every task has finished.
//	ex.Close()            drops every task that has not finished.
//
// The loop is chapter 04's, with one change that matters: a task that
// returns Pending is not kept in a list to be polled again after every
// event. It is simply not on the run queue any more. The only way back is
// its Waker: the reactor calls it when the task's socket is ready, a
// JoinHandle when the task it waits for finishes, another goroutine when
// it has something for the task. So every poll is for a reason, and polls
// per message stay the same however many clients are connected.

// Task is a future the executor owns, with what it needs to drive it. The
// future's result type is erased behind poll, so that tasks of different
// types share one queue.
type Task struct {
	id    int
	name  string
	poll  func(cx *Context) bool // polls the future; true when it finished
	fail  func(err error)        // finishes the JoinHandle with err instead
	drop  func()                 // releases the future if it never finishes
	waker Waker                  // the task's one waker, made at Spawn
	cx    Context                // what every Poll of this task gets: its waker

	// Wake reads and writes these from any goroutine.
	queued atomic.Bool // on the run queue, or on its way there: more wakes are redundant
	done   atomic.Bool // finished or dropped: wakes are ignored
}

// Executor runs tasks on one goroutine: a FIFO run queue, and the reactor
// to sleep in when nobody can run. Wakers may be called from any
// goroutine; they reach the loop through woken.
type Executor struct {
	reactor *Reactor
	queue   []*Task       // runnable tasks, oldest first
	tasks   map[int]*Task // every task not finished yet, by id, for Close
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

	mu       sync.Mutex
	woken    []*Task     // tasks woken since the loop last looked (under mu)
	spare    []*Task     // the other buffer for woken, swapped in by takeWoken
	sleeping atomic.Bool // the loop is in epoll_wait, or about to enter it
	wakes    atomic.Int64
	remote   atomic.Int64 // wakes that found the loop asleep: from other goroutines

	// beforeSleep, if set, runs between the loop's last look at woken and
	// its epoll_wait: tests use it to wake a task in exactly that window.
	beforeSleep func()
}

// NewExecutor makes an executor that sleeps in reactor.
func NewExecutor(reactor *Reactor, trace tracer, log io.Writer) *Executor {
	return &Executor{reactor: reactor, tasks: make(map[int]*Task), trace: trace, log: log}
}

// JoinHandle is a spawned task's result to come. It is a future itself:
// Pending until the task finishes, then Ready with the task's value, or
// with the panic that ended it as an error. It yields the result once.
type JoinHandle[T any] struct {
	task     *Task
	value    T
	err      error
	finished bool   // the task is done: value or err is set
	taken    bool   // Poll returned Ready; polling again is a bug
	waiter   *Waker // the task awaiting this handle: woken when it finishes
}

// Joined is what a JoinHandle yields: the task's value, or why it has none.
type Joined[T any] struct {
	Value T
	Err   error // non-nil if the task panicked
}

// Poll is Ready once the task has finished. Until then it keeps the
// waker of whoever polls it, to wake when the task finishes.
func (h *JoinHandle[T]) Poll(cx *Context) Poll[Joined[T]] {
	if h.taken {
		panic("JoinHandle: polled after it returned Ready")
	}
	if !h.finished {
		h.waiter = cx.Waker
		return Pending[Joined[T]]()
	}
	h.taken = true
	return Ready(Joined[T]{Value: h.value, Err: h.err})
}

// finish records that the task is done and wakes whoever awaits it.
func (h *JoinHandle[T]) finish() {
	h.finished = true
	h.waiter.Wake()
	h.waiter = nil
}

// Spawn makes f a task named name, puts it at the back of the run queue
// and returns its handle. It may be called from inside a running task.
func Spawn[T any](ex *Executor, name string, f Future[T]) *JoinHandle[T] {
	ex.nextID++
	h := &JoinHandle[T]{}
	t := &Task{id: ex.nextID, name: name}
	t.waker = Waker{task: t, ex: ex}
	t.cx = Context{Waker: &t.waker}
	t.poll = func(cx *Context) bool {
		v, ok := f.Poll(cx).Value()
		if ok {
			h.value = v
			h.finish()
		}
		return ok
	}
	t.fail = func(err error) { h.err = err; h.finish() }
	t.drop = func() { drop(f) }
	h.task = t
	ex.tasks[t.id] = t
	t.queued.Store(true)
	ex.queue = append(ex.queue, t)
	return h
}

// BlockOn spawns f and runs the executor until f has finished, polling
// every other task meanwhile too. It returns f's result, or an error if
// f panicked.
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

// runUntil is the loop. It returns when done() says so, or when no task
// is left, or with an error from the reactor. With tasks left but none
// runnable it sleeps for as long as it takes: unlike chapter 04's, this
// executor cannot tell that nothing will ever wake them, since any
// goroutine holding a waker may.
func (ex *Executor) runUntil(done func() bool) error {
	for !done() {
		ex.takeWoken()
		if len(ex.queue) > 0 {
			t := ex.queue[0]
			ex.queue[0] = nil // let the GC have it once it is done
			ex.queue = ex.queue[1:]
			ex.run(t)
			continue
		}
		if len(ex.tasks) == 0 {
			return nil // nothing left to do
		}
		// Nobody can run: sleep until a waker is called. Order matters.
		// First say we are going to sleep, so that from now on a Wake
		// from another goroutine writes to the eventfd; then look for
		// wakes one last time. A wake that landed before the flag was
		// set is found by this look; one that lands after it finds the
		// flag and pulls us out of epoll_wait. Looking first and setting
		// the flag second would leave a window where a wake is seen by
		// neither, and we would sleep through it: the lost wakeup.
		ex.sleeping.Store(true)
		if ex.takeWoken() {
			ex.sleeping.Store(false)
			continue
		}
		if ex.beforeSleep != nil {
			ex.beforeSleep()
		}
		ready, err := ex.reactor.Wait(-1)
		ex.sleeping.Store(false)
		if err != nil {
			return err
		}
		// The reactor says whose sockets are ready; wake exactly those.
		for _, w := range ready {
			w.Wake()
		}
	}
	return nil
}

// run polls one task and files it: done, or waiting for its waker.
func (ex *Executor) run(t *Task) {
	if t.done.Load() {
		return // woken while it was finishing: nothing left to poll
	}
	// Clear queued before polling, not after: an event that comes while
	// the task runs must be able to queue it again, or it would be lost.
	t.queued.Store(false)
	ex.polls++
	work := ex.meter()
	finished, err := ex.pollIsolated(t)
	result := "Ready"
	switch {
	case err != nil:
		ex.panics++
		t.fail(err)
		fmt.Fprintf(ex.log, "%s: %v\n", program, err)
		result = "panicked"
	case !finished:
		result = "Pending"
		if ex.meter() == work {
			ex.empty++ // nothing read, written or accepted
			result = "Pending, empty"
		}
	}
	if ex.trace.on() {
		ex.trace.printf("poll task %d (%s): %s", t.id, t.name, result)
	}
	if err == nil && !finished {
		return // off the queue until its waker is called
	}
	t.done.Store(true)
	delete(ex.tasks, t.id)
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
func (ex *Executor) pollIsolated(t *Task) (finished bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("task %d (%s) panicked: %v", t.id, t.name, p)
			t.drop()
		}
	}()
	return t.poll(&t.cx), nil
}

// Close drops every task that has not finished, queued or waiting, in the
// order they were spawned, so each releases what it holds (a session
// closes its connection). Wakes that come later are ignored.
func (ex *Executor) Close() {
	ids := slices.Sorted(maps.Keys(ex.tasks))
	for _, id := range ids {
		t := ex.tasks[id]
		t.done.Store(true)
		t.drop()
	}
	clear(ex.tasks)
	ex.queue = nil
	ex.mu.Lock()
	ex.woken = nil
	ex.mu.Unlock()
}
