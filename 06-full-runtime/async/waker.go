//go:build linux

package async

import "fmt"

// The waker's contract:
//
//	w.Wake()   puts w's task back on the executor's run queue, once: more
//	           calls before the task has been polled again change nothing,
//	           and a call after the task has finished is ignored. It may be
//	           called from any goroutine, at any time, as often as you like.
//
// Each task has one Waker, made when it is spawned. The executor hands it
// to every Poll of that task in the Context; a future that returns Pending
// gives it to whatever it waits for: the reactor, for a socket; a timer,
// for a deadline; the JoinHandle, for another task; a goroutine of its
// own, for anything else. Whoever holds it calls Wake when the wait is
// over, and exactly that task runs again. Nobody else is polled.

// Waker wakes one task.
type Waker struct {
	task *task
	ex   *executor
}

// Wake queues the task to be polled again. A nil Waker wakes nobody, so a
// future can be polled by hand with an empty Context.
func (w *Waker) Wake() {
	if w != nil {
		w.ex.wake(w.task)
	}
}

// String names the task the waker wakes, for the trace.
func (w *Waker) String() string {
	if w == nil {
		return "nobody"
	}
	return fmt.Sprintf("task %d (%s)", w.task.id, w.task.name)
}

// wakeHere is Wake for the loop's own goroutine, which wakes the tasks
// whose sockets the reactor found ready and whose timers are due: nobody
// else is involved, so the task goes straight onto the run queue, without
// the mutex and the woken list that a wake from another goroutine needs,
// and without asking whether the loop sleeps (it is the one running
// this). It saves a lock and an unlock per event, about 3% of the echo
// benchmark at depth 16 (chapters/benchmarks.md).
func (w *Waker) wakeHere() {
	t, ex := w.task, w.ex
	if t.done.Load() || !t.queued.CompareAndSwap(false, true) {
		return // finished, or already on its way: as in wake
	}
	ex.wakes.Add(1)
	if ex.trace.on() {
		ex.trace.printf("woken: task %d (%s)", t.id, t.name)
	}
	ex.queue.push(t)
}

// wake is Wake's work. Any goroutine may be here, so everything it touches
// is atomic or under ex.mu; the run queue itself belongs to the loop, and
// woken tasks reach it through ex.woken.
func (ex *executor) wake(t *task) {
	if t.done.Load() {
		return // finished: nothing to poll (a late event, a stale waker)
	}
	if !t.queued.CompareAndSwap(false, true) {
		return // already on its way to the run queue: one poll will do for both wakes
	}
	ex.mu.Lock()
	ex.woken = append(ex.woken, t)
	ex.mu.Unlock()
	ex.wakes.Add(1)
	// If the loop is asleep in epoll_wait (or about to be: see
	// sleepUntilWoken), only the kernel can wake it: ask the reactor to
	// write to its eventfd. The loop is never asleep while it is the one
	// calling Wake, so this path is taken only by other goroutines.
	if ex.sleeping.Load() {
		ex.remote.Add(1)
		ex.reactor.notify()
	}
}

// takeWoken moves the tasks woken since the last call to the back of the
// run queue, in the order they were woken, and reports whether there were
// any. Only the loop calls it.
func (ex *executor) takeWoken() bool {
	ex.mu.Lock()
	woken := ex.woken
	ex.woken = ex.spare[:0]
	ex.mu.Unlock()
	if ex.trace.on() {
		for _, t := range woken {
			ex.trace.printf("woken: task %d (%s)", t.id, t.name)
		}
	}
	for _, t := range woken {
		ex.queue.push(t)
	}
	// Swap the two slices instead of allocating: the one just emptied
	// collects the next wakes.
	clear(woken)
	ex.spare = woken
	return len(woken) > 0
}
