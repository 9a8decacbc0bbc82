package sleep

// This file copies the future's types from the chapter's program,
// 05-wakers/future.go, so that the exercise stands on its own. It is the
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

// Context is what a driver hands to each Poll: the Waker of the task being
// polled. A future that returns Pending must first hand that waker to
// whatever it waits for (here: a timer), so that it is polled again once
// waiting is over, and not before. A future that returns Pending without
// doing so is never polled again.
type Context struct {
	Waker *Waker
}

// Dropper is implemented by futures that hold something (a buffer, a
// descriptor, a timer) to give back if they are abandoned before they
// finish. Rust runs a value's Drop when it goes out of scope; Go has no
// destructors, so whoever abandons a future calls Drop by hand. Drop on a
// future that has finished, or was dropped before, does nothing.
type Dropper interface {
	Drop()
}

// drop releases f's resources if it holds any.
func drop(f any) {
	if d, ok := f.(Dropper); ok {
		d.Drop()
	}
}
