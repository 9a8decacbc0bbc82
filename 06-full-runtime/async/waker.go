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
// benchmark at depth 16 (chapters/benchmarks.md). It counts the wake in
// a plain field that only the loop touches, not in the atomic counter the
// other goroutines share.
func (w *Waker) wakeHere() {
	t, ex := w.task, w.ex
	if t.done.Load() || !t.queued.CompareAndSwap(false, true) {
		return // finished, or already on its way: as in wake
	}
	ex.wakesHere++
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
	ex.anyWoken.Store(true) // after the append: takeWoken that sees it finds the task
	ex.wakes.Add(1)
	// If the loop is asleep in epoll_wait (or about to be: see
	// sleepUntilWoken), only the kernel can wake it: ask the reactor to
	// write to its eventfd. The loop is never asleep while it is the one
	// calling Wake, so this path is taken only by other goroutines. The
	// order of anyWoken, set above, and this look at sleeping is the
	// mirror of sleepUntilWoken's: either the loop's last takeWoken sees
	// the flag, or this sees the loop asleep and rings.
	if ex.sleeping.Load() {
		ex.remote.Add(1)
		ex.reactor.notify()
	}
}

// takeWoken moves the tasks woken since the last call to the back of the
// run queue, in the order they were woken, and reports whether there were
// any. Only the loop calls it, before every poll of a task; almost always
// no Wake has been called since the last call (the loop's own wakes of
// ready sockets and timers go through wakeHere), and one atomic load of
// anyWoken says so without taking the mutex (a lock and an unlock per poll, which the echo
// benchmark measured; chapters/benchmarks.md). A wake whose flag it has
// not seen yet is found by the next call.
func (ex *executor) takeWoken() bool {
	if !ex.anyWoken.Load() {
		return false
	}
	ex.anyWoken.Store(false) // before taking the list: a wake after this sets it again
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
