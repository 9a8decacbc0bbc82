// Wrong, on purpose: wake checks queued with Load, then sets it with Store: two wakes can
// both read false, and both queue the task.

package waker

// The waker's contract:
//
//	w.Wake()   puts w's task back on the executor's run queue, once: more
//	           calls before the task has been polled again change nothing,
//	           and a call after the task has finished is ignored. It may be
//	           called from any goroutine, at any time, as often as you like.
//
// Each task has one Waker, made when it is spawned. The executor hands it
// to every Poll of that task in the Context; a future that returns Pending
// gives it to whatever it waits for (in the chapter: the reactor, for a
// socket; here: a mailbox in the tests, filled by another goroutine).
// Whoever holds it calls Wake when the wait is over, and exactly that task
// runs again.

// Waker wakes one task.
type Waker struct {
	task *Task
	ex   *Executor
}

// Wake queues the task to be polled again. A nil Waker wakes nobody, so a
// future can be polled by hand with an empty Context.
func (w *Waker) Wake() {
	if w != nil {
		w.ex.wake(w.task)
	}
}

// wake is Wake's work. Any goroutine may be here, so everything it touches
// is atomic or under ex.mu; the run queue itself belongs to the loop, and
// woken tasks reach it through ex.woken. It must:
//
//   - ignore a task that has finished (t.done): a late event, a stale waker;
//   - queue a task once, however many wakes come before it is polled again:
//     t.queued says it is on the run queue or on its way there, and only the
//     wake that turns it from false to true appends t to ex.woken;
//   - if that wake finds the loop asleep (ex.sleeping), call ex.notify,
//     because a sleeping loop does not look at ex.woken until something
//     ends its sleep.
func (ex *Executor) wake(t *Task) {
	if t.done.Load() {
		return // finished: nothing to poll
	}
	// CompareAndSwap, not Load then Store: between a Load that saw false
	// and the Store, another goroutine could load false too, and both
	// would append the task. Exactly one caller wins the swap.
	if t.queued.Load() {
		return // already on its way to the run queue
	}
	t.queued.Store(true)
	ex.mu.Lock()
	ex.woken = append(ex.woken, t)
	ex.mu.Unlock()
	// Read the flag after the task is on ex.woken, never before. If the
	// loop sets the flag later than this read, it has not yet taken its
	// last look (it sets the flag first), and that look will find t. If it
	// set the flag earlier, we see it here and ring. Either way the wake
	// arrives. The loop is never asleep while it is itself the caller (a
	// task waking itself), so only other goroutines ring.
	if ex.sleeping.Load() {
		ex.notify()
	}
}

// takeWoken moves the tasks woken since the last call to the back of the
// run queue, in the order they were woken, and reports whether there were
// any. Only the loop calls it. (The chapter swaps two buffers here instead
// of allocating a new one each time; a nil slice keeps the idea visible.)
func (ex *Executor) takeWoken() bool {
	ex.mu.Lock()
	woken := ex.woken
	ex.woken = nil
	ex.mu.Unlock()
	ex.queue = append(ex.queue, woken...)
	return len(woken) > 0
}
