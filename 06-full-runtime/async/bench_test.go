//go:build linux

package async

import (
	"testing"
	"time"
)

// Microbenchmarks of the runtime's hot paths:
//
//	go test -run '^$' -bench . -benchmem ./06-full-runtime/async
//
// They measure; no test asserts a speed.

// readyNow is a future that is always Ready.
type readyNow struct{}

func (readyNow) Poll(*Context) Poll[int] { return Ready(1) }

// benchFuture is a package variable so that the compiler cannot see its
// type at the call and turn the interface call into a direct one.
var benchFuture Future[int] = readyNow{}

// newBenchRuntime makes a runtime that is closed when the benchmark ends.
func newBenchRuntime(b *testing.B) *Runtime {
	b.Helper()
	rt, err := NewRuntime(Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close() })
	return rt
}

func BenchmarkPollReadyFuture(b *testing.B) {
	cx := &Context{}
	for b.Loop() {
		if !benchFuture.Poll(cx).IsReady() {
			b.Fatal("not ready")
		}
	}
}

// BenchmarkWake is one Wake from the loop's own goroutine, and what the
// loop does with it: take it from the woken list onto the run queue.
func BenchmarkWake(b *testing.B) {
	rt := newBenchRuntime(b)
	ex := rt.ex
	tk := &task{id: 1, name: "woken"}
	tk.waker = Waker{task: tk, ex: ex}
	for b.Loop() {
		tk.waker.Wake()
		ex.takeWoken() // what the loop does next
		ex.queue.pop()
		tk.queued.Store(false) // as polling it would
	}
}

func BenchmarkSpawnAndRun(b *testing.B) {
	rt := newBenchRuntime(b)
	for b.Loop() {
		Spawn(rt, "ready", Future[int](readyNow{}))
		if err := rt.Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// benchHeapSize is the number of timers already armed in the timer
// benchmarks: as many as the 10,000-connection demo has idle limits.
const benchHeapSize = 10000

// benchTimers returns timers holding benchHeapSize timers, a millisecond
// apart from now on.
func benchTimers(now time.Time) *timers {
	ts := &timers{}
	tms := make([]timer, benchHeapSize)
	w := &Waker{}
	for i := range tms {
		tms[i] = newTimer()
		ts.schedule(&tms[i], now.Add(time.Duration(i)*time.Millisecond), w)
	}
	return ts
}

func BenchmarkTimerScheduleAndCancel(b *testing.B) {
	now := time.Now()
	ts := benchTimers(now)
	w := &Waker{}
	t := newTimer()
	i := 0
	for b.Loop() {
		i++
		ts.schedule(&t, now.Add(time.Duration(i%benchHeapSize)*time.Millisecond), w)
		ts.remove(&t)
	}
}

// BenchmarkDeadlineReset is what an idle limit costs per request: the
// deadline moves later, and the watching future polls it. The timer stays
// where it was armed (see Deadline), so the heap is not touched.
func BenchmarkDeadlineReset(b *testing.B) {
	rt := newBenchRuntime(b)
	now := time.Now()
	rt.timers = benchTimers(now)
	rt.ex.timers = rt.timers // a Deadline finds its heap through the waker's executor
	d := &Deadline{}
	cx := &Context{Waker: &Waker{task: &task{id: 1, name: "watcher"}, ex: rt.ex}}
	d.Reset(now.Add(time.Hour))
	d.Poll(cx)
	i := 0
	for b.Loop() {
		i++
		d.Reset(now.Add(time.Hour + time.Duration(i)*time.Microsecond))
		if d.Poll(cx).IsReady() {
			b.Fatal("an hour has passed")
		}
	}
}

// BenchmarkRunQueue pushes a task onto a queue that holds 64 and pops the
// oldest: the ring's steady state.
func BenchmarkRunQueue(b *testing.B) {
	var q runQueue
	for i := range 64 {
		q.push(&task{id: uint32(i)})
	}
	for b.Loop() {
		q.push(q.pop())
	}
}
