// Package sleep is a timer for chapter 05's world, which has none: Sleep(d),
// a future that is Ready once d has passed.
//
// Chapter 05's loop sleeps until a waker is called, and any goroutine may
// call one. So a future that waits for a time needs no help from the loop:
// on its first Pending poll it starts a timer (time.AfterFunc, through the
// afterFunc of clock.go), and when the timer fires, its function, on a
// goroutine of its own, calls the task's waker. The loop wakes the way it
// wakes for any other goroutine. Chapter 06 does better, with one heap of
// timers and epoll_wait's timeout, and no goroutine at all; this is the
// simplest timer that a Waker makes possible.
//
// The future and its timer's function run on two goroutines: whatever they
// share must be handed over safely, and the tests run under the race
// detector.
package sleep

import "time"

// Sleep returns a future that is Ready once d has passed since Sleep was
// called. The deadline is fixed now, by the package's clock (now), not at
// the first poll: a task may be polled a while after it makes its Sleep,
// and "d from now" should still mean now.
func Sleep(d time.Duration) Future[struct{}] {
	// TODO(05-wakers/sleep): make the future, with its deadline fixed now.
	panic("TODO(05-wakers/sleep): make a Sleep whose deadline is d from now")
}

// sleepFuture is Sleep's state machine.
type sleepFuture struct {
	// TODO(05-wakers/sleep): design the fields: what the future must
	// remember between polls, and what it shares with its timer's
	// function, which runs on another goroutine.
}

// Poll is Ready once the deadline has passed, by the clock (now) or
// because the timer has fired; a Sleep whose deadline has passed needs no
// timer. Before that it is Pending, however often it is polled: a poll is
// not a wake. The first Pending poll starts one timer, with afterFunc, for
// the time left; when it fires, its function, on a goroutine of its own,
// wakes the task: the waker of the latest poll, since a future may be
// polled by another task than the one that started it. Whatever Poll and
// the timer's function share, they share from two goroutines. Once Ready,
// the Sleep leaves no timer pending and wakes nobody. Polling again after
// Ready panics with "Sleep: polled after it returned Ready".
func (s *sleepFuture) Poll(cx *Context) Poll[struct{}] {
	// TODO(05-wakers/sleep): keep the contract above, with the timer's
	// function (write it too) as the only other goroutine that touches the
	// future.
	panic("TODO(05-wakers/sleep): Pending until the deadline, one timer that wakes the latest waker, Ready after")
}

// Drop abandons a Sleep that has not finished: its timer is stopped, and
// from then on it wakes nobody, even if the timer's time had come and its
// function has yet to run (Stop then returns false). Drop of a Sleep that
// is Ready, or dropped, does nothing.
func (s *sleepFuture) Drop() {
	// TODO(05-wakers/sleep): stop the timer, and make sure that its
	// function, if it runs anyway, wakes nobody.
	panic("TODO(05-wakers/sleep): stop the timer, and wake nobody after Drop")
}
