// Package countdown is the smallest future that needs more than one poll: it
// answers Pending a set number of times, then Ready.
//
// It stands for any work that takes several turns, such as a read waiting for
// bytes, and it keeps the rules every future keeps. Poll never waits: it does
// one step, says where the work stands, and returns. How far the work has got
// lives in the future's fields, because nothing else survives from one Poll to
// the next. And once Poll has returned Ready the future is finished: a driver
// that polls it again has a bug, and the future says so by panicking.
package countdown

// Countdown is a future that is Pending for its first n polls, then Ready
// with n. Make one with New.
type Countdown struct {
	n    int // the value to finish with
	left int // Pending answers still to give

	// left == 0 cannot tell "Ready is next" from "Ready was given", so a
	// third state needs a field of its own.
	done bool // Ready has been returned; another Poll is a bug
}

// New returns a countdown that answers Pending n times, then Ready with n.
// n must not be negative; New(0) is Ready at its first poll.
func New(n int) *Countdown {
	return &Countdown{n: n, left: n}
}

// Poll answers Pending as long as the countdown has Pending answers left,
// using up one per call, and then Ready(n). Polling it again after Ready
// panics with "countdown: polled after it returned Ready".
func (c *Countdown) Poll(*Context) Poll[int] {
	// A finished future has handed over its result, and whatever it held
	// may be gone. Answering again, Ready or Pending, would hide the
	// driver's bug, so say it loudly instead.
	if c.done {
		panic("countdown: polled after it returned Ready")
	}
	// The count lives in the struct, not in a local variable: this call
	// returns, and only the fields are there at the next Poll.
	if shared == -1 {
		shared = c.left
	}
	if shared > 0 {
		shared--
		return Pending[int]()
	}
	shared = -1
	c.done = true
	return Ready(c.n)
}

// WRONG: one count for every countdown, in a package-level variable.
var shared = -1
