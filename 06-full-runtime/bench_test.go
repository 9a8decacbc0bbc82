//go:build linux

package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

// Microbenchmarks of the runtime's hot paths:
//
//	go test -run '^$' -bench . -benchmem ./06-full-runtime
//
// They measure; no test asserts a speed.

// readyNow is a future that is always Ready.
type readyNow struct{}

func (readyNow) Poll(*Context) Poll[int] { return Ready(1) }

// benchFuture is a package variable so that the compiler cannot see its
// type at the call and turn the interface call into a direct one.
var benchFuture Future[int] = readyNow{}

func BenchmarkPollReadyFuture(b *testing.B) {
	cx := &Context{}
	for b.Loop() {
		if !benchFuture.Poll(cx).IsReady() {
			b.Fatal("not ready")
		}
	}
}

func BenchmarkWake(b *testing.B) {
	r, err := NewReactor(tracer{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ex := NewExecutor(r, &Timers{}, tracer{}, io.Discard)
	t := &Task{id: 1, name: "woken"}
	t.waker = Waker{task: t, ex: ex}
	for b.Loop() {
		t.waker.Wake()
		ex.takeWoken() // what the loop does next
		ex.queue = ex.queue[:0]
		t.queued.Store(false) // as polling it would
	}
}

func BenchmarkSpawnAndRun(b *testing.B) {
	r, err := NewReactor(tracer{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ex := NewExecutor(r, &Timers{}, tracer{}, io.Discard)
	for b.Loop() {
		spawn(ex, "ready", Future[int](readyNow{}))
		if err := ex.Run(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTimerScheduleAndCancel(b *testing.B) {
	ts := &Timers{}
	now := time.Now()
	w := &Waker{}
	for i := range 10000 { // a heap the size of the 10,000-connection demo's
		ts.add(now.Add(time.Duration(i)*time.Millisecond), w)
	}
	var t timer
	t.index = -1
	i := 0
	for b.Loop() {
		i++
		ts.schedule(&t, now.Add(time.Duration(i%10000)*time.Millisecond), w)
		ts.remove(&t)
	}
}

// BenchmarkHTTPParseAndAnswer answers 16 pipelined requests per
// iteration; divide ns/op by 16 for one request.
func BenchmarkHTTPParseAndAnswer16(b *testing.B) {
	h := newBareHTTPSession()
	batch := []byte(strings.Repeat(get, 16))
	now := time.Now()
	b.SetBytes(int64(len(batch)))
	for b.Loop() {
		h.in = append(h.in[:0], batch...)
		h.out = h.out[:0]
		h.respond(now)
	}
}
