// Wrong, on purpose: polls the Sleep with an empty Context: its timer fires and wakes nobody.

// Package timeout is chapter 06's Timeout: a future that puts a time limit
// on another future. Timeout(rt, d, f) finishes with f's result if f
// finishes within d, and with ErrTimeout if the time runs out first. The
// loser is dropped on the spot: f, so that whatever it holds (its waker in
// the reactor, a buffer, a back-off timer) is let go at once; or the time
// limit's Sleep, so that its timer leaves the heap and cannot wake the
// task later for nothing.
//
// The chapter builds Timeout out of parts it already had, with no new
// machinery:
//
//	Map(Select(f, rt.Sleep(d)), func(e Either[T, struct{}]) Result[T] { ... })
//
// Here you write by hand the state machine that this composition amounts
// to, so that every duty Select takes on is in plain sight: who is polled
// first, with which Context, and who is dropped when.
package timeout

import (
	"fmt"
	"os"
	"time"
)

// ErrTimeout is the error of a Timeout whose time ran out. It matches
// os.ErrDeadlineExceeded with errors.Is, as the net package's timeouts do,
// so that code written for net.Conn deadlines recognises it. %w keeps
// os.ErrDeadlineExceeded in the chain that errors.Is walks; errors.New, or
// %v, would keep only its text.
var ErrTimeout = fmt.Errorf("timed out: %w", os.ErrDeadlineExceeded)

// Result is a value or an error: what a fallible future finishes with,
// since Go has no tuple to put in Poll[T].
type Result[T any] struct {
	Value T
	Err   error
}

// Timeout returns a future that finishes with f's result if f finishes
// within d, and with ErrTimeout otherwise; then f is dropped, and releases
// what it holds. d counts from now, when Timeout is called, not from the
// first poll: a task may wait a while before it is polled, and a limit
// that starts late is not the one asked for.
func Timeout[T any](rt *Runtime, d time.Duration, f Future[T]) Future[Result[T]] {
	// The Sleep fixes its deadline when it is made: here, so the limit
	// is d from now. Made in the first Poll instead, it would start late
	// by however long the task waited to be polled.
	return &timeoutFuture[T]{inner: f, sleep: rt.Sleep(d)}
}

// timeoutFuture is Timeout's state machine. It has two states, told apart
// by done: running (f and the sleep both live) and finished (Ready was
// returned; both have been let go).
type timeoutFuture[T any] struct {
	inner Future[T]        // f, the work under a time limit; nil once let go
	sleep Future[struct{}] // the time limit: Ready once it has run out; nil once let go
	done  bool             // Ready was returned; polling again is a bug
}

// Poll polls f, then the sleep, each with the task's Context cx, so that
// whichever of them can finish first wakes the task:
//
//   - f is Ready with v: drop the sleep, which cancels its timer, and return
//     Ready(Result{Value: v});
//   - else the sleep is Ready, the time is up: drop f, which lets go of what
//     it holds, and return Ready(Result{Err: ErrTimeout});
//   - else Pending: f and the sleep's timer both hold the task's waker.
//
// f goes first, so that if it finishes in the poll in which the time runs
// out, it wins: its work is done, and throwing it away would waste it. So
// a Timeout of 0 still gives f one poll. Polling again after Ready panics
// with "Timeout: polled after it returned Ready".
func (t *timeoutFuture[T]) Poll(cx *Context) Poll[Result[T]] {
	if t.done {
		panic("Timeout: polled after it returned Ready")
	}
	// f first: if it is ready now, it wins, even if the time ran out
	// meanwhile. (tokio's Timeout polls its future first too, and so does
	// the chapter's Select(f, Sleep(d)), which polls its first future
	// first.)
	if v, ok := t.inner.Poll(cx).Value(); ok {
		// Cancel the timer: left in the timers, it would fire later and
		// wake a task that has moved on, for nothing.
		drop(t.sleep)
		t.inner, t.sleep, t.done = nil, nil, true
		return Ready(Result[T]{Value: v})
	}
	// The same cx: a Pending Sleep hands the task's waker to its timer,
	// and that is what wakes the task when the time runs out. With an
	// empty Context the timer would fire and wake nobody.
	if t.sleep.Poll(&Context{}).IsReady() {
		// Abandon f midway: it must let go of what it holds (in the
		// chapter, a ReadLine withdraws its waker from the reactor).
		drop(t.inner)
		t.inner, t.sleep, t.done = nil, nil, true
		return Ready(Result[T]{Err: ErrTimeout})
	}
	// Both wait, each with the task's waker: f wherever it waits, the
	// Sleep in the timers. Whichever is first wakes the task.
	return Pending[Result[T]]()
}

// Drop abandons a Timeout that has not finished: the task that awaited it
// was dropped, or an outer Timeout ran out. It drops f and the sleep, so
// that f lets go of what it holds and the timer leaves the heap. On a
// Timeout that has finished, or was dropped before, it does nothing.
func (t *timeoutFuture[T]) Drop() {
	// Both are nil once the Timeout has finished or been dropped, and
	// drop(nil) does nothing: so a second Drop, or a Drop after Ready,
	// touches nothing.
	drop(t.inner)
	drop(t.sleep)
	t.inner, t.sleep = nil, nil
}
