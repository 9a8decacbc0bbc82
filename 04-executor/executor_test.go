//go:build linux

package main

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestExecutor makes an executor on a reactor of its own, both closed
// when the test ends; panics are reported to log.
func newTestExecutor(t *testing.T, log io.Writer) *Executor {
	t.Helper()
	r, err := NewReactor(tracer{})
	require.NoError(t, err, "NewReactor")
	ex := NewExecutor(r, tracer{}, log)
	t.Cleanup(func() { ex.Close(); r.Close() })
	return ex
}

// fdWaiter is a future that waits, once, for fd to become ready for
// interest: its first poll registers fd and returns Pending, and it is
// Ready with value on the first poll after that. It counts its polls.
type fdWaiter struct {
	fd       int
	interest Interest
	r        *Reactor
	value    string
	polls    int
	dropped  bool
}

func (w *fdWaiter) Poll(*Context) Poll[string] {
	w.polls++
	if w.polls == 1 {
		if err := w.r.Register(w.fd, w.interest); err != nil {
			panic(err)
		}
		return Pending[string]()
	}
	if w.interest == Writable { // a fresh socket is always writable
		w.r.Deregister(w.fd)
		return Ready(w.value)
	}
	return Pending[string]() // readable never comes in these tests
}

func (w *fdWaiter) Drop() { w.dropped = true; w.r.Deregister(w.fd) }

func TestExecutor(t *testing.T) {
	t.Run("runs tasks in the order they were spawned", func(t *testing.T) {
		ex := newTestExecutor(t, io.Discard)
		var order []int
		for i := 1; i <= 3; i++ {
			Spawn(ex, "ready", Map(&fetchData{}, func(string) int { order = append(order, i); return i }))
		}
		require.NoError(t, ex.Run(), "Run")
		assert.Equal(t, []int{1, 2, 3}, order, "order of completion")
	})

	t.Run("a task can spawn tasks, which queue behind those already there", func(t *testing.T) {
		ex := newTestExecutor(t, io.Discard)
		var order []string
		Spawn(ex, "parent", Map(&fetchData{}, func(string) int {
			order = append(order, "parent")
			Spawn(ex, "child", Map(&fetchData{}, func(string) int { order = append(order, "child"); return 0 }))
			return 0
		}))
		Spawn(ex, "sibling", Map(&fetchData{}, func(string) int { order = append(order, "sibling"); return 0 }))
		require.NoError(t, ex.Run(), "Run")
		assert.Equal(t, []string{"parent", "sibling", "child"}, order, "order of completion")
	})

	t.Run("BlockOn returns its future's value", func(t *testing.T) {
		ex := newTestExecutor(t, io.Discard)
		v, err := BlockOn(ex, "fetch", Future[string](&fetchData{}))
		require.NoError(t, err, "BlockOn")
		assert.Equal(t, "Hello", v, "value")
	})

	t.Run("a JoinHandle is Pending until its task finishes, then yields the value once", func(t *testing.T) {
		ex := newTestExecutor(t, io.Discard)
		fd, _ := socketpair(t)
		h := Spawn(ex, "waiter", Future[string](&fdWaiter{fd: fd, interest: Writable, r: ex.reactor, value: "done"}))
		assert.False(t, h.Poll(&Context{}).IsReady(), "handle before the task ran")
		got, err := BlockOn(ex, "joiner", Future[Joined[string]](h))
		require.NoError(t, err, "BlockOn")
		assert.Equal(t, Joined[string]{Value: "done"}, got, "what the handle yielded")
		assert.Panics(t, func() { h.Poll(&Context{}) }, "polling the handle again")
	})

	t.Run("a task that panics is reported by name, and the others go on", func(t *testing.T) {
		var log bytes.Buffer
		ex := newTestExecutor(t, &log)
		bad := Spawn(ex, "bad", Map(&fetchData{}, func(string) int { panic("boom") }))
		good := Spawn(ex, "good", Future[string](&fetchData{}))
		require.NoError(t, ex.Run(), "Run")
		assert.Equal(t, program+": task 1 (bad) panicked: boom\n", log.String(), "report")
		j, ok := bad.Poll(&Context{}).Value()
		require.True(t, ok, "the panicked task's handle is Ready")
		assert.EqualError(t, j.Err, "task 1 (bad) panicked: boom", "its error")
		j2, ok := good.Poll(&Context{}).Value()
		require.True(t, ok, "the other task's handle is Ready")
		assert.Equal(t, "Hello", j2.Value, "its value")
		assert.Equal(t, int64(1), ex.panics, "panics counted")
	})

	t.Run("after any event it polls every parked task again, even those it was not for", func(t *testing.T) {
		ex := newTestExecutor(t, io.Discard)
		idle, _ := socketpair(t)
		busy, _ := socketpair(t)
		bystander := &fdWaiter{fd: idle, interest: Readable, r: ex.reactor}
		Spawn(ex, "bystander", Future[string](bystander))
		_, err := BlockOn(ex, "busy", Future[string](&fdWaiter{fd: busy, interest: Writable, r: ex.reactor, value: "ok"}))
		require.NoError(t, err, "BlockOn")
		assert.Equal(t, 2, bystander.polls, "polls of a task whose descriptor never became ready")
	})

	t.Run("with every task Pending and nothing to wait for, it says so instead of hanging", func(t *testing.T) {
		ex := newTestExecutor(t, io.Discard)
		Spawn(ex, "forever", Future[int](newCountdown(5)))
		assert.ErrorIs(t, ex.Run(), errStuck, "Run")
	})

	t.Run("a Pending poll counts as empty only if the work meter did not move", func(t *testing.T) {
		ex := newTestExecutor(t, io.Discard)
		var work int64
		ex.work = &work
		Spawn(ex, "idle", Future[int](pendingFunc(func() {})))
		Spawn(ex, "echoes", Future[int](pendingFunc(func() { work += 27 }))) // as a session that echoed a line
		queued := ex.queue
		ex.queue = nil
		for _, task := range queued {
			ex.run(task, &Context{})
		}
		assert.Equal(t, int64(2), ex.polls, "polls")
		assert.Equal(t, int64(1), ex.empty, "empty polls: the idle task's, and not the one that moved bytes")
	})

	t.Run("Close drops the tasks that never finished", func(t *testing.T) {
		ex := newTestExecutor(t, io.Discard)
		fd, _ := socketpair(t)
		w := &fdWaiter{fd: fd, interest: Readable, r: ex.reactor}
		Spawn(ex, "stuck", Future[string](w))
		Spawn(ex, "done", Future[string](&fetchData{}))
		_, err := BlockOn(ex, "done too", Future[string](&fetchData{}))
		require.NoError(t, err, "BlockOn")
		ex.Close()
		assert.True(t, w.dropped, "the unfinished task was dropped")
		assert.Equal(t, 0, ex.reactor.watched, "descriptors still watched")
	})
}

// pendingFunc is a future that calls itself on every poll and is never
// Ready: a stand-in for a task whose poll does some work, or none, and
// then waits again.
type pendingFunc func()

func (f pendingFunc) Poll(*Context) Poll[int] {
	f()
	return Pending[int]()
}
