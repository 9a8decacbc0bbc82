package timeout

import "time"

// Runtime is what this exercise keeps of the chapter's runtime: the timers,
// and a clock. The chapter reads time.Now(); here the clock is fake, so
// that the tests decide when time passes, and no test ever sleeps. There
// is nothing to change in this file.
type Runtime struct {
	now    time.Time // the runtime's clock; only advance moves it
	timers *Timers
}

// NewRuntime returns a runtime with no timers and its clock at a fixed
// time.
func NewRuntime() *Runtime {
	return &Runtime{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), timers: &Timers{}}
}

// advance moves the clock forward by d and fires every timer that is due
// by then, which wakes its task: what the chapter's loop does after each
// epoll_wait. It does not poll anything; the tests do that.
func (rt *Runtime) advance(d time.Duration) {
	rt.now = rt.now.Add(d)
	rt.timers.fire(rt.now)
}
