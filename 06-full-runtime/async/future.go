//go:build linux

package async

// The future's contract, which every chapter keeps:
//
//	f.Poll(cx) returns Ready(v) once the work is finished, with its result;
//	           or Pending() if it cannot finish yet (it would have to wait).
//
// Poll never blocks and never waits: it does what it can right now and
// returns. Whoever drives the future calls Poll again later. After Ready
// the future is finished and must not be polled again.
//
// That is all a Rust Future is, and all an async fn compiles to: a value
// with a Poll method whose fields remember where the work stands between
// two calls. Go has no async fn, so we write those values by hand.

// Poll is the result of polling a future: Ready with a value, or Pending.
type Poll[T any] struct {
	value T
	ready bool
}

// Ready is the Poll of a future that has finished with v.
func Ready[T any](v T) Poll[T] { return Poll[T]{value: v, ready: true} }

// Pending is the Poll of a future that cannot finish yet.
func Pending[T any]() Poll[T] { return Poll[T]{} }

// IsReady reports whether the future finished.
func (p Poll[T]) IsReady() bool { return p.ready }

// Value returns the result of a Ready poll, and false for Pending.
func (p Poll[T]) Value() (T, bool) { return p.value, p.ready }

// Future is work that can be driven forward, a step at a time, by Poll.
type Future[T any] interface {
	Poll(cx *Context) Poll[T]
}

// Context is what a driver hands to each Poll: the Waker of the task
// being polled. A future that returns Pending must first hand that waker
// to whatever it waits for (the reactor, for a socket), so that it is
// polled again once waiting is over, and not before. A future that
// returns Pending without doing so is never polled again.
type Context struct {
	Waker *Waker
}

// Dropper is implemented by futures that hold something (a waker left
// with the reactor, a timer, a descriptor) to give back if they are
// abandoned before they finish. Rust runs a value's Drop when it goes out
// of scope; Go has no destructors, so whoever abandons a future calls Drop
// by hand. Select does, for its loser. Drop on a future that has finished,
// or was dropped before, does nothing.
type Dropper interface {
	Drop()
}

// Drop releases f's resources if it holds any: it calls f.Drop if f is a
// Dropper, and does nothing otherwise (or if f is nil). A future that
// keeps other futures in its fields drops them in its own Drop.
func Drop(f any) {
	if d, ok := f.(Dropper); ok {
		d.Drop()
	}
}

// Result is a value or an error: what a fallible future finishes with,
// since Go has no tuple to put in Poll[T].
type Result[T any] struct {
	Value T
	Err   error
}
