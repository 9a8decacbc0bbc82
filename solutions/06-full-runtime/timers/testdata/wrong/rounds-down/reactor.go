// Wrong, on purpose: rounds the timeout down to whole milliseconds: a timer due in 0.4 ms
// becomes epoll_wait(0), again and again, until it is due.

package timers

import "time"

// maxWait is the longest epoll_wait we ask for, in milliseconds: 1e9 ms is
// about 11.5 days, and fits in the 32 bits the kernel keeps.
const maxWait = 1e9

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
//
// The kernel keeps only 32 bits of the timeout, so the wait is capped at
// maxWait, where Go's netpoll caps it; a longer wait wakes once on the
// way, finds nothing due, and sleeps again. Every timeout, up to the
// longest time.Duration, must come out between -1 and maxWait.
func waitMillis(timeout time.Duration) int {
	if timeout < 0 {
		return -1 // epoll_wait's "no timeout"
	}
	// Cap first: rounding up adds almost a millisecond, which would
	// overflow a timeout within a millisecond of the longest Duration.
	if timeout > maxWait*time.Millisecond {
		return maxWait
	}
	// Integer division rounds down; adding one millisecond less a
	// nanosecond first makes it round up: 1 ns becomes 1 ms, 1 ms stays
	// 1 ms, and 0 stays 0 (a timer is due: look, do not sleep).
	return int(timeout / time.Millisecond)
}
