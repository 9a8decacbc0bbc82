//go:build linux

package main

import (
	"container/heap"
	"fmt"
	"os"
	"time"
)

// The timers' contract:
//
//	ts.add(deadline, w)   returns a timer that wakes w once deadline has passed.
//	ts.remove(t)          cancels t; a dropped Sleep calls it, so nothing is left behind.
//	ts.untilNext(now)     how long the loop may sleep: until the earliest deadline, or
//	                      -1 (for ever) when there is no timer.
//	ts.fire(now)          wakes the task of every timer whose deadline has passed.
//
// The loop asks untilNext before each epoll_wait and passes the answer as
// its timeout: the kernel wakes us for a socket or for the next deadline,
// whichever comes first. After each epoll_wait the loop calls fire. One
// system call waits for both kinds of event; there is no timer thread.
//
// The timers are a binary min-heap ordered by deadline: the earliest is
// always at the root, found in O(1); adding and removing cost O(log n).
// Go's runtime keeps its timers in a heap too (a 4-ary one, per P).

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
	heap  timerHeap
	trace tracer
	added int64 // timers added
	fires int64 // timers that fired
}

func (ts *Timers) add(deadline time.Time, w *Waker) *timer {
	t := &timer{deadline: deadline, waker: w}
	heap.Push(&ts.heap, t)
	ts.added++
	return t
}

// remove cancels t if it has not fired. Removing it twice is harmless.
func (ts *Timers) remove(t *timer) {
	if ts.holds(t) {
		heap.Remove(&ts.heap, t.index)
	}
}

// schedule arms t to wake w at deadline, or moves it there if it is armed
// already. It is add for a future that keeps its timer in a field and
// re-arms it again and again: no allocation.
func (ts *Timers) schedule(t *timer, deadline time.Time, w *Waker) {
	t.deadline, t.waker, t.fired = deadline, w, false
	if ts.holds(t) {
		heap.Fix(&ts.heap, t.index)
		return
	}
	heap.Push(&ts.heap, t)
	ts.added++
}

// holds reports whether t is in the heap (a zero timer has index 0, so
// the index alone cannot tell).
func (ts *Timers) holds(t *timer) bool {
	return t.index >= 0 && t.index < len(ts.heap) && ts.heap[t.index] == t
}

// len is how many timers are pending.
func (ts *Timers) len() int { return len(ts.heap) }

// untilNext returns how long from now until the earliest deadline: 0 if it
// has passed already, -1 if there is no timer at all. The reactor rounds
// a wait up to whole milliseconds, never down: a timer due in 0.3 ms must
// not turn into epoll_wait(0), which returns at once, again and again,
// until the deadline: a busy loop.
func (ts *Timers) untilNext(now time.Time) time.Duration {
	if len(ts.heap) == 0 {
		return -1
	}
	return max(ts.heap[0].deadline.Sub(now), 0)
}

// fire wakes every timer whose deadline is not after now, earliest first,
// and returns how many fired.
func (ts *Timers) fire(now time.Time) int {
	n := 0
	for len(ts.heap) > 0 && !ts.heap[0].deadline.After(now) {
		t := heap.Pop(&ts.heap).(*timer)
		t.fired = true
		ts.fires++
		n++
		if ts.trace.on() {
			ts.trace.printf("timer fired (%s late): wake %v", now.Sub(t.deadline).Round(time.Microsecond), t.waker)
		}
		t.waker.Wake()
	}
	return n
}

// timerHeap implements heap.Interface, ordered by deadline.
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

// sleepFuture is Ready once its deadline has passed:
//
//	tokio::time::sleep(d).await
//
// Its deadline is fixed when it is made, not when first polled, so that
// Timeout(d, f) means "d from now" however late the task runs.
type sleepFuture struct {
	timers   *Timers
	deadline time.Time
	t        *timer // nil until the first Pending poll
	done     bool
}

// Sleep returns a future that is Ready d from now.
func (rt *Runtime) Sleep(d time.Duration) Future[struct{}] {
	return &sleepFuture{timers: rt.timers, deadline: time.Now().Add(d)}
}

func (s *sleepFuture) Poll(cx *Context) Poll[struct{}] {
	if s.done {
		panic("Sleep: polled after it returned Ready")
	}
	if (s.t != nil && s.t.fired) || !time.Now().Before(s.deadline) {
		s.Drop()
		s.done = true
		return Ready(struct{}{})
	}
	if s.t == nil {
		s.t = s.timers.add(s.deadline, cx.Waker)
	} else {
		s.t.waker = cx.Waker // the future may have moved to another task
	}
	return Pending[struct{}]()
}

// Drop takes the timer out of the heap: a Sleep abandoned by a Select that
// another future won leaves nothing behind to fire.
func (s *sleepFuture) Drop() {
	if s.t != nil {
		s.timers.remove(s.t)
		s.t = nil
	}
}

// ErrTimeout is the error of a Timeout whose time ran out. It matches
// os.ErrDeadlineExceeded with errors.Is, as net's timeouts do.
var ErrTimeout = fmt.Errorf("timed out: %w", os.ErrDeadlineExceeded)

// Result is a value or an error: what a fallible future finishes with,
// since Go has no tuple to put in Poll[T].
type Result[T any] struct {
	Value T
	Err   error
}

// Timeout returns a future that finishes with f's result if f finishes
// within d, and with ErrTimeout otherwise; then f is dropped, and
// releases what it holds. It is Select and Map from chapter 03 around a
// Sleep: no new machinery.
func Timeout[T any](rt *Runtime, d time.Duration, f Future[T]) Future[Result[T]] {
	return Map(Select(f, rt.Sleep(d)), func(e Either[T, struct{}]) Result[T] {
		if e.First {
			return Result[T]{Value: e.A}
		}
		return Result[T]{Err: ErrTimeout}
	})
}
