package selectfuture

// This file copies the future's types from the chapter's program,
// 03-futures/future.go, so that the exercise stands on its own. It is the
// same in the exercise and in its solution: there is nothing to change here.

// The future's contract, which every later chapter keeps:
//
//	f.Poll(cx) returns Ready(v) once the work is finished, with its result;
//	           or Pending() if it cannot finish yet (it would have to wait).
//
// Poll never blocks and never waits: it does what it can right now and
// returns. Whoever drives the future calls Poll again later. After Ready
// the future is finished and must not be polled again.

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

// Context is what a driver hands to each Poll. It is empty in this
// chapter; from chapter 05 on it carries the Waker, the way for a future
// that returns Pending to say "poll me again when this fd is ready".
// Passing it from the start keeps Poll's signature the same in every
// chapter, as Rust's does.
type Context struct{}

// Dropper is implemented by futures that hold something (a buffer, a
// descriptor) to give back if they are abandoned before they finish. Rust
// runs a value's Drop when it goes out of scope; Go has no destructors, so
// whoever abandons a future calls Drop by hand. Select does, for its loser.
// Drop on a future that has finished, or was dropped before, does nothing.
type Dropper interface {
	Drop()
}

// drop releases f's resources if it holds any.
func drop(f any) {
	if d, ok := f.(Dropper); ok {
		d.Drop()
	}
}
