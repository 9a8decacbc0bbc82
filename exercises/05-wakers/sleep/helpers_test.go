package sleep

import (
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// patience bounds every run of the executor. The runs here need
// microseconds with the fake clock and a few tens of milliseconds with the
// real one, so two seconds is far beyond that, even under the race
// detector on a loaded machine. A Sleep that never wakes its task fails
// the test after patience instead of hanging it.
const patience = 2 * time.Second

// start is the fake clock at zero.
var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeClock stands in for time.Now and time.AfterFunc (clock.go). Its time
// moves only when a test says so, and its timers fire only then: advance
// moves the clock and runs the function of every timer that has come due,
// each on a goroutine of its own, as time.AfterFunc does, and waits for
// it. A test can also take those two steps apart: expire says a timer's
// time has come (from then on Stop returns false), and run calls its
// function, when and where the test likes.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer  // every timer started, in order
	first   chan struct{} // closed when the first timer is started
	started sync.Once
}

type timerState int

const (
	timerWaiting timerState = iota // started, its time not come yet
	timerStopped                   // Stop stopped it
	timerExpired                   // its time has come: Stop is too late
)

type fakeTimer struct {
	c     *fakeClock
	at    time.Time // when it comes due
	f     func()
	state timerState // under c.mu
}

// useFakeClock makes now and afterFunc the fake clock's until the test
// ends, and returns the clock, at start.
func useFakeClock(t *testing.T) *fakeClock {
	t.Helper()
	c := &fakeClock{now: start, first: make(chan struct{})}
	realNow, realAfterFunc := now, afterFunc
	now, afterFunc = c.Now, c.AfterFunc
	t.Cleanup(func() { now, afterFunc = realNow, realAfterFunc })
	return c
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	c.started.Do(func() { close(c.first) })
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.state != timerWaiting {
		return false
	}
	t.state = timerStopped
	return true
}

// advance moves the clock by d, and runs the function of every timer that
// has come due, earliest first, each on a goroutine of its own, waiting
// for each to return. A panic there comes back here.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	for _, t := range c.timers {
		if t.state == timerWaiting && !t.at.After(c.now) {
			t.state = timerExpired
			due = append(due, t)
		}
	}
	c.mu.Unlock()
	slices.SortStableFunc(due, func(a, b *fakeTimer) int { return a.at.Compare(b.at) })
	for _, t := range due {
		elsewhere(t.f)
	}
}

// set moves the clock to start+d without running any timer: the deadline
// has passed, and the timer's goroutine has not had its turn yet.
func (c *fakeClock) set(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = start.Add(d)
}

// expire says that t's time has come: Stop returns false from now on. Its
// function has not run; the test calls run for that.
func (t *fakeTimer) expire() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.state == timerWaiting {
		t.state = timerExpired
	}
}

// count is how many timers have been started; waiting, how many of them
// are still waiting: neither stopped nor expired.
func (c *fakeClock) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

func (c *fakeClock) waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if t.state == timerWaiting {
			n++
		}
	}
	return n
}

// only returns the one timer started, and fails the test unless there is
// exactly one.
func (c *fakeClock) only(t *testing.T) *fakeTimer {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	require.Len(t, c.timers, 1, "timers started through afterFunc (clock.go) by the first Pending poll: one. "+
		"The tests see only timers started through afterFunc, never time.AfterFunc itself")
	return c.timers[0]
}

// task makes a task of ex that is never run, and returns it: the tests use
// its waker to poll a Sleep by hand, and its counter to see the wakes.
func task(ex *Executor, name string) *Task {
	t := &Task{name: name}
	t.waker = Waker{task: t, ex: ex}
	t.cx = Context{Waker: &t.waker}
	return t
}

// poll polls f once with the Context of task t, and fails the test if
// Poll panics, with what it panicked with.
func poll(t *testing.T, f Future[struct{}], tk *Task, what string) (ready bool) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			require.FailNow(t, fmt.Sprintf("%s panicked: %v", what, p))
		}
	}()
	return f.Poll(&tk.cx).IsReady()
}

// together runs each f on a goroutine of its own, all released at once
// from a barrier, and returns when all have returned, with the first panic
// any of them raised, or nil. Nothing orders the goroutines among
// themselves: what they share without a lock, the race detector sees.
func together(fs ...func()) (panicked any) {
	var (
		start, done sync.WaitGroup
		once        sync.Once
	)
	start.Add(1)
	for _, f := range fs {
		done.Add(1)
		go func() {
			defer done.Done()
			defer func() {
				if p := recover(); p != nil {
					once.Do(func() { panicked = p })
				}
			}()
			start.Wait()
			f()
		}()
	}
	start.Done()
	done.Wait()
	return panicked
}

// elsewhere runs f on another goroutine and returns once it has finished,
// as a timer's function runs; a panic there goes on up here.
func elsewhere(f func()) {
	if p := together(f); p != nil {
		panic(p)
	}
}

// finishes runs ex.Run on a goroutine of its own and fails the test if it
// panics, or has not returned within patience: then a Sleep never woke its
// task, and the loop sleeps for ever.
func finishes(t *testing.T, ex *Executor) {
	t.Helper()
	type result struct {
		panicked any
		stack    []byte
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{panicked: p, stack: debug.Stack()}
			}
		}()
		ex.Run()
		done <- result{}
	}()
	select {
	case r := <-done:
		if r.panicked != nil {
			require.FailNow(t, fmt.Sprintf("Run panicked: %v", r.panicked), "%s", r.stack)
		}
	case <-time.After(patience):
		require.FailNow(t, fmt.Sprintf("Run is still asleep after %v: a Sleep never woke its task", patience))
	}
}
