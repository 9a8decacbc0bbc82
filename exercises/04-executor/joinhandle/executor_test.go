package joinhandle

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests spawn small futures written as functions, and wrap them so that
// each answer they give goes to a log: each test then compares the whole
// conversation between the loop and its tasks, in order. The loop is
// finished code, so it cannot hang: every pass pops a task, and tasks go
// back on the queue only when another one finishes.

func TestJoinHandle(t *testing.T) {
	t.Run("a handle is Pending before its task has run, and Ready with the task's value after", func(t *testing.T) {
		ex := NewExecutor()
		var log []string
		h := Spawn(ex, "answer", logged(&log, "answer", ready(42)))
		assert.Empty(t, log, "polls made by Spawn: the loop polls a task, not Spawn")

		_, ok := pollHandle(t, h, "Poll of the handle before Run")
		// require, not assert: a handle that answered Ready here is used up.
		require.False(t, ok, "Poll of the handle before Run is Pending: its task has not even run")
		require.NoError(t, ex.Run(), "Run")
		j, ok := pollHandle(t, h, "Poll of the handle after Run")
		assert.True(t, ok, "Poll of the handle after Run is Ready")
		assert.Equal(t, Joined[int]{Value: 42}, j, "what the handle yielded: the value its task was Ready with")
	})

	t.Run("a handle may be polled any number of times while its task is unfinished", func(t *testing.T) {
		ex := NewExecutor()
		h := Spawn(ex, "never", never[string]())
		require.ErrorIs(t, ex.Run(), ErrStuck,
			"Run with a task that never finishes: the task's poll says finished only when its future is Ready")

		for i := 1; i <= 3; i++ {
			what := fmt.Sprintf("Poll %d of the handle of a parked task (a Pending answer hands nothing over, and takes nothing)", i)
			_, ok := pollHandle(t, h, what)
			assert.False(t, ok, what)
		}
	})

	t.Run("the result comes out once: polling the handle again panics, and says why", func(t *testing.T) {
		ex := NewExecutor()
		h := Spawn(ex, "answer", ready("yes"))
		require.NoError(t, ex.Run(), "Run")
		j, ok := pollHandle(t, h, "first Poll of the handle after Run")
		require.True(t, ok, "first Poll of the handle after Run is Ready")
		require.Equal(t, Joined[string]{Value: "yes"}, j, "what the handle yielded")

		assert.PanicsWithValue(t, "JoinHandle: polled after it returned Ready", func() { h.Poll(&Context{}) },
			"second Poll of the handle: a second Ready would hand the same value to two owners")
	})

	t.Run("a task that waits for another's handle gets its value, once that task has finished", func(t *testing.T) {
		ex := NewExecutor()
		var log []string
		gate := false
		worker := Spawn(ex, "worker", logged(&log, "worker", gated(&gate, "result")))
		Spawn(ex, "opener", logged(&log, "opener", open(&gate)))

		j, err := BlockOn(ex, "joiner", logged(&log, "joiner", Future[Joined[string]](worker)))
		require.NoError(t, err, "BlockOn of a task that waits for worker's handle")
		assert.Equal(t, Joined[string]{Value: "result"}, j,
			"what the joiner got from the handle: worker's value. A Pending poll of worker carries no value: the handle finishes only when worker is Ready")
		want := []string{
			"worker: Pending", // the gate is shut
			"opener: Ready",   // opens the gate, and the loop re-queues worker
			"joiner: Pending", // worker has not run since: its handle is Pending
			"worker: Ready",   // the loop re-queues joiner
			"joiner: Ready",
		}
		assert.Equal(t, want, log, "what happened, in order")
	})

	t.Run("a task that panics finishes its handle with an error naming the task, and the others go on", func(t *testing.T) {
		ex := NewExecutor()
		var log []string
		bad := Spawn(ex, "bad", logged(&log, "bad", boom[int]("boom")))
		good := Spawn(ex, "good", logged(&log, "good", ready("fine")))
		require.NoError(t, ex.Run(), "Run, with one task that panics")

		j, ok := pollHandle(t, bad, "Poll of the panicked task's handle")
		require.True(t, ok, "Poll of the panicked task's handle is Ready: a task that panicked has finished, and nothing will ever poll it again")
		assert.EqualError(t, j.Err, "task 1 (bad) panicked: boom", "the error the panicked task's handle yielded: Ready hands over the error too")
		assert.Equal(t, 0, j.Value, "the value the panicked task's handle yielded")
		j2, ok := pollHandle(t, good, "Poll of the other task's handle")
		require.True(t, ok, "Poll of the other task's handle is Ready")
		assert.Equal(t, Joined[string]{Value: "fine"}, j2, "what the other task's handle yielded")
		assert.Equal(t, []string{"bad: panics", "good: Ready"}, log, "what happened, in order")
	})

	t.Run("BlockOn of a task that panics returns the panic as an error", func(t *testing.T) {
		ex := NewExecutor()
		Spawn(ex, "first", ready(1))
		_, err := BlockOn(ex, "doomed", boom[string]("out of cheese"))
		assert.EqualError(t, err, "task 2 (doomed) panicked: out of cheese", "BlockOn")
	})

	t.Run("a task that waits for the handle of a task that panicked gets the error as a value, and finishes", func(t *testing.T) {
		ex := NewExecutor()
		bad := Spawn(ex, "bad", boom[int]("boom"))

		j, err := BlockOn(ex, "joiner", Future[Joined[int]](bad))
		require.NoError(t, err, "BlockOn of a task that waits for bad's handle: fail finishes the handle, or the joiner waits for ever")
		assert.EqualError(t, j.Err, "task 1 (bad) panicked: boom", "the error the joiner got from bad's handle")
	})
}

