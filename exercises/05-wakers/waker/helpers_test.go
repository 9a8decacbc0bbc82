package waker

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// patience bounds every run of the loop. A correct loop needs microseconds
// here, so two seconds is far beyond that, even under the race detector on
// a loaded machine. The bugs these tests pin make the loop sleep for ever.
// Where every wake is over before the loop sleeps, sleep sees the loss at
// once (see lost); otherwise the test says so after patience, rather than
// hang.
const patience = 2 * time.Second

// holdOff bounds how long a test's hook holds one goroutine in a window
// while another goes through it. It is only reached when a correct
// solution serialises the two with a lock (the other one waits for it),
// which is as good as an atomic step; then the hook lets go.
const holdOff = 500 * time.Millisecond

// rig is the tests' side of an executor: the fake kernel it sleeps in, and
// the goroutines that wake its tasks from outside.
//
// The fake kernel is a bell. notify rings it; sleep waits until it has rung
// since sleep last returned. A ring while nobody sleeps is kept for the
// next sleep, and more rings before that sleep count as one: the same
// contract as the chapter's eventfd, whose counter keeps a write until the
// loop drains it.
type rig struct {
	ex     *Executor     // the executor that sleeps here
	rung   chan struct{} // holds one ring, or none
	closed chan struct{} // closed when the test ends: a loop still asleep gives up
	rings  atomic.Int64  // calls of notify
	sleeps atomic.Int64  // calls of sleep

	// onSleep, if set, runs on the loop's goroutine as sleep begins: the
	// loop is asleep, and only a ring will get it out.
	onSleep func()

	// explain, if set, adds to the message of a loop that never finished.
	explain func() string

	background sync.WaitGroup // goroutines started by goBackground
	running    atomic.Int64   // ... that have not returned yet
	panics     chan any       // what they panicked with, if they did
}

// newRig returns an executor that sleeps in a fresh rig, and the rig.
func newRig(t *testing.T) (*Executor, *rig) {
	t.Helper()
	r := &rig{
		rung:   make(chan struct{}, 1),
		closed: make(chan struct{}),
		panics: make(chan any, 64),
	}
	t.Cleanup(func() { close(r.closed) })
	r.ex = NewExecutor(r.sleep, r.notify)
	return r.ex, r
}

func (r *rig) notify() {
	r.rings.Add(1)
	select {
	case r.rung <- struct{}{}:
	default: // rung already: one ring wakes the sleeper as well as two
	}
}

func (r *rig) sleep() {
	r.sleeps.Add(1)
	if len(r.ex.queue) > 0 {
		panic(fmt.Sprintf("the loop went to sleep with task %s on its run queue: when the last look finds a task, "+
			"do not sleep (sleep called %d time(s), notify %d)", r.ex.queue[0].name, r.sleeps.Load(), r.rings.Load()))
	}
	if f := r.onSleep; f != nil {
		f()
	}
	if why := r.lost(); why != "" {
		panic(why)
	}
	select {
	case <-r.rung:
	case <-r.closed:
		// The test has ended, failed, with the loop still asleep: end
		// the loop's goroutine here instead of leaving it blocked.
		runtime.Goexit()
	}
}

// lost reports a sleep that can never end, or "" if it cannot tell: the
// loop is going to sleep with a task on woken and no ring to get it out,
// while no wake is under way that could still ring (every goroutine the
// test started to wake a task has returned). It runs on the loop's
// goroutine, as sleep begins, after onSleep.
func (r *rig) lost() string {
	if len(r.ex.queue) > 0 {
		// Empty when sleep began: a wake from another goroutine put it there.
		return fmt.Sprintf("a wake put task %s on the run queue itself, which belongs to the loop's goroutine and "+
			"which a sleeping loop does not look at: wakes go through ex.woken", r.ex.queue[0].name)
	}
	if r.running.Load() > 0 || len(r.rung) > 0 {
		return "" // a wake may still ring; or one has, and the sleep ends at once
	}
	r.ex.mu.Lock()
	woken := len(r.ex.woken)
	r.ex.mu.Unlock()
	if woken == 0 {
		return ""
	}
	msg := fmt.Sprintf("the loop went to sleep with a task on ex.woken and no ring to wake it: a wake was lost "+
		"(sleep called %d time(s), notify %d)", r.sleeps.Load(), r.rings.Load())
	if r.explain != nil {
		msg += "; " + r.explain()
	}
	return msg
}

