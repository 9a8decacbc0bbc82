package timers

import "time"

// waitMillis converts a timeout to epoll_wait's argument: whole
// milliseconds, -1 for none. In the chapter it sits in reactor.go, next to
// Reactor.Wait, which calls it with what untilNext returned.
//
// epoll_wait counts in milliseconds; untilNext answers in nanoseconds. The
// conversion must round up. Rounding 0.4 ms down to 0 asks epoll_wait to
// return at once: the loop finds nothing due, asks again, gets 0 again,
// and spins, a core at 100%, until the deadline. Rounding up costs at most
// a millisecond of lateness. A negative timeout means "no timer": -1,
// epoll_wait's "wait as long as it takes".
func waitMillis(timeout time.Duration) int {
	// TODO(06-full-runtime/timers): -1 for a negative timeout; otherwise
	// timeout in whole milliseconds, rounded up (0 stays 0).
	panic("TODO(06-full-runtime/timers): convert the timeout to whole milliseconds, rounding up; -1 for none")
}
