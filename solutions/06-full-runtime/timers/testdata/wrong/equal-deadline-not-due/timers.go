// Wrong, on purpose: fire counts a deadline equal to now as not yet due.

// Package timers is the timer heap of chapter 06's runtime, and the number
// that joins it to epoll: how long epoll_wait may sleep.
//
// The runtime has no timer thread. Before each epoll_wait the loop asks the
// timers how long it may sleep, until the earliest deadline, and passes
// that as epoll_wait's timeout, in whole milliseconds. After each
// epoll_wait it fires the timers whose deadline has passed, which wakes
// their tasks. One system call waits for sockets and deadlines alike.
package timers

import (
	"container/heap"
	"time"
)

// The timers' contract, copied from the chapter's 06-full-runtime/timers.go:
//
//	ts.add(deadline, w)   returns a timer that wakes w once deadline has passed.
//	ts.remove(t)          cancels t; a dropped Sleep calls it, so nothing is left behind.
//	ts.untilNext(now)     how long the loop may sleep: until the earliest deadline, or
//	                      -1 (for ever) when there is no timer.
//	ts.fire(now)          wakes the task of every timer whose deadline has passed.
//
// The loop asks untilNext before each epoll_wait and passes the answer,
// through waitMillis (reactor.go), as its timeout: the kernel wakes us for
// a socket or for the next deadline, whichever comes first. After each
// epoll_wait the loop calls fire.
//
// The timers are a binary min-heap ordered by deadline: the earliest is
// always at the root, ts.heap[0], found in O(1); adding and removing cost
// O(log n). container/heap does the sifting: it calls the five methods of
// timerHeap at the end of this file, which keep each timer's index (its
// position in the slice) up to date, so that remove can find it.

// timer is one deadline and the task to wake at it.
type timer struct {
	deadline time.Time
	waker    *Waker
	index    int  // position in the heap, kept by the heap; -1 once out of it
	fired    bool // its deadline passed and its waker was called
}

// Timers are the pending deadlines of one runtime. Only the loop's
// goroutine touches them.
type Timers struct {
	heap timerHeap
}

func (ts *Timers) add(deadline time.Time, w *Waker) *timer {
	t := &timer{deadline: deadline, waker: w}
	heap.Push(&ts.heap, t)
	return t
}

// remove cancels t if it has not fired: t leaves the heap, and nothing
// will wake its task. Removing it twice, or removing a timer that has
// fired, is harmless: both are out of the heap already, with index -1.
func (ts *Timers) remove(t *timer) {
	// index is how remove finds t without a search: the heap keeps it up
	// to date at every swap. heap.Remove moves the last timer into t's
	// place and sifts it up or down; deleting t from the slice by hand
	// would break the heap order, and every index after t's.
	if t.index >= 0 {
		heap.Remove(&ts.heap, t.index)
	}
	// Otherwise t left the heap already, removed or fired, and its index
	// is -1: heap.Remove(&ts.heap, -1) would panic with an index out of
	// range.
}

// len is how many timers are pending.
func (ts *Timers) len() int { return len(ts.heap) }

// untilNext returns how long from now until the earliest deadline: 0 if it
// has passed already, -1 if there is no timer at all.
func (ts *Timers) untilNext(now time.Time) time.Duration {
	if len(ts.heap) == 0 {
		return -1 // no timer: only a socket or a waker can end the sleep
	}
	// The root is the earliest deadline. An overdue one gives 0, not a
	// negative duration, which waitMillis would read as "no timer" and
	// turn into a sleep with no end.
	return max(ts.heap[0].deadline.Sub(now), 0)
}

// fire wakes every timer whose deadline is not after now, earliest first,
// and returns how many fired. Those timers leave the heap and are marked
// fired (a Sleep that is polled again looks at that); the others stay.
func (ts *Timers) fire(now time.Time) int {
	n := 0
	// Only the root can be due first: pop it while it is. The loop stops
	// at the first timer not due, and every timer below it is later
	// still, so fire costs O(log n) per timer fired, and nothing for the
	// rest. "Not after" rather than "before": a deadline equal to now is
	// due, or the loop would wait 0 ms for it once more.
	for len(ts.heap) > 0 && ts.heap[0].deadline.Before(now) {
		t := heap.Pop(&ts.heap).(*timer)
		t.fired = true
		n++
		t.waker.Wake()
	}
	return n
}

// timerHeap implements heap.Interface, ordered by deadline. container/heap
// calls these; the code above calls heap.Push, heap.Pop and heap.Remove,
// never these methods directly.
type timerHeap []*timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
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
