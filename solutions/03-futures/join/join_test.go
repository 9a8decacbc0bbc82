package join

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests join probes: futures that finish at a poll chosen by the test
// and count how Join treats them. A driver polls Join until it is Ready, as
// the chapter's loop does, and the tests compare every answer it gave.

func TestJoin(t *testing.T) {
	t.Run("it is Ready with both results in the poll where the second finishes, not before", func(t *testing.T) {
		a, b := newProbe("a", 2), newProbe("b", 4)
		answers, v := drive(Join(a, b), 10)
		assert.Equal(t, []string{"Pending", "Pending", "Pending", "Ready"}, answers, "answers of Join's polls, a Ready at its 2nd poll and b at its 4th: Join is Ready in the very poll in which the second finishes")
		assert.Equal(t, Pair[string, string]{A: "a", B: "b"}, v, "Join's result")
	})

	t.Run("every poll of Join polls each unfinished future once", func(t *testing.T) {
		a, b := newProbe("a", 0), newProbe("b", 0) // never Ready
		j := Join(a, b)
		cx := &Context{}
		for i := 1; i <= 3; i++ {
			assert.False(t, j.Poll(cx).IsReady(), "Join's poll %d, with neither future Ready", i)
			assert.Equal(t, i, a.polls, "polls of a after %d polls of Join: every poll of Join polls each unfinished future once", i)
			assert.Equal(t, i, b.polls, "polls of b after %d polls of Join: every poll of Join polls each unfinished future once, not b only after a (that is Then)", i)
		}
	})

	t.Run("a future that has finished is never polled again", func(t *testing.T) {
		a, b := newProbe("a", 1), newProbe("b", 4)
		answers, _ := drive(Join(a, b), 10)
		require.Equal(t, []string{"Pending", "Pending", "Pending", "Ready"}, answers, "answers of Join's polls")
		assert.Equal(t, 1, a.polls, "polls of a, which was Ready at its 1st")
		assert.Equal(t, 0, a.pollsAfterReady, "polls of a after it returned Ready: a finished future must never be polled again")
		assert.Equal(t, 4, b.polls, "polls of b, which was Ready at its 4th")
	})

	t.Run("the second future may finish first", func(t *testing.T) {
		a, b := newProbe("a", 3), newProbe("b", 1)
		answers, v := drive(Join(a, b), 10)
		assert.Equal(t, []string{"Pending", "Pending", "Ready"}, answers, "answers of Join's polls, a Ready at its 3rd poll and b at its 1st: Join is Ready in the very poll in which the second finishes")
		assert.Equal(t, Pair[string, string]{A: "a", B: "b"}, v, "Join's result")
		assert.Equal(t, 3, a.polls, "polls of a")
		assert.Equal(t, 1, b.polls, "polls of b")
		assert.Equal(t, 0, b.pollsAfterReady, "polls of b after it returned Ready: a finished future must never be polled again")
	})

	t.Run("when both are Ready at their first poll, so is Join", func(t *testing.T) {
		a, b := newProbe("a", 1), newProbe("b", 1)
		answers, v := drive(Join(a, b), 10)
		assert.Equal(t, []string{"Ready"}, answers, "answers of Join's polls")
		assert.Equal(t, Pair[string, string]{A: "a", B: "b"}, v, "Join's result")
		assert.Equal(t, 1, a.polls, "polls of a")
		assert.Equal(t, 1, b.polls, "polls of b")
	})

	t.Run("each result keeps its own type", func(t *testing.T) {
		a, b := newProbe(42, 2), newProbe([]string{"x", "y"}, 3)
		answers, v := drive(Join(a, b), 10)
		assert.Equal(t, []string{"Pending", "Pending", "Ready"}, answers, "answers of Join's polls")
		assert.Equal(t, Pair[int, []string]{A: 42, B: []string{"x", "y"}}, v, "Join's result")
	})

	t.Run("polling Join after it was Ready panics, and polls neither future", func(t *testing.T) {
		a, b := newProbe("a", 1), newProbe("b", 2)
		j := Join(a, b)
		answers, _ := drive(j, 10)
		require.Equal(t, []string{"Pending", "Ready"}, answers, "answers of Join's polls")
		assert.PanicsWithValue(t, "Join: polled after it returned Ready", func() { j.Poll(&Context{}) }, "Poll of Join after it returned Ready: a finished future must not answer again, it says its driver has a bug")
		assert.Equal(t, 1, a.polls, "polls of a")
		assert.Equal(t, 2, b.polls, "polls of b")
	})

	t.Run("every poll passes Join's own Context on to the futures it polls", func(t *testing.T) {
		a, b := newProbe("a", 2), newProbe("b", 3)
		j := Join(a, b)
		for i := 1; i <= 3; i++ {
			cx := newContext() // a new one each time, so each poll's can be told apart
			j.Poll(cx)
			// From chapter 05 on the Context carries the Waker: a future
			// polled with another one could never be woken.
			if i <= 2 {
				assert.Same(t, cx, a.lastCx, "Context a got at Join's poll %d: Join must pass on the one it was given", i)
			}
			assert.Same(t, cx, b.lastCx, "Context b got at Join's poll %d: Join must pass on the one it was given", i)
		}
	})
}