// finishes runs run (the loop) on a goroutine of its own and fails the
// test at once if it panics, if a goroutine started by goBackground
// panics, or if it has not returned within patience: then a wake was lost,
// and the loop would sleep for ever. It returns once run and every
// background goroutine have returned.
func (r *rig) finishes(t *testing.T, what string, run func()) {
	t.Helper()
	type result struct {
		panicked any
		stack    []byte // for runtime errors, such as a nil dereference
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				res := result{panicked: p}
				if _, ok := p.(runtime.Error); ok {
					res.stack = debug.Stack()
				}
				done <- res
			}
		}()
		run()
		done <- result{}
	}()
	select {
	case res := <-done:
		if res.panicked != nil {
			require.FailNow(t, fmt.Sprintf("%s panicked: %v", what, res.panicked), "%s", res.stack)
		}
	case p := <-r.panics:
		require.FailNow(t, fmt.Sprintf("a goroutine waking a task panicked: %v", p))
	case <-time.After(patience):
		msg := fmt.Sprintf("%s is still asleep after %v: a wake was lost (sleep called %d time(s), notify %d)",
			what, patience, r.sleeps.Load(), r.rings.Load())
		if r.explain != nil {
			msg += "; " + r.explain()
		}
		require.FailNow(t, msg)
	}
	r.background.Wait()
	select {
	case p := <-r.panics:
		require.FailNow(t, fmt.Sprintf("a goroutine waking a task panicked: %v", p))
	default:
	}
}

// goBackground runs f on a goroutine of its own, alongside the loop. A
// panic there fails the test through finishes.
func (r *rig) goBackground(f func()) {
	r.background.Add(1)
	r.running.Add(1)
	go func() {
		defer r.background.Done()
		defer r.running.Add(-1)
		defer func() {
			if p := recover(); p != nil {
				r.panics <- p
			}
		}()
		f()
	}()
}

// together runs f on n goroutines at once: each waits at a barrier until
// all have started. It returns when every one has returned, with the first
// panic any of them raised, or nil: a panic is handed back to the caller,
// since it must not crash the test binary from a goroutine the test started.
func together(n int, f func()) (panicked any) {
	var (
		start, done sync.WaitGroup
		once        sync.Once
	)
	start.Add(1)
	for range n {
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

// elsewhere runs f on another goroutine and returns once it has finished:
// a wake from outside the loop, complete before the caller goes on. A
// panic there goes on up here, on the caller's goroutine.
func elsewhere(f func()) {
	if p := together(1, f); p != nil {
		panic(p)
	}
}

// noPanic calls f, the operation named what, and fails the test at once
// if it panics, with what it panicked with.
func noPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			require.FailNow(t, fmt.Sprintf("%s panicked: %v", what, p))
		}
	}()
	f()
}

// pollOnce does by hand what one turn of Run does: it moves the woken
// tasks to the run queue and polls the first.
func pollOnce(t *testing.T, ex *Executor) {
	t.Helper()
	ex.takeWoken()
	require.NotEmpty(t, ex.queue, "a task to poll")
	task := ex.queue[0]
	ex.queue = ex.queue[1:]
	ex.run(task)
}

// mailbox is a future that waits for a value sent from another goroutine:
// Poll leaves its waker in the box, send puts the value in and wakes it.
type mailbox struct {
	mu    sync.Mutex
	value string
	full  bool
	waker *Waker
	polls int
}

func (m *mailbox) Poll(cx *Context) Poll[string] {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.polls++
	if !m.full {
		m.waker = cx.Waker
		return Pending[string]()
	}
	return Ready(m.value)
}

// send may be called from any goroutine. It returns once the box's task
// has been woken.
func (m *mailbox) send(v string) {
	m.mu.Lock()
	m.value, m.full = v, true
	w := m.waker
	m.mu.Unlock()
	w.Wake()
}

// wake calls the waker the box holds, again: a redundant wake.
func (m *mailbox) wake() {
	m.mu.Lock()
	w := m.waker
	m.mu.Unlock()
	w.Wake()
}

// countdown is a future that wakes its own task from inside its own poll,
// n times, answering Pending each time, and then is Ready with n: "poll me
// again, after the others" (Rust's yield_now does this).
type countdown struct {
	left, n int
	polls   int
}

func (c *countdown) Poll(cx *Context) Poll[int] {
	c.polls++
	if c.left == 0 {
		return Ready(c.n)
	}
	c.left--
	cx.Waker.Wake()
	return Pending[int]()
}

// keeper is a future that keeps its waker and is Ready at its first poll:
// a task that has finished, and a waker someone may still call.
type keeper struct {
	waker atomic.Pointer[Waker]
	polls int
}

func (k *keeper) Poll(cx *Context) Poll[string] {
	k.polls++
	k.waker.Store(cx.Waker)
	return Ready("kept")
}

// andThen is a future that is box, and that calls then on the loop's
// goroutine when box is Ready, before it answers Ready itself.
type andThen struct {
	box  *mailbox
	then func()
}

func (a andThen) Poll(cx *Context) Poll[string] {
	p := a.box.Poll(cx)
	if p.IsReady() {
		a.then()
	}
	return p
}
