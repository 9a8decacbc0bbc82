package timeout

import (
	"slices"
	"time"
)

// The timers and Sleep, as in the chapter's 06-full-runtime/timers.go, on
// the runtime's fake clock. There is nothing to change in this file.
//
//	ts.add(deadline, w)   returns a timer that wakes w once deadline has passed.
//	ts.remove(t)          cancels t; a dropped Sleep calls it, so nothing is left behind.
//	ts.fire(now)          wakes the task of every timer whose deadline has passed.
//	rt.Sleep(d)           a future that is Ready d from now.
//
// The chapter keeps its timers in a min-heap, the earliest at the root (the
// timers exercise builds it). A slice will do for the few timers a test
// makes, and it keeps this file short.

// timer is one deadline and the task to wake at it.
type timer struct {
	deadline time.Time
	waker    *Waker
	fired    bool // its deadline passed and its waker was called
}

// Timers are the pending deadlines of one runtime.
type Timers struct {
	pending []*timer
}

func (ts *Timers) add(deadline time.Time, w *Waker) *timer {
	t := &timer{deadline: deadline, waker: w}
	ts.pending = append(ts.pending, t)
	return t
}

// remove cancels t if it has not fired. Removing it twice is harmless.
func (ts *Timers) remove(t *timer) {
	if i := slices.Index(ts.pending, t); i >= 0 {
		ts.pending = slices.Delete(ts.pending, i, i+1)
	}
}

// len is how many timers are pending.
func (ts *Timers) len() int { return len(ts.pending) }

// fire wakes every timer whose deadline is not after now, and returns how
// many fired.
func (ts *Timers) fire(now time.Time) int {
	var due []*timer
	ts.pending = slices.DeleteFunc(ts.pending, func(t *timer) bool {
		if t.deadline.After(now) {
			return false
		}
		due = append(due, t)
		return true
	})
	for _, t := range due {
		t.fired = true
		t.waker.Wake()
	}
	return len(due)
}

// sleepFuture is Ready once its deadline has passed:
//
//	tokio::time::sleep(d).await
//
// Its deadline is fixed when it is made, not when first polled, so that
// Timeout(d, f) means "d from now" however late the task runs.
type sleepFuture struct {
	rt       *Runtime
	deadline time.Time
	t        *timer // nil until the first Pending poll
	done     bool
}

// Sleep returns a future that is Ready d from now.
func (rt *Runtime) Sleep(d time.Duration) Future[struct{}] {
	return &sleepFuture{rt: rt, deadline: rt.now.Add(d)}
}

func (s *sleepFuture) Poll(cx *Context) Poll[struct{}] {
	if s.done {
		panic("Sleep: polled after it returned Ready")
	}
	if (s.t != nil && s.t.fired) || !s.rt.now.Before(s.deadline) {
		s.Drop()
		s.done = true
		return Ready(struct{}{})
	}
	if s.t == nil {
		s.t = s.rt.timers.add(s.deadline, cx.Waker)
	} else {
		s.t.waker = cx.Waker // the future may have moved to another task
	}
	return Pending[struct{}]()
}

// Drop takes the timer out of the timers: a Sleep abandoned before its
// time leaves nothing behind to fire.
func (s *sleepFuture) Drop() {
	if s.t != nil {
		s.rt.timers.remove(s.t)
		s.t = nil
	}
}
