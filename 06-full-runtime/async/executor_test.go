//go:build linux

package async

import (
	"bytes"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// fdWaiter is a future that waits, once, for fd to become ready in
// direction dir: its first poll registers fd, hands its waker to the
// reactor and returns Pending, and it is Ready with value on the next poll
// (or at once, if an edge had come already). It counts its polls.
type fdWaiter struct {
	fd      int
	dir     interest
	r       *reactor
	reg     *registration
	value   string
	polls   int
	dropped bool
}

func (w *fdWaiter) Poll(cx *Context) Poll[string] {
	w.polls++
	if w.reg == nil {
		reg, err := newReg(w.r, w.fd)
		if err != nil {
			panic(err)
		}
		w.reg = reg
		if !reg.wakeOn(w.dir, cx.Waker) {
			return Pending[string]()
		}
	}
	w.r.deregister(w.reg)
	return Ready(w.value)
}

func (w *fdWaiter) Drop() {
	w.dropped = true
	if w.reg != nil {
		w.r.deregister(w.reg)
	}
}

func TestExecutor(t *testing.T) {
	t.Run("runs tasks in the order they were spawned", func(t *testing.T) {
		rt := newTestRuntime(t)
		var order []int
		for i := 1; i <= 3; i++ {
			Spawn(rt, "ready", Map(&fetchData{}, func(string) int { order = append(order, i); return i }))
		}
		require.NoError(t, rt.Run(), "Run")
		assert.Equal(t, []int{1, 2, 3}, order, "order of completion")
	})

	t.Run("a task can spawn tasks, which queue behind those already there", func(t *testing.T) {
		rt := newTestRuntime(t)
		var order []string
		Spawn(rt, "parent", Map(&fetchData{}, func(string) int {
			order = append(order, "parent")
			Spawn(rt, "child", Map(&fetchData{}, func(string) int { order = append(order, "child"); return 0 }))
			return 0
		}))
		Spawn(rt, "sibling", Map(&fetchData{}, func(string) int { order = append(order, "sibling"); return 0 }))
		require.NoError(t, rt.Run(), "Run")
		assert.Equal(t, []string{"parent", "sibling", "child"}, order, "order of completion")
	})

	t.Run("BlockOn returns its future's value", func(t *testing.T) {
		rt := newTestRuntime(t)
		v, err := BlockOn(rt, "fetch", Future[string](&fetchData{}))
		require.NoError(t, err, "BlockOn")
		assert.Equal(t, "Hello", v, "value")
	})

	t.Run("a JoinHandle wakes its awaiting task when the task it stands for finishes", func(t *testing.T) {
		rt := newTestRuntime(t)
		fd, _ := socketpair(t)
		h := Spawn(rt, "waiter", Future[string](&fdWaiter{fd: fd, dir: writable, r: rt.reactor, value: "done"}))
		assert.False(t, h.Poll(&Context{}).IsReady(), "handle before the task ran")
		got, err := BlockOn(rt, "joiner", Future[Joined[string]](h))
		require.NoError(t, err, "BlockOn")
		assert.Equal(t, Joined[string]{Value: "done"}, got, "what the handle yielded")
		assert.Panics(t, func() { h.Poll(&Context{}) }, "polling the handle again")
		assert.Equal(t, int64(4), rt.ex.polls, "polls: waiter twice, joiner twice")
	})

	t.Run("a task that panics is reported by name, and the others go on", func(t *testing.T) {
		var log bytes.Buffer
		rt := newTestRuntime(t, Config{Log: &log})
		bad := Spawn(rt, "bad", Map(&fetchData{}, func(string) int { panic("boom") }))
		good := Spawn(rt, "good", Future[string](&fetchData{}))
		require.NoError(t, rt.Run(), "Run")
		assert.Equal(t, "async: task 1 (bad) panicked: boom\n", log.String(), "report")
		j, ok := bad.Poll(&Context{}).Value()
		require.True(t, ok, "the panicked task's handle is Ready")
		assert.EqualError(t, j.Err, "task 1 (bad) panicked: boom", "its error")
		j2, ok := good.Poll(&Context{}).Value()
		require.True(t, ok, "the other task's handle is Ready")
		assert.Equal(t, "Hello", j2.Value, "its value")
		assert.Equal(t, int64(1), rt.Stats().Panics, "panics counted")
	})

	t.Run("a task that panics is dropped, and releases what it holds", func(t *testing.T) {
		rt := newTestRuntime(t)
		bad := &panicky{held: &probe{}}
		_, err := BlockOn(rt, "bad", Future[int](bad))
		assert.EqualError(t, err, "task 1 (bad) panicked: boom", "BlockOn's error")
		assert.True(t, bad.held.dropped, "what the task held was dropped")
		assert.Equal(t, 2, bad.polls, "polls: none after the panic")
	})

	t.Run("an event polls only the task it is for", func(t *testing.T) {
		rt := newTestRuntime(t)
		idle, _ := socketpair(t)
		busy, _ := socketpair(t)
		bystander := &fdWaiter{fd: idle, dir: readable, r: rt.reactor}
		Spawn(rt, "bystander", Future[string](bystander))
		_, err := BlockOn(rt, "busy", Future[string](&fdWaiter{fd: busy, dir: writable, r: rt.reactor, value: "ok"}))
		require.NoError(t, err, "BlockOn")
		assert.Equal(t, 1, bystander.polls, "polls of a task whose descriptor never became ready (chapter 04: 2)")
	})

	t.Run("a task that returns Pending without handing its waker on is never polled again", func(t *testing.T) {
		rt := newTestRuntime(t)
		forgetful := &mailbox{} // nobody ever sends to it, so its waker is never called
		Spawn(rt, "forgetful", Future[string](forgetful))
		_, err := BlockOn(rt, "other", Future[string](&fetchData{}))
		require.NoError(t, err, "BlockOn")
		assert.Equal(t, 1, forgetful.polls, "polls")
	})

	t.Run("a countdown wakes itself, and is polled n+1 times", func(t *testing.T) {
		rt := newTestRuntime(t)
		c := newCountdown(3)
		v, err := BlockOn(rt, "countdown", Future[int](c))
		require.NoError(t, err, "BlockOn")
		assert.Equal(t, 3, v, "value")
		assert.Equal(t, 4, c.polls, "polls")
	})

	t.Run("close drops the tasks that never finished", func(t *testing.T) {
		rt := newTestRuntime(t)
		fd, _ := socketpair(t)
		w := &fdWaiter{fd: fd, dir: readable, r: rt.reactor}
		spawned := Spawn(rt, "stuck", Future[string](w))
		Spawn(rt, "done", Future[string](&fetchData{}))
		_, err := BlockOn(rt, "done too", Future[string](&fetchData{}))
		require.NoError(t, err, "BlockOn")
		rt.ex.close()
		assert.True(t, w.dropped, "the unfinished task was dropped")
		assert.True(t, spawned.task.done.Load(), "and is done: a late wake is ignored")
		for fd, reg := range rt.reactor.regs {
			assert.Nil(t, reg, "fd %d still registered", fd)
		}
	})
}

// panicky holds a future, polls it once, and panics on its own second
// poll; dropping it drops what it holds.
type panicky struct {
	held  *probe
	polls int
}

func (p *panicky) Poll(cx *Context) Poll[int] {
	p.polls++
	if p.polls > 1 {
		panic("boom")
	}
	p.held.Poll(cx)
	cx.Waker.Wake()
	return Pending[int]()
}

func (p *panicky) Drop() { Drop(p.held) }

func TestRunQueue(t *testing.T) {
	// cleared checks that every slot of q outside its queued tasks is
	// nil: a popped task must not be kept alive by the ring.
	cleared := func(t *testing.T, q *runQueue) {
		t.Helper()
		for i, tk := range q.buf {
			if (i-q.head)&(len(q.buf)-1) >= q.n {
				require.Nil(t, tk, "slot %d (head %d, %d queued, size %d)", i, q.head, q.n, len(q.buf))
			}
		}
	}

	t.Run("keeps FIFO order across growth and wrap-around, and clears popped slots", func(t *testing.T) {
		var q runQueue
		var want []*task // the same tasks in a plain slice: the order to expect
		next := 0
		push := func() {
			next++
			tk := &task{id: uint32(next)}
			q.push(tk)
			want = append(want, tk)
		}
		pop := func() {
			require.NotEmpty(t, want, "pop from an empty queue")
			got := q.pop()
			require.Same(t, want[0], got, "popped task %d, want %d", got.id, want[0].id)
			want = want[1:]
		}
		sizes := map[int]bool{}
		wrapped := 0
		for range 1000 { // three in, two out: the queue grows by one a round
			push()
			push()
			push()
			if q.head+q.n > len(q.buf) {
				wrapped++ // the queued tasks run past the end of the ring, back to its start
			}
			pop()
			pop()
			cleared(t, &q)
			sizes[len(q.buf)] = true
		}
		require.Equal(t, 1000, q.len(), "queued")
		assert.Equal(t, map[int]bool{64: true, 128: true, 256: true, 512: true, 1024: true}, sizes, "sizes the ring went through")
		assert.Greater(t, wrapped, 0, "rounds in which the queue wrapped around")
		for q.len() > 0 {
			pop()
		}
		cleared(t, &q)
		assert.Empty(t, want, "tasks not popped")
	})

	t.Run("a queue that never holds more than its size reuses its slots and does not grow", func(t *testing.T) {
		var q runQueue
		tasks := make([]*task, 64)
		for i := range tasks {
			tasks[i] = &task{id: uint32(i)}
			q.push(tasks[i])
		}
		for i := range 10 * len(tasks) {
			got := q.pop()
			require.Same(t, tasks[i%len(tasks)], got, "pop %d", i)
			q.push(got)
		}
		assert.Len(t, q.buf, 64, "ring size")
		cleared(t, &q)
	})
}

func TestOnPark(t *testing.T) {
	// parked is what OnPark saw each time it ran.
	type parked struct {
		tid      int  // the thread it ran on
		sleeping bool // the loop had said it is going to sleep
		runnable int  // tasks queued or woken and not yet taken
	}
	// onThread runs f on a goroutine locked to its thread, and returns
	// the thread's id.
	onThread := func(t *testing.T, what string, f func() error) int {
		t.Helper()
		tid := make(chan int, 1)
		finishes(t, what, func() error {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			tid <- unix.Gettid()
			return f()
		})
		return <-tid
	}

	t.Run("runs on the loop's goroutine each time it is about to sleep, after its last look for wakes", func(t *testing.T) {
		// One task awaits three mailboxes in turn. Each time the loop is
		// about to sleep, OnPark notes what it sees and tells a helper
		// goroutine, which fills the box the task waits on: three sleeps.
		boxes := []*mailbox{{}, {}, {}}
		var rt *Runtime
		var seen []parked
		parkedNow := make(chan struct{}, len(boxes))
		rt = newTestRuntime(t, Config{OnPark: func() {
			ex := rt.ex
			ex.mu.Lock()
			woken := len(ex.woken)
			ex.mu.Unlock()
			seen = append(seen, parked{tid: unix.Gettid(), sleeping: ex.sleeping.Load(), runnable: ex.queue.len() + woken})
			parkedNow <- struct{}{}
		}})
		go func() {
			for _, b := range boxes {
				<-parkedNow
				b.send("x")
			}
		}()
		next := func(i int) func(string) Future[string] {
			return func(string) Future[string] { return boxes[i] }
		}
		three := Then(Then(Future[string](boxes[0]), next(1)), next(2))
		loop := onThread(t, "BlockOn", func() error {
			_, err := BlockOn(rt, "three boxes", three)
			return err
		})
		assert.Len(t, seen, 3, "parks: one per sleep")
		assert.Equal(t, int64(3), rt.Stats().EpollWaits, "epoll_wait calls")
		for i, p := range seen {
			assert.Equal(t, parked{tid: loop, sleeping: true, runnable: 0}, p, "park %d", i)
		}
	})

	t.Run("a Wake from inside OnPark is not lost: the loop does not sleep through it", func(t *testing.T) {
		// The task is Pending three times, and only OnPark wakes it. If
		// that Wake were lost, nothing else would ever end the sleep.
		steps := &nudged{left: 3}
		parks := 0
		rt := newTestRuntime(t, Config{OnPark: func() {
			parks++
			steps.nudge()
		}})
		finishes(t, "BlockOn", func() error {
			_, err := BlockOn(rt, "nudged", Future[int](steps))
			return err
		})
		s := rt.Stats()
		assert.Equal(t, 3, parks, "parks")
		assert.Equal(t, int64(4), s.Polls, "polls")
		assert.Equal(t, int64(3), s.EventfdWrites, "eventfd writes: each Wake from OnPark rings it")
		assert.Equal(t, int64(3), s.EpollWaits, "epoll_wait calls: each returned at once")
	})
}

// nudged is Pending until it has been nudged left times; it keeps the
// waker of its last poll for nudge.
type nudged struct {
	left  int
	waker *Waker
}

func (n *nudged) Poll(cx *Context) Poll[int] {
	if n.left == 0 {
		return Ready(0)
	}
	n.waker = cx.Waker
	return Pending[int]()
}

// nudge wakes the task that last polled n, and counts one nudge.
func (n *nudged) nudge() {
	if n.waker != nil {
		n.left--
		w := n.waker
		n.waker = nil
		w.Wake()
	}
}

func TestStats(t *testing.T) {
	t.Run("three tasks that pend once and are woken from another goroutine", func(t *testing.T) {
		boxes := []*mailbox{{}, {}, {}}
		parked := false
		rt := newTestRuntime(t, Config{OnPark: func() {
			if parked {
				return
			}
			parked = true
			// All three wakes land while the loop is about to sleep:
			// each finds it asleep, and the first rings the eventfd
			// for all of them.
			var sent sync.WaitGroup
			sent.Add(1)
			go func() {
				defer sent.Done()
				for _, b := range boxes {
					b.send("x")
				}
			}()
			sent.Wait()
		}})
		for _, b := range boxes {
			Spawn(rt, "box", Future[string](b))
		}
		finishes(t, "Run", rt.Run)
		assert.Equal(t, Stats{
			EpollWaits:    1, // the one sleep, ended by the eventfd
			Polls:         6, // each task twice
			EmptyPolls:    3, // the first polls: Pending, nothing moved
			Wakes:         3,
			RemoteWakes:   3, // all three found the loop asleep
			EventfdWrites: 1, // a burst costs one write
		}, rt.Stats(), "stats")
	})

	t.Run("timers armed and fired, accepts and panics", func(t *testing.T) {
		rt := newTestRuntime(t)
		ln, _ := listenAndDial(t, rt)
		Spawn(rt, "bad", Map(&fetchData{}, func(string) int { panic("boom") }))
		r, err := BlockOn(rt, "accept", ln.Accept())
		require.NoError(t, err, "BlockOn accept")
		require.NoError(t, r.Err, "Accept")
		t.Cleanup(func() { r.Value.Close() })
		_, err = BlockOn(rt, "sleep", rt.Sleep(20*time.Millisecond)) // long enough to be armed when first polled
		require.NoError(t, err, "BlockOn sleep")

		s := rt.Stats()
		assert.Equal(t, int64(1), s.Accepts, "accepts")
		assert.Equal(t, int64(0), s.AcceptPauses, "accept pauses")
		assert.Equal(t, int64(1), s.Panics, "panics")
		assert.Equal(t, int64(1), s.TimersArmed, "timers armed")
		assert.Equal(t, int64(1), s.TimersFired, "timers fired")
		// The accept found its connection at the first poll (it was
		// dialled first); the timer woke its task from the loop itself
		// (wakeHere, counted in a field of the loop's own): Wakes counts
		// that wake too.
		assert.Equal(t, int64(1), s.Wakes, "wakes: the timer fired")
		assert.Zero(t, s.RemoteWakes, "wakes from other goroutines")
	})
}
