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
	"errors"
	"time"
)

// ErrTimeout is the error of a Timeout whose time ran out. It matches
// os.ErrDeadlineExceeded with errors.Is, as the net package's timeouts do,
// so that code written for net.Conn deadlines recognises it.
//
// TODO(06-full-runtime/timeout): make ErrTimeout match
// os.ErrDeadlineExceeded with errors.Is, as said above, and keep its text.
var ErrTimeout = errors.New("timed out")

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
	// TODO(06-full-runtime/timeout): return the state machine below, with
	// all it needs; the limit counts from this call.
	panic("TODO(06-full-runtime/timeout): make the time limit's Sleep now, and return a timeoutFuture that holds it and f")
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
	// TODO(06-full-runtime/timeout): poll as the comment above says: who
	// goes first, with which Context, and letting go of the loser the moment
	// there is a winner.
	panic("TODO(06-full-runtime/timeout): poll f, then the sleep; Ready with whichever finishes first, and drop the other")
}

// Drop abandons a Timeout that has not finished: the task that awaited it
// was dropped, or an outer Timeout ran out. It drops f and the sleep, so
// that f lets go of what it holds and the timer leaves the heap. On a
// Timeout that has finished, or was dropped before, it does nothing.
func (t *timeoutFuture[T]) Drop() {
	// TODO(06-full-runtime/timeout): let go of f and the sleep, so that a
	// second Drop, or a Drop after Ready, does nothing.
	panic("TODO(06-full-runtime/timeout): drop f and the sleep, once")
}
