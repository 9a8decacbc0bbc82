//go:build linux

package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The executor's contract (the Runtime wraps it: Spawn(rt, ...) and
// BlockOn(rt, ...) in runtime.go call these):
//
//	spawn(ex, name, f)    makes f a task, queues it, and returns its JoinHandle.
//	blockOn(ex, name, f)  spawns f and runs the loop until f has finished; returns its result.
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
//
// New in this chapter: timers. Before it sleeps, the loop asks the timers
// how long it may: epoll_wait's timeout is the time until the earliest
// deadline. After it wakes, expired timers wake their tasks. And a loop
// that always has tasks to run still looks at the reactor and the timers
// every pollBudget polls, so that a few busy tasks cannot starve every
// socket and every timer.

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
	timers  *Timers
	budget  int           // polls left before the loop checks the reactor and timers anyway
	ioLeft  int           // reads and writes the task being polled may still make (see ioBudget)
	queue   []*Task       // runnable tasks, oldest first
	tasks   map[int]*Task // every task not finished yet, by id, for Close
	nextID  int
	trace   tracer
	log     io.Writer // where a panicking task is reported
	polls   int64     // Poll calls on tasks
	wasted  int64     // ... that returned Pending
	panics  int64     // tasks that panicked

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

// pollBudget is how many polls the loop may make in a row before it
// checks the reactor (epoll_wait with a zero timeout) and the timers, even
// with tasks still queued. Tokio checks every 61 ticks, Go's scheduler its
// global queue every 61 schedules; any small number will do.
const pollBudget = 61

// ioBudget is how many reads and writes one poll of a task may make. The
// poll budget above cannot cut a poll short: a session whose client never
// stops sending would read, echo and read again inside one poll, for as
// long as the data lasts, and every other task would wait. So the socket
// futures count their system calls against this budget, and once it is
// spent they return Pending after waking their own task: it runs again
// after the others. Tokio calls this cooperative scheduling; its budget
// is 128 too.
const ioBudget = 128

// NewExecutor makes an executor that sleeps in reactor, until the next of
// timers is due.
func NewExecutor(reactor *Reactor, timers *Timers, trace tracer, log io.Writer) *Executor {
	return &Executor{reactor: reactor, timers: timers, budget: pollBudget, ioLeft: ioBudget,
		tasks: make(map[int]*Task), trace: trace, log: log}
}

// spend takes one read or write from the budget of the task being polled,
// and reports false if there was none left.
func (ex *Executor) spend() bool {
	if ex.ioLeft <= 0 {
		return false
	}
	ex.ioLeft--
	return true
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

// spawn makes f a task named name, puts it at the back of the run queue
// and returns its handle. It may be called from inside a running task.
func spawn[T any](ex *Executor, name string, f Future[T]) *JoinHandle[T] {
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

// blockOn spawns f and runs the executor until f has finished, polling
// every other task meanwhile too. It returns f's result, or an error if
// f panicked.
func blockOn[T any](ex *Executor, name string, f Future[T]) (T, error) {
	h := spawn(ex, name, f)
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
		if len(ex.queue) > 0 && ex.budget == 0 {
			// Busy for pollBudget polls in a row: look at the sockets
			// and timers without sleeping, then go on.
			ex.budget = pollBudget
			if err := ex.poll(0, "poll budget spent: a look at the sockets and timers before going on"); err != nil {
				return err
			}
			continue
		}
		if len(ex.queue) > 0 {
			ex.budget--
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
		ex.budget = pollBudget
		timeout := ex.timers.untilNext(time.Now())
		if err := ex.poll(timeout, ""); err != nil {
			return err
		}
	}
	return nil
}

// poll waits in the reactor for up to timeout (-1: until something
// happens), then wakes the tasks whose sockets are ready and those whose
// timers are due. why is for the trace; "" means the timers chose it.
func (ex *Executor) poll(timeout time.Duration, why string) error {
	if ex.trace.on() {
		if why == "" {
			why = ex.why(timeout)
		}
		ex.trace.printf("epoll_wait, timeout %s: %s", showTimeout(timeout), why)
	}
	ready, err := ex.reactor.Wait(timeout)
	ex.sleeping.Store(false)
	if err != nil {
		return err
	}
	// The reactor says whose sockets are ready; wake exactly those.
	for _, w := range ready {
		w.Wake()
	}
	ex.timers.fire(time.Now())
	return nil
}

// why says, for the trace, where a sleep's timeout came from.
func (ex *Executor) why(timeout time.Duration) string {
	switch {
	case timeout < 0:
		return "no timers, nothing runnable: sleep until a socket or a waker"
	case timeout == 0:
		return "a timer is due already"
	default:
		return fmt.Sprintf("the earliest of %d timer(s) is due then", ex.timers.len())
	}
}

// showTimeout prints a timeout as epoll_wait will see it.
func showTimeout(d time.Duration) string {
	if d < 0 {
		return "none"
	}
	return fmt.Sprintf("%v (%d ms)", d.Round(time.Microsecond), waitMillis(d))
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
	ex.ioLeft = ioBudget
	finished, err := ex.pollIsolated(t)
	result := "Ready"
	switch {
	case err != nil:
		ex.panics++
		t.fail(err)
		fmt.Fprintf(ex.log, "%s: %v\n", program, err)
		result = "panicked"
	case !finished:
		ex.wasted++
		result = "Pending"
	}
	if ex.trace.on() {
		ex.trace.printf("poll task %d (%s): %s", t.id, t.name, result)
	}
	if result == "Pending" {
		return // off the queue until its waker is called
	}
	t.done.Store(true)
	delete(ex.tasks, t.id)
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
