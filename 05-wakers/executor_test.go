//go:build linux

package main

import (
	"bytes"
	"io"
	"sync"
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
// interest: its first poll registers fd, hands its waker to the reactor
// and returns Pending, and it is Ready with value on the next poll. It
// counts its polls.
type fdWaiter struct {
	fd       int
	interest Interest
	r        *Reactor
	value    string
	polls    int
	dropped  bool
}

func (w *fdWaiter) Poll(cx *Context) Poll[string] {
	w.polls++
	if w.polls == 1 {
		if err := w.r.Register(w.fd); err != nil {
			panic(err)
		}
		if err := w.r.WakeOn(w.fd, w.interest, cx.Waker); err != nil {
			panic(err)
		}
		return Pending[string]()
	}
	w.r.Deregister(w.fd)
	return Ready(w.value)
}

func (w *fdWaiter) Drop() { w.dropped = true; w.r.Deregister(w.fd) }

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

// send may be called from any goroutine. It returns once the task is
// woken; the waker must be in the box already (the task has polled).
func (m *mailbox) send(v string) {
	m.mu.Lock()
	m.value, m.full = v, true
	w := m.waker
	m.mu.Unlock()
	w.Wake()
}

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

	t.Run("a JoinHandle wakes its awaiting task when the task it stands for finishes", func(t *testing.T) {
		ex := newTestExecutor(t, io.Discard)
		fd, _ := socketpair(t)
		h := Spawn(ex, "waiter", Future[string](&fdWaiter{fd: fd, interest: Writable, r: ex.reactor, value: "done"}))
		assert.False(t, h.Poll(&Context{}).IsReady(), "handle before the task ran")
		got, err := BlockOn(ex, "joiner", Future[Joined[string]](h))
		require.NoError(t, err, "BlockOn")
		assert.Equal(t, Joined[string]{Value: "done"}, got, "what the handle yielded")
		assert.Panics(t, func() { h.Poll(&Context{}) }, "polling the handle again")
		assert.Equal(t, int64(4), ex.polls, "polls: waiter twice, joiner twice")
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

	t.Run("an event polls only the task it is for", func(t *testing.T) {
		ex := newTestExecutor(t, io.Discard)
		idle, _ := socketpair(t)
		busy, _ := socketpair(t)
		bystander := &fdWaiter{fd: idle, interest: Readable, r: ex.reactor}
		Spawn(ex, "bystander", Future[string](bystander))
		_, err := BlockOn(ex, "busy", Future[string](&fdWaiter{fd: busy, interest: Writable, r: ex.reactor, value: "ok"}))
		require.NoError(t, err, "BlockOn")
		assert.Equal(t, 1, bystander.polls, "polls of a task whose descriptor never became ready (chapter 04: 2)")
	})

	t.Run("a task that returns Pending without handing its waker on is never polled again", func(t *testing.T) {
		ex := newTestExecutor(t, io.Discard)
		forgetful := &mailbox{} // nobody ever sends to it, so its waker is never called
		Spawn(ex, "forgetful", Future[string](forgetful))
		_, err := BlockOn(ex, "other", Future[string](&fetchData{}))
		require.NoError(t, err, "BlockOn")
		assert.Equal(t, 1, forgetful.polls, "polls")
	})

	t.Run("a countdown wakes itself, and is polled n+1 times", func(t *testing.T) {
		ex := newTestExecutor(t, io.Discard)
		c := newCountdown(3)
		v, err := BlockOn(ex, "countdown", Future[int](c))
		require.NoError(t, err, "BlockOn")
		assert.Equal(t, 3, v, "value")
		assert.Equal(t, 4, c.polls, "polls")
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
			ex.run(task)
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
		assert.Empty(t, ex.reactor.regs, "descriptors still registered")
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
