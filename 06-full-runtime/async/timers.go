//go:build linux

package async

import (
	"container/heap"
	"time"
)

// The timers' contract:
//
//	ts.schedule(t, at, w)   arms t to wake w at at, or moves it there if it is armed.
//	ts.remove(t)            cancels t; a dropped Sleep calls it, so nothing is left behind.
//	ts.untilNext(now)       how long the loop may sleep: until the earliest deadline, or
//	                        -1 (for ever) when there is no timer.
//	ts.fire(now)            wakes the task of every timer whose deadline has passed.
//
// The loop asks untilNext before each epoll_wait and passes the answer as
// its timeout: the kernel wakes us for a socket or for the next deadline,
// whichever comes first. After each epoll_wait the loop calls fire. One
// system call waits for both kinds of event; there is no timer thread.
//
// The timers are a binary min-heap ordered by deadline: the earliest is
// always at the root, found in O(1); adding and removing cost O(log n).
// Go's runtime keeps its timers in a heap too (a 4-ary one, per P). A
// timer is a value the future that needs it keeps in a field, so arming
// it again and again allocates nothing.

// timer is one deadline and the task to wake at it. The deadline is kept
// as a Duration since base, 8 bytes instead of a time.Time's 24: a
// connection's idle timer is part of what each connection costs.
type timer struct {
	when  time.Duration // the deadline, as time since base
	waker *Waker
	index int // position in the heap, kept by the heap; -1 when out of it
}

// base is the origin of every timer's when: any fixed instant will do,
// since only differences are asked. time.Now carries a monotonic clock
// reading, so Sub is immune to changes of the wall clock.
var base = time.Now()

// newTimer returns a timer that is in no heap. (The zero timer would claim
// index 0.)
func newTimer() timer { return timer{index: -1} }

// timers are the pending deadlines of one runtime. Only the loop's
// goroutine touches them.
type timers struct {
	heap  timerHeap
	trace tracer
	added int64 // timers armed (not counting moves of an armed one)
	fires int64 // timers that fired
}

// schedule arms t to wake w at deadline, or moves it there if it is armed
// already.
func (ts *timers) schedule(t *timer, deadline time.Time, w *Waker) {
	ts.arm(t, deadline.Sub(base), w)
}

// arm is schedule for a deadline given as time since base.
func (ts *timers) arm(t *timer, when time.Duration, w *Waker) {
	t.when, t.waker = when, w
	if ts.holds(t) {
		heap.Fix(&ts.heap, t.index)
		return
	}
	heap.Push(&ts.heap, t)
	ts.added++
}

// remove cancels t if it is armed. Removing it twice is harmless.
func (ts *timers) remove(t *timer) {
	if ts.holds(t) {
		heap.Remove(&ts.heap, t.index)
	}
}

// holds reports whether t is armed: in the heap, at its index.
func (ts *timers) holds(t *timer) bool {
	return t.index >= 0 && t.index < len(ts.heap) && ts.heap[t.index] == t
}

// len is how many timers are armed.
func (ts *timers) len() int { return len(ts.heap) }

// untilNext returns how long from now until the earliest deadline: 0 if it
// has passed already, -1 if there is no timer at all. The reactor rounds
// a wait up to whole milliseconds, never down: a timer due in 0.3 ms must
// not turn into epoll_wait(0), which returns at once, again and again,
// until the deadline: a busy loop.
func (ts *timers) untilNext(now time.Time) time.Duration {
	if len(ts.heap) == 0 {
		return -1
	}
	return max(ts.heap[0].when-now.Sub(base), 0)
}

// fire wakes every timer whose deadline is not after now, earliest first,
// and returns how many fired. A fired timer is out of the heap.
func (ts *timers) fire(now time.Time) int {
	n := 0
	at := now.Sub(base)
	for len(ts.heap) > 0 && ts.heap[0].when <= at {
		t := heap.Pop(&ts.heap).(*timer)
		ts.fires++
		n++
		if ts.trace.on() {
			ts.trace.printf("timer fired (%s late): wake %v", (at - t.when).Round(time.Microsecond), t.waker)
		}
		t.waker.wakeHere() // fire runs on the loop's goroutine
	}
	return n
}

// timerHeap implements heap.Interface, ordered by deadline.
type timerHeap []*timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].when < h[j].when }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}
