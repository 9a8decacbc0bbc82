//go:build linux

package async

import (
	"fmt"
	"math"
	"os"
	"time"
)

// Three futures on the timers, from the simplest up:
//
//	rt.Sleep(d)          Ready once d has passed: tokio::time::sleep(d).await.
//	Timeout(rt, d, f)    f's result, or ErrTimeout after d; then f is dropped.
//	Deadline             a deadline an application moves again and again, kept in
//	                     its own future: an idle limit that starts over at each request.

// sleepFuture is Ready once its deadline has passed. Its deadline is fixed
// when it is made, not when first polled, so that Timeout(d, f) means "d
// from now" however late the task runs.
type sleepFuture struct {
	timers *timers
	at     time.Time
	t      timer
	done   bool
}

// Sleep returns a future that is Ready d from now.
func (rt *Runtime) Sleep(d time.Duration) Future[struct{}] {
	return &sleepFuture{timers: rt.timers, at: time.Now().Add(d), t: newTimer()}
}

func (s *sleepFuture) Poll(cx *Context) Poll[struct{}] {
	if s.done {
		panic("Sleep: polled after it returned Ready")
	}
	if !time.Now().Before(s.at) {
		s.done = true
		s.timers.remove(&s.t) // if a poll came before the timer fired
		return Ready(struct{}{})
	}
	// Arm the timer, or hand it the latest waker: the future may have
	// moved to another task since it was last polled.
	s.timers.schedule(&s.t, s.at, cx.Waker)
	return Pending[struct{}]()
}

// Drop takes the timer out of the heap: a Sleep abandoned by a Select that
// another future won leaves nothing behind to fire.
func (s *sleepFuture) Drop() {
	s.timers.remove(&s.t)
	s.done = true
}

// ErrTimeout is the error of a Timeout whose time ran out. It matches
// os.ErrDeadlineExceeded with errors.Is, as net's timeouts do.
var ErrTimeout = fmt.Errorf("timed out: %w", os.ErrDeadlineExceeded)

// Timeout returns a future that finishes with f's result if f finishes
// within d, and with ErrTimeout otherwise; then f is dropped, and
// releases what it holds. It is Select and Map from chapter 03 around a
// Sleep: no new machinery. It allocates those three futures and arms a
// timer each time; a loop that waits with a time limit again and again
// (an idle limit per request) is better served by a Deadline.
func Timeout[T any](rt *Runtime, d time.Duration, f Future[T]) Future[Result[T]] {
	return Map(Select(f, rt.Sleep(d)), func(e Either[T, struct{}]) Result[T] {
		if e.First {
			return Result[T]{Value: e.A}
		}
		return Result[T]{Err: ErrTimeout}
	})
}

// Deadline is a point in time that a long-lived future watches and moves
// again and again, such as a connection's idle limit, which starts over
// with every request. Keep one in a field of the future that watches it:
// the zero Deadline is ready to use (it never passes until Reset or
// ResetAfter gives it a time), costs no allocation of its own, and must not be copied once
// polled (the timer heap points into it).
//
// Moving it is cheap: Reset only writes the new time. The timer stays in
// the heap at the time it was armed for; if it fires before the new time
// (the deadline was moved later meanwhile), Poll finds the deadline not
// yet passed and arms the timer again, for the new time. So a connection
// that answers a thousand requests within one idle limit touches the heap
// once, not a thousand times. Go's runtime moves its timers lazily in the
// same way.
type Deadline struct {
	_  noCopy
	at time.Duration // when the deadline passes, as time since base, like a timer's; 0: never
	t  timer         // armed for at or for an earlier time, or not armed
}

// Reset moves the deadline to at (the zero time: never). It does not wake
// anyone: the watching future's next poll sees the new time.
func (d *Deadline) Reset(at time.Time) {
	if at.IsZero() {
		d.set(0)
		return
	}
	d.set(max(at.Sub(base), 1)) // 0 means never: an instant at base itself moves by a nanosecond
}

// ResetAfter moves the deadline to dur after the loop's clock: what
// Reset(rt.Now().Add(dur)) does, with one addition of two integers where
// that is time.Time's arithmetic twice over (each a wall clock and a
// monotonic one to keep). A session that moves its idle limit after every
// message batch calls it twice per batch.
func (d *Deadline) ResetAfter(rt *Runtime, dur time.Duration) {
	at := rt.ex.since + dur
	if dur > 0 && at < rt.ex.since {
		at = math.MaxInt64 // past the end of time: as far as a Duration goes, as Time.Sub saturates
	}
	d.set(max(at, 1))
}

// set moves the deadline to at, a time since base (0: never).
func (d *Deadline) set(at time.Duration) {
	d.at = at
	if d.at == 0 || d.at < d.t.when {
		// Earlier than the timer's time (or never): a late timer would
		// miss the deadline, so take it out; Poll arms it afresh.
		d.disarm()
	}
}

// Passed reports whether the deadline is set and has passed.
func (d *Deadline) Passed() bool {
	return d.at != 0 && time.Since(base) >= d.at
}

// Poll is Ready once the deadline has passed. Until then it makes sure a
// timer will wake cx's task at the deadline, or before it. Unlike most
// futures, a Deadline may be polled again after Ready: it stays Ready
// until it is moved.
// In a task it reads the loop's clock (Runtime.Now), as timers fire by:
// late, never early, and no clock read per wait.
func (d *Deadline) Poll(cx *Context) Poll[struct{}] {
	if cx.Waker == nil {
		return Poll[struct{}]{ready: d.Passed()} // polled by hand: nobody to wake, nothing to arm
	}
	ex := cx.Waker.ex
	switch {
	case d.at == 0:
		return Pending[struct{}]() // never passes
	case ex.since >= d.at:
		return Ready(struct{}{})
	}
	if ts := ex.timers; !ts.holds(&d.t) { // the heap of the task's runtime
		ts.arm(&d.t, d.at, cx.Waker)
	} else {
		d.t.waker = cx.Waker // armed, perhaps early; make sure it wakes this task
	}
	return Pending[struct{}]()
}

// Drop disarms the timer: the future that watched the deadline is gone.
func (d *Deadline) Drop() { d.disarm() }

// disarm takes the timer out of its heap, if it is in one. A timer that
// was ever armed keeps the waker it was armed with, and the waker knows
// its runtime: that is how the Deadline finds the heap without keeping a
// pointer of its own.
func (d *Deadline) disarm() {
	if w := d.t.waker; w != nil && w.ex != nil {
		w.ex.timers.remove(&d.t)
	}
}

// noCopy makes go vet's copylocks check report a Deadline copied by value.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
