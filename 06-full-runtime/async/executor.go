//go:build linux

package async

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The executor's contract:
//
//	Spawn(rt, name, f)    makes f a task, queues it, and returns its JoinHandle.
//	BlockOn(rt, name, f)  spawns f and runs the loop until f has finished; returns its result.
//	ex.loop(until)        runs tasks, and sleeps in the reactor when none can run.
//	ex.close()            drops every task that has not finished.
//
// The loop is chapter 05's: a task that returns Pending is not on the run
// queue any more, and the only way back is its Waker. So every poll is for
// a reason, and polls per message stay the same however many clients are
// connected.
//
// New in this chapter: timers, and two budgets. Before it sleeps, the loop
// asks the timers how long it may: epoll_wait's timeout is the time until
// the earliest deadline; after it wakes, due timers wake their tasks. A
// loop that always has tasks to run still looks at the reactor and the
// timers every pollBudget polls, so that a few busy tasks cannot starve
// every socket and every timer; and one poll of a task may make at most
// ioBudget reads and writes, so that one flooding client cannot hold the
// loop inside a single poll.

// task is a future the executor owns, with what it needs to drive it. It
// lives inside the task's JoinHandle (one allocation per Spawn), which
// knows the future's result type; the executor reaches the future through
// work, so that tasks of different types share one queue.
type task struct {
	id    uint32 // for the trace, in the order of Spawn (it wraps after 4 billion tasks: harmless)
	slot  int32  // its index in the executor's tasks, while it has not finished
	name  string
	work  work    // the JoinHandle this task lives in
	waker Waker   // the task's one waker
	cx    Context // what every Poll of this task gets: its waker

	// Wake reads and writes these from any goroutine.
	queued atomic.Bool // on the run queue, or on its way there: more wakes are redundant
	done   atomic.Bool // finished or dropped: wakes are ignored
}

// work is what the executor needs of a task's future, whatever its result
// type. JoinHandle implements it.
type work interface {
	pollFuture(cx *Context) bool // polls the future once; true when it finished
	fail(err error)              // finishes the task with err instead: its future panicked
	dropFuture()                 // releases the future: it will never be polled again
}

