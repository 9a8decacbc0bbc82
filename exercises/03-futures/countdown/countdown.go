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

	// TODO(03-futures/countdown): if Poll must remember more from one call
	// to the next than n and left can tell it, that goes here.
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
	// TODO(03-futures/countdown): answer as the doc comment says, keeping
	// the rules of the package comment.
	panic("TODO(03-futures/countdown): answer Pending n times, then Ready(n)")
}