// pollHandle polls h once, from the test itself rather than from a task,
// and returns what it yielded, if it was Ready. If Poll panics, the test
// fails with the panic, named by what, instead of crashing the whole run.
func pollHandle[T any](t *testing.T, h *JoinHandle[T], what string) (j Joined[T], ready bool) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			require.FailNow(t, what+" panicked", "%v", p)
		}
	}()
	return h.Poll(&Context{}).Value()
}

// futureFunc is a future written as a function: each Poll calls it.
type futureFunc[T any] func(cx *Context) Poll[T]

func (f futureFunc[T]) Poll(cx *Context) Poll[T] { return f(cx) }

// ready is a future that is Ready with v at its first poll.
func ready[T any](v T) Future[T] {
	return futureFunc[T](func(*Context) Poll[T] { return Ready(v) })
}

// never is a future that is never Ready.
func never[T any]() Future[T] {
	return futureFunc[T](func(*Context) Poll[T] { return Pending[T]() })
}

// gated is a future that is Pending while *gate is false, then Ready with v.
func gated[T any](gate *bool, v T) Future[T] {
	return futureFunc[T](func(*Context) Poll[T] {
		if *gate {
			return Ready(v)
		}
		return Pending[T]()
	})
}

// open is a future that sets *gate and is Ready at its first poll.
func open(gate *bool) Future[struct{}] {
	return futureFunc[struct{}](func(*Context) Poll[struct{}] {
		*gate = true
		return Ready(struct{}{})
	})
}

// boom is a future that panics with msg at its first poll.
func boom[T any](msg string) Future[T] {
	return futureFunc[T](func(*Context) Poll[T] { panic(msg) })
}

// logged wraps f so that each of its answers is written to log as
// "name: Pending", "name: Ready" or "name: panics". A panic goes on up to
// the loop, as it would without the wrapper.
func logged[T any](log *[]string, name string, f Future[T]) Future[T] {
	return futureFunc[T](func(cx *Context) Poll[T] {
		answered := false
		defer func() {
			if !answered {
				*log = append(*log, name+": panics")
			}
		}()
		p := f.Poll(cx)
		answered = true
		if p.IsReady() {
			*log = append(*log, name+": Ready")
		} else {
			*log = append(*log, name+": Pending")
		}
		return p
	})
}