// executor runs tasks on one goroutine: a FIFO run queue, and the reactor
// to sleep in when nobody can run. Wakers may be called from any
// goroutine; they reach the loop through woken.
type executor struct {
	reactor *reactor
	timers  *timers
	budget  int           // polls left before the loop checks the reactor and timers anyway
	ioLeft  int           // reads and writes the task being polled may still make (see ioBudget)
	ioMax   int           // ioBudget, or Config.IOBudget; negative: no budget at all
	moved   int64         // reads and writes that moved bytes, and accepts that took a connection
	busy    bool          // the last epoll_wait woke a task: look again before sleeping
	now     time.Time     // when the loop last woke: Runtime.Now
	since   time.Duration // the same, as time since base: what Deadline compares and adds to
	queue   runQueue      // runnable tasks, oldest first
	tasks   []*task       // every task not finished yet, in no order (see task.slot), for close
	nextID  uint32
	trace   tracer
	log     io.Writer // where a panicking task is reported
	onPark  func()    // Config.OnPark
	polls   int64     // Poll calls on tasks
	empty   int64     // ... that returned Pending having moved nothing (see pollTask)
	panics  int64     // tasks that panicked

	mu        sync.Mutex
	woken     []*task      // tasks woken since the loop last looked (under mu)
	spare     []*task      // the other buffer for woken, swapped in by takeWoken
	anyWoken  atomic.Bool  // woken may hold tasks: set after appending, so takeWoken can skip mu when it is false
	sleeping  atomic.Bool  // the loop is in epoll_wait, or about to enter it
	wakes     atomic.Int64 // wakes through wake: from other goroutines, and the loop's own Wake calls
	wakesHere int64        // wakes on the loop's goroutine (wakeHere): only the loop counts them
	remote    atomic.Int64 // wakes that found the loop asleep: from other goroutines
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
// spent the task yields (see spendIO). Tokio calls this cooperative
// scheduling; its budget is 128 too.
const ioBudget = 128

func newExecutor(reactor *reactor, timers *timers, trace tracer, log io.Writer, onPark func()) *executor {
	return &executor{reactor: reactor, timers: timers, budget: pollBudget, ioLeft: ioBudget, ioMax: ioBudget,
		trace: trace, log: log, onPark: onPark}
}

// spendIO takes one read or write from the budget of the task being
// polled, and reports whether the system call may go ahead. When the
// budget is spent it makes the task yield instead: it wakes the task, so
// that it runs again after the others (nothing else would wake it: its
// socket may still have data, and no new edge will say so), and it has
// the loop look at the kernel before it runs anyone else, or a flooding
// task, back at the end of the queue, would keep the others' events
// waiting for up to a whole poll budget of turns. The caller returns
// Pending.
func (ex *executor) spendIO(cx *Context) bool {
	if ex.ioMax < 0 {
		return true // no budget: Config.IOBudget turned it off
	}
	if ex.ioLeft > 0 {
		ex.ioLeft--
		return true
	}
	cx.Waker.Wake()
	ex.budget = 0
	return false
}

// JoinHandle is a spawned task's result to come. It is a future itself:
// Pending until the task finishes, then Ready with the task's value, or
// with the panic that ended it as an error. It yields the result once.
// The task itself lives in it.
type JoinHandle[T any] struct {
	task
	f        Future[T] // nil once finished or dropped
	value    T
	panicked *error // the panic that ended the task, if one did (a pointer: 8 bytes kept, not 16)
	waiter   *Waker // the task awaiting this handle: woken when it finishes
	finished bool   // the task is done: value or panicked is set
	taken    bool   // Poll returned Ready; polling again is a bug
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
	return Ready(Joined[T]{Value: h.value, Err: h.err()})
}

func (h *JoinHandle[T]) pollFuture(cx *Context) bool {
	v, ok := h.f.Poll(cx).Value()
	if ok {
		h.value, h.f = v, nil
		h.finish()
	}
	return ok
}

func (h *JoinHandle[T]) fail(err error) { h.panicked = &err; h.finish() }

// err is the panic that ended the task, or nil.
func (h *JoinHandle[T]) err() error {
	if h.panicked == nil {
		return nil
	}
	return *h.panicked
}

func (h *JoinHandle[T]) dropFuture() {
	Drop(h.f)
	h.f = nil
}

// finish records that the task is done and wakes whoever awaits it.
func (h *JoinHandle[T]) finish() {
	h.finished = true
	h.waiter.Wake()
	h.waiter = nil
}

// Spawn makes f a task named name, puts it at the back of rt's run queue
// and returns its handle. It may be called from inside a running task;
// like every method of the runtime but Wake, only from the loop's
// goroutine.
func Spawn[T any](rt *Runtime, name string, f Future[T]) *JoinHandle[T] {
	ex := rt.ex
	ex.nextID++
	h := &JoinHandle[T]{f: f}
	t := &h.task
	t.id, t.name, t.work = ex.nextID, name, h
	t.waker = Waker{task: t, ex: ex}
	t.cx = Context{Waker: &t.waker}
	t.slot = int32(len(ex.tasks))
	ex.tasks = append(ex.tasks, t)
	t.queued.Store(true)
	ex.queue.push(t)
	return h
}

// BlockOn spawns f and runs rt's loop on the calling goroutine until f has
// finished, polling every other task meanwhile too. It returns f's
// result, or an error if f panicked or the reactor failed.
func BlockOn[T any](rt *Runtime, name string, f Future[T]) (T, error) {
	h := Spawn(rt, name, f)
	err := rt.ex.loop(func() bool { return h.finished })
	if err == nil {
		err = h.err()
	}
	return h.value, err
}

// loop is the event loop. It returns when until() says so, or when no
// task is left, or with an error from the reactor. With tasks left but
// none runnable it sleeps for as long as it takes: it cannot tell that
// nothing will ever wake them, since any goroutine holding a waker may.
func (ex *executor) loop(until func() bool) error {
	ex.setNow(time.Now()) // the clock stood still while nobody ran the loop
	for !until() {
		ex.takeWoken()
		switch {
		case ex.queue.len() > 0 && ex.budget == 0:
			// Busy for pollBudget polls in a row: look at the sockets
			// and timers without sleeping, then go on.
			if err := ex.glance(); err != nil {
				return err
			}
		case ex.queue.len() > 0:
			ex.budget--
			ex.pollTask(ex.queue.pop())
		case len(ex.tasks) == 0:
			return nil // nothing left to do
		default:
			if err := ex.sleepUntilWoken(); err != nil {
				return err
			}
		}
	}
	return nil
}

// glance asks the reactor what is ready without waiting (epoll_wait with
// a zero timeout), and wakes whom that concerns: the loop is busy, not
// asleep, so sleeping stays false.
func (ex *executor) glance() error {
	ex.budget = pollBudget
	if ex.trace.on() {
		ex.trace.printf("epoll_wait, timeout 0: poll budget spent, a look at the sockets and timers before going on")
	}
	ready, err := ex.reactor.wait(0)
	if err != nil {
		return err
	}
	ex.wakeAll(ready)
	return nil
}

// sleepUntilWoken sleeps in epoll_wait until a waker is called, a socket
// is ready or the earliest timer is due, then wakes whom that concerns.
// It is the only place that sets and clears sleeping, and the order
// matters. First it says it is going to sleep, so that from then on a Wake
// from another goroutine writes to the eventfd; then it looks for wakes
// one last time. A wake whose anyWoken was set before the flag is found
// by this look; one that looks at the flag after it was set finds it and
// pulls us out of epoll_wait (wake sets anyWoken first, then looks: the
// mirror order). Looking first and setting the flag second would leave a
// window where a wake is seen by neither, and we would sleep through it:
// the lost wakeup.
func (ex *executor) sleepUntilWoken() error {
	ex.sleeping.Store(true)
	if ex.takeWoken() {
		ex.sleeping.Store(false)
		return nil
	}
	if ex.onPark != nil {
		ex.onPark() // a Wake from here rings the eventfd: the sleep below returns at once
	}
	ex.budget = pollBudget
	timeout := ex.timers.untilNext(time.Now())
	lookAgain := ex.busy && timeout != 0
	if lookAgain {
		// The last look found sockets ready: under load, more are
		// nearly always ready by now. Look once more without sleeping
		// (a raw call, see reactor.peek), and sleep only when a look
		// finds nothing. Go's scheduler, too, polls the network without
		// blocking before it lets a thread sleep.
		timeout = 0
	}
	if ex.trace.on() {
		ex.trace.printf("epoll_wait, timeout %s: %s", showTimeout(timeout), ex.why(timeout, lookAgain))
	}
	ready, err := ex.reactor.wait(timeout)
	// Awake again: from now on a Wake, ours included, needs no eventfd.
	ex.sleeping.Store(false)
	if err != nil {
		return err
	}
	ex.busy = len(ready) > 0
	ex.wakeAll(ready)
	return nil
}

// wakeAll wakes the tasks whose sockets the reactor found ready, and those
// whose timers are due.
func (ex *executor) wakeAll(ready []*Waker) {
	for _, w := range ready {
		w.wakeHere()
	}
	ex.setNow(time.Now())
	ex.timers.fire(ex.now)
}

// setNow sets the loop's clock, in both its forms.
func (ex *executor) setNow(t time.Time) { ex.now, ex.since = t, t.Sub(base) }

// why says, for the trace, where a sleep's timeout came from.
func (ex *executor) why(timeout time.Duration, lookAgain bool) string {
	switch {
	case lookAgain:
		return "the last look found events: look again before sleeping"
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

// pollTask polls one task and files it: done, or waiting for its waker.
// It also counts the polls that found nothing to do: they returned
// Pending, and no read or write of theirs moved a byte, and no accept took
// a connection. A task woken by an event it then finds was not for it
// (a stale waker, a timer that fired early and was re-armed) polls for
// nothing; chapter 04's loop, which re-polled every task on every event,
// did little else.
func (ex *executor) pollTask(t *task) {
	if t.done.Load() {
		return // woken while it was finishing: nothing left to poll
	}
	// Clear queued before polling, not after: an event that comes while
	// the task runs must be able to queue it again, or it would be lost.
	t.queued.Store(false)
	ex.polls++
	ex.ioLeft = ex.ioMax
	moved := ex.moved
	finished, err := ex.pollIsolated(t)
	switch {
	case err != nil:
		ex.panics++
		t.work.fail(err)
		fmt.Fprintf(ex.log, "async: %v\n", err)
	case !finished && ex.moved == moved:
		ex.empty++
	}
	if ex.trace.on() {
		ex.trace.printf("poll task %d (%s): %s", t.id, t.name, pollOutcome(finished, err))
	}
	if !finished && err == nil {
		return // off the queue until its waker is called
	}
	t.done.Store(true)
	ex.retire(t)
}

// retire takes a finished task out of ex.tasks: the last one moves into
// its slot. (A map by id would do too, at two or three times the memory
// per task: that is part of what each connection costs.)
func (ex *executor) retire(t *task) {
	last := ex.tasks[len(ex.tasks)-1]
	last.slot, ex.tasks[t.slot] = t.slot, last
	ex.tasks[len(ex.tasks)-1] = nil
	ex.tasks = ex.tasks[:len(ex.tasks)-1]
}

// pollOutcome names the outcome of a poll, for the trace.
func pollOutcome(finished bool, err error) string {
	switch {
	case err != nil:
		return "panicked"
	case finished:
		return "Ready"
	}
	return "Pending"
}

// pollIsolated polls t, turning a panic into an error for t alone: one
// broken task must not take the loop, and every other task, down with it.
func (ex *executor) pollIsolated(t *task) (finished bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("task %d (%s) panicked: %v", t.id, t.name, p)
			t.work.dropFuture()
		}
	}()
	return t.work.pollFuture(&t.cx), nil
}

// close drops every task that has not finished, queued or waiting, in the
// order they were spawned, so each releases what it holds (a session
// closes its connection). Wakes that come later are ignored.
func (ex *executor) close() {
	tasks := slices.SortedFunc(slices.Values(ex.tasks), func(a, b *task) int { return cmp.Compare(a.id, b.id) })
	for _, t := range tasks {
		t.done.Store(true)
		t.work.dropFuture()
	}
	ex.tasks = nil
	ex.queue = runQueue{}
	ex.mu.Lock()
	ex.woken = nil
	ex.mu.Unlock()
}

// runQueue is the executor's FIFO of runnable tasks: a ring buffer that
// doubles when it is full. The slice it replaces popped from the front
// with queue = queue[1:], which shrinks the capacity at the front until
// append must copy the whole queue into a new array; a ring reuses its
// slots for ever. (A real executor would use a lock-free queue per
// thread; with one thread, a ring keeps the idea visible.)
type runQueue struct {
	buf  []*task // len(buf) is a power of two, so that & replaces %
	head int     // the oldest task
	n    int     // how many are queued
}

func (q *runQueue) len() int { return q.n }

func (q *runQueue) push(t *task) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = t
	q.n++
}

// pop takes the oldest task; the queue must not be empty.
func (q *runQueue) pop() *task {
	t := q.buf[q.head]
	q.buf[q.head] = nil // let the GC have it once it is done
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	return t
}

// grow doubles the ring, moving the tasks to the front in order.
func (q *runQueue) grow() {
	buf := make([]*task, max(2*len(q.buf), 64))
	for i := range q.n {
		buf[i] = q.buf[(q.head+i)&(len(q.buf)-1)]
	}
	q.buf, q.head = buf, 0
}
