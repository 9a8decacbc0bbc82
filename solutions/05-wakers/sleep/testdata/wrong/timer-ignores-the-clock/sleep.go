// Wrong, on purpose: once its timer is started, waits for it even when the clock says the
// deadline has passed.

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

import (
	"sync"
	"time"
)

// Sleep returns a future that is Ready once d has passed since Sleep was
// called. The deadline is fixed now, by the package's clock (now), not at
// the first poll: a task may be polled a while after it makes its Sleep,
// and "d from now" should still mean now.
func Sleep(d time.Duration) Future[struct{}] {
	return &sleepFuture{deadline: now().Add(d)}
}

// sleepFuture is Sleep's state machine.
type sleepFuture struct {
	deadline time.Time
	done     bool // Ready was returned; only the poller reads and writes it

	// Shared with the timer's function, which runs on a goroutine of its
	// own: mu guards them all. A mutex keeps it plain; a production timer
	// would pack them into one atomic word.
	mu    sync.Mutex
	waker *Waker // the latest poll's: the one the timer wakes
	timer timer  // started by the first Pending poll; nil before, and after stop
	fired bool   // the timer's function has run, and woken the waker
	over  bool   // Ready was returned, or the Sleep was dropped: wake nobody
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
	if s.done {
		panic("Sleep: polled after it returned Ready")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// The clock as well as the flag: the deadline may have passed before
	// the timer's goroutine has had its turn, and a task polled for some
	// other reason should not wait for it.
	t := now()
	if s.fired || (s.timer == nil && !t.Before(s.deadline)) {
		s.stop() // the timer may still be waiting, or about to run
		s.done = true
		return Ready(struct{}{})
	}
	// Every Pending poll leaves its waker, not only the first: the future
	// may have moved to another task, and the old waker would wake the
	// wrong one (Rust's rule: wake the waker of the latest poll).
	s.waker = cx.Waker
	if s.timer == nil {
		// One timer per Sleep. A poll before the deadline is not the
		// timer: it starts no other, and it does not count as a wake.
		s.timer = afterFunc(s.deadline.Sub(t), s.fire)
	}
	return Pending[struct{}]()
}

// fire is the timer's function. It runs on the timer's own goroutine.
func (s *sleepFuture) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.over {
		// Dropped, or Ready, while the timer's function was on its way:
		// Stop came too late to stop it, and this check is what keeps its
		// wake from landing on a task that has moved on.
		return
	}
	s.fired = true
	// Under the lock, so that once Drop has the lock no wake can follow
	// it. Wake takes only the executor's lock, never this one: no
	// deadlock.
	s.waker.Wake()
}

// Drop abandons a Sleep that has not finished: its timer is stopped, and
// from then on it wakes nobody, even if the timer's time had come and its
// function has yet to run (Stop then returns false). Drop of a Sleep that
// is Ready, or dropped, does nothing.
func (s *sleepFuture) Drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stop()
}

// stop ends the Sleep's business with its timer. The caller holds s.mu.
func (s *sleepFuture) stop() {
	s.over = true
	if s.timer != nil {
		// False means the function runs anyway, or has: it finds s.over.
		s.timer.Stop()
		s.timer = nil
	}
	s.waker = nil // nothing left to wake; let the task go
}
