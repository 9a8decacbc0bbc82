package sleep

import "time"

// The clock a Sleep reads, and the timers it starts. For real they are
// time.Now and time.AfterFunc. The tests replace both with a fake clock
// that they move by hand, so that no test waits for real time to pass, and
// so that a test can let a timer's function run exactly when it wants: while
// another task polls the Sleep, or after Drop. So a Sleep uses now and
// afterFunc, never the time package's own. There is nothing to change in
// this file.
var (
	// now returns the current time.
	now = time.Now

	// afterFunc starts a timer that calls f, on a goroutine of its own,
	// once d has passed, unless it is stopped first.
	afterFunc = func(d time.Duration, f func()) timer { return time.AfterFunc(d, f) }
)

// timer is what afterFunc returns: for real, a *time.Timer.
type timer interface {
	// Stop stops the timer and reports true if it was still waiting. False
	// means its time has come already: its function has run, or runs now,
	// or is about to, on its own goroutine, and Stop cannot call it back.
	Stop() bool
}