func TestJoinDrop(t *testing.T) {
	t.Run("dropping a Join that has not finished drops both futures, once each", func(t *testing.T) {
		a, b := newProbe("a", 0), newProbe("b", 0)
		j := Join(a, b)
		j.Poll(&Context{})
		asDropper(t, j).Drop()
		assert.Equal(t, 1, a.drops, "drops of a: an abandoned Join passes Drop on to every future that has not finished")
		assert.Equal(t, 1, b.drops, "drops of b: an abandoned Join passes Drop on to every future that has not finished")
	})

	t.Run("dropping a Join that was never polled drops both futures too", func(t *testing.T) {
		a, b := newProbe("a", 1), newProbe("b", 1)
		asDropper(t, Join(a, b)).Drop()
		assert.Equal(t, 1, a.drops, "drops of a: an abandoned Join passes Drop on to every future that has not finished")
		assert.Equal(t, 1, b.drops, "drops of b: an abandoned Join passes Drop on to every future that has not finished")
	})

	t.Run("dropping a Join after one future finished drops only the other", func(t *testing.T) {
		a, b := newProbe("a", 1), newProbe("b", 0)
		j := Join(a, b)
		require.False(t, j.Poll(&Context{}).IsReady(), "Join's poll, with b not Ready")
		asDropper(t, j).Drop()
		assert.Equal(t, 0, a.drops, "drops of a, which had finished: a finished future holds nothing, and must not be touched")
		assert.Equal(t, 1, b.drops, "drops of b, which had not")
	})

	t.Run("dropping a Join that finished drops neither: finished futures hold nothing", func(t *testing.T) {
		a, b := newProbe("a", 2), newProbe("b", 1)
		j := Join(a, b)
		answers, _ := drive(j, 10)
		require.Equal(t, []string{"Pending", "Ready"}, answers, "answers of Join's polls")
		asDropper(t, j).Drop()
		assert.Equal(t, 0, a.drops, "drops of a, which had finished: a finished future holds nothing, and must not be touched")
		assert.Equal(t, 0, b.drops, "drops of b, which had finished: a finished future holds nothing, and must not be touched")
	})

	t.Run("a future that is not a Dropper is left alone, and the other is still dropped", func(t *testing.T) {
		b := newProbe("b", 0)
		j := Join[int](forever[int]{}, b)
		j.Poll(&Context{})
		d := asDropper(t, j)
		assert.NotPanics(t, d.Drop, "Drop of a Join holding a future that has no Drop method: not every future is a Dropper")
		assert.Equal(t, 1, b.drops, "drops of b")
	})
}

// probe is a future for the tests: Pending until its readyAt-th poll (for
// ever if readyAt is 0), then Ready with value. It counts its polls and its
// drops. A poll after Ready would panic in a real future; the probe counts
// it instead and answers Ready again, so that the test can report it.
type probe[T any] struct {
	value   T
	readyAt int

	polls           int      // every call of Poll
	pollsAfterReady int      // calls of Poll after it returned Ready: a bug in the caller
	drops           int      // calls of Drop
	finished        bool     // Ready was returned
	lastCx          *Context // the Context of the latest Poll
}

func newProbe[T any](value T, readyAt int) *probe[T] {
	return &probe[T]{value: value, readyAt: readyAt}
}

func (p *probe[T]) Poll(cx *Context) Poll[T] {
	p.polls++
	p.lastCx = cx
	if p.finished {
		p.pollsAfterReady++
		return Ready(p.value)
	}
	if p.polls == p.readyAt {
		p.finished = true
		return Ready(p.value)
	}
	return Pending[T]()
}

func (p *probe[T]) Drop() { p.drops++ }

// forever is a future that is never Ready and, unlike probe, has no Drop
// method: a future that holds nothing to give back.
type forever[T any] struct{}

func (forever[T]) Poll(*Context) Poll[T] { return Pending[T]() }

// newContext returns a Context with an address of its own. Context is
// empty in this chapter, and Go may give every new empty value one and the
// same address; as the first field of a larger value it cannot.
func newContext() *Context {
	holder := &struct {
		cx Context
		_  byte
	}{}
	return &holder.cx
}

// drive polls f until it is Ready, or limit times, and returns what each
// poll answered, "Pending" or "Ready", and the value of the Ready one.
func drive[T any](f Future[T], limit int) ([]string, T) {
	var answers []string
	cx := &Context{}
	for range limit {
		if v, ok := f.Poll(cx).Value(); ok {
			return append(answers, "Ready"), v
		}
		answers = append(answers, "Pending")
	}
	var zero T
	return answers, zero
}

// asDropper returns Join's future as a Dropper, which it must be: a Join
// abandoned half-way has to pass Drop on to the futures it holds.
func asDropper(t *testing.T, f any) Dropper {
	t.Helper()
	d, ok := f.(Dropper)
	require.True(t, ok, "Join's future has a Drop method")
	return d
}
