package selectfuture

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests race probes: futures that finish at a poll the test chooses and
// write down how Select treats them, every Poll (in one log shared by both,
// so the order shows) and every Drop. A driver polls Select until it is
// Ready, as the chapter's loop does.

func TestSelect(t *testing.T) {
	t.Run("it is Pending while neither is Ready, and each poll polls a, then b, once each", func(t *testing.T) {
		a, b, log := race(0, 0) // never Ready
		answers, _ := drive(Select(a, b), 3)
		assert.Equal(t, []string{"Pending", "Pending", "Pending"}, answers, "answers of Select's polls, with neither future Ready: Pending is passed on, never taken for Ready")
		assert.Equal(t, []string{"poll a", "poll b", "poll a", "poll b", "poll a", "poll b"}, *log,
			"what a and b saw during 3 polls of Select: each poll polls a, then b, once each")
		assert.Zero(t, a.drops+b.drops, "drops while the race runs")
	})

	t.Run("the first to be Ready wins, and the loser is dropped in the same poll", func(t *testing.T) {
		a, b, log := race(3, 0)
		answers, v := drive(Select(a, b), 10)
		assert.Equal(t, []string{"Pending", "Pending", "Ready"}, answers, "answers of Select's polls, a Ready at its 3rd poll: Select is Ready in the poll in which the first finishes")
		assert.Equal(t, Either[string, string]{First: true, A: "a"}, v, "Select's result: a won")
		assert.Equal(t, 1, b.drops, "drops of b, the loser, when Select returned Ready: the loser is dropped at once, and once")
		assert.Equal(t, []string{"poll a", "poll b", "poll a", "poll b", "poll a"}, polls(*log), "polls a and b saw: a, then b, until a won")
	})

	t.Run("b may win too, and then a is the loser", func(t *testing.T) {
		a, b, log := race(0, 2)
		answers, v := drive(Select(a, b), 10)
		assert.Equal(t, []string{"Pending", "Ready"}, answers, "answers of Select's polls, b Ready at its 2nd poll")
		assert.Equal(t, Either[string, string]{First: false, B: "b"}, v, "Select's result: b won")
		assert.Equal(t, 1, a.drops, "drops of a, the loser, when Select returned Ready: the loser is dropped at once, and once")
		assert.Equal(t, []string{"poll a", "poll b", "poll a", "poll b"}, polls(*log), "polls a and b saw: a, then b, until b won")
	})

	t.Run("a tie goes to a, and b is not polled once a has won", func(t *testing.T) {
		a, b, _ := race(1, 1) // both would be Ready at once
		answers, v := drive(Select(a, b), 10)
		assert.Equal(t, []string{"Ready"}, answers, "answers of Select's polls")
		assert.Equal(t, Either[string, string]{First: true, A: "a"}, v, "Select's result when both are Ready at their first poll: a tie goes to a")
		assert.Equal(t, 0, b.polls, "polls of b in the poll that a won: a loser polled to Ready has done its work for a result nobody receives")
		assert.Equal(t, 1, b.drops, "drops of b, the loser")
	})

	t.Run("polling Select after it was Ready panics, and polls neither future", func(t *testing.T) {
		a, b, _ := race(0, 2)
		s := Select(a, b)
		answers, _ := drive(s, 10)
		require.Equal(t, []string{"Pending", "Ready"}, answers, "answers of Select's polls")
		assert.PanicsWithValue(t, "Select: polled after it returned Ready", func() { s.Poll(&Context{}) },
			"Poll of Select after it returned Ready: a finished future must not answer again, it says its driver has a bug")
		assert.Equal(t, 0, a.pollsAfterDrop, "polls of a after it was dropped: the loser is never polled again")
		assert.Equal(t, 0, b.pollsAfterReady, "polls of b after it returned Ready: the winner is never polled again")
	})

	t.Run("each result keeps its own type", func(t *testing.T) {
		log := new([]string)
		a, b := newProbe("a", 42, 0, log), newProbe("b", []string{"x", "y"}, 1, log)
		answers, v := drive(Select(a, b), 10)
		assert.Equal(t, []string{"Ready"}, answers, "answers of Select's polls")
		assert.Equal(t, Either[int, []string]{B: []string{"x", "y"}}, v, "Select's result: b won")
	})

	t.Run("every poll passes Select's own Context on to the futures it polls", func(t *testing.T) {
		a, b, _ := race(0, 3)
		s := Select(a, b)
		for i := 1; i <= 3; i++ {
			cx := newContext() // a new one each time, so each poll's can be told apart
			s.Poll(cx)
			// From chapter 05 on the Context carries the Waker: a future
			// polled with another one could never be woken.
			assert.Same(t, cx, a.lastCx, "Context a got at Select's poll %d: Select must pass on the one it was given", i)
			assert.Same(t, cx, b.lastCx, "Context b got at Select's poll %d: Select must pass on the one it was given", i)
		}
	})

	t.Run("a loser that has no Drop method is simply abandoned", func(t *testing.T) {
		b := newProbe("b", "b", 2, new([]string))
		s := Select[int](forever[int]{}, b)
		var answers []string
		var v Either[int, string]
		assert.NotPanics(t, func() { answers, v = drive(s, 10) }, "Select won by b over a future with no Drop method: not every future is a Dropper")
		assert.Equal(t, []string{"Pending", "Ready"}, answers, "answers of Select's polls")
		assert.Equal(t, Either[int, string]{B: "b"}, v, "Select's result: b won")
	})
}

func TestSelectDrop(t *testing.T) {
	t.Run("dropping a Select that has not finished drops both futures, once each", func(t *testing.T) {
		a, b, _ := race(0, 0)
		s := Select(a, b)
		s.Poll(&Context{})
		asDropper(t, s).Drop()
		assert.Equal(t, 1, a.drops, "drops of a: an abandoned Select passes Drop on to both futures")
		assert.Equal(t, 1, b.drops, "drops of b: an abandoned Select passes Drop on to both futures")
	})

	t.Run("dropping a Select that was never polled drops both futures too", func(t *testing.T) {
		a, b, _ := race(1, 1)
		asDropper(t, Select(a, b)).Drop()
		assert.Equal(t, 1, a.drops, "drops of a: an abandoned Select passes Drop on to both futures")
		assert.Equal(t, 1, b.drops, "drops of b: an abandoned Select passes Drop on to both futures")
	})

	t.Run("dropping a Select twice drops nothing twice", func(t *testing.T) {
		a, b, _ := race(0, 0)
		d := asDropper(t, Select(a, b))
		d.Drop()
		d.Drop()
		assert.Equal(t, 1, a.drops, "drops of a after two Drops of Select: a future is dropped once, however often Select is")
		assert.Equal(t, 1, b.drops, "drops of b after two Drops of Select: a future is dropped once, however often Select is")
	})

	t.Run("dropping a Select after it finished drops the loser no more, and the winner at most once", func(t *testing.T) {
		for _, c := range []struct {
			name           string
			aReady, bReady int
			winner, loser  string
			wantFirst      bool
			wantPolls      int
		}{
			{"a won", 2, 0, "a", "b", true, 2},
			{"b won", 0, 1, "b", "a", false, 1},
		} {
			a, b, _ := race(c.aReady, c.bReady)
			s := Select(a, b)
			answers, v := drive(s, 10)
			require.Len(t, answers, c.wantPolls, "polls of Select until it was Ready, when %s", c.name)
			require.Equal(t, c.wantFirst, v.First, "Either.First when %s", c.name)
			asDropper(t, s).Drop()
			asDropper(t, s).Drop()
			probes := map[string]*probe[string]{"a": a, "b": b}
			assert.Equal(t, 1, probes[c.loser].drops, "drops of %s, the loser, after Select finished and was dropped twice: a future is dropped once, however often Select is", c.loser)
			assert.LessOrEqual(t, probes[c.winner].drops, 1, "drops of %s, the winner, after Select finished and was dropped twice: no future is dropped twice", c.winner)
		}
	})

	t.Run("a future that is not a Dropper is left alone, and the other is still dropped", func(t *testing.T) {
		b := newProbe("b", "b", 0, new([]string))
		s := Select[int](forever[int]{}, b)
		s.Poll(&Context{})
		d := asDropper(t, s)
		assert.NotPanics(t, d.Drop, "Drop of a Select holding a future that has no Drop method: not every future is a Dropper")
		assert.Equal(t, 1, b.drops, "drops of b")
	})
}

// probe is a future for the tests: Pending until its readyAt-th poll (for
// ever if readyAt is 0), then Ready with value. It counts its polls and
// drops, and writes each into a log it shares with the other probe. A poll
// after Ready or after Drop would be a bug in the caller; the probe counts
// it, so that the test can report it, and answers as it would have.
type probe[T any] struct {
	name    string
	value   T
	readyAt int
	log     *[]string // "poll a", "drop b", ...: the order things happened in

	polls           int      // every call of Poll
	pollsAfterReady int      // calls of Poll after it returned Ready: a bug in the caller
	pollsAfterDrop  int      // calls of Poll after Drop: a bug in the caller
	drops           int      // calls of Drop
	finished        bool     // Ready was returned
	lastCx          *Context // the Context of the latest Poll
}

func newProbe[T any](name string, value T, readyAt int, log *[]string) *probe[T] {
	return &probe[T]{name: name, value: value, readyAt: readyAt, log: log}
}

// race returns two probes named a and b, each with its name for value,
// Ready at their aReady-th and bReady-th polls (0: never), and their log.
func race(aReady, bReady int) (a, b *probe[string], log *[]string) {
	log = new([]string)
	return newProbe("a", "a", aReady, log), newProbe("b", "b", bReady, log), log
}

func (p *probe[T]) Poll(cx *Context) Poll[T] {
	p.polls++
	p.lastCx = cx
	*p.log = append(*p.log, "poll "+p.name)
	if p.drops > 0 {
		p.pollsAfterDrop++
	}
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

func (p *probe[T]) Drop() {
	p.drops++
	*p.log = append(*p.log, "drop "+p.name)
}

// forever is a future that is never Ready and, unlike probe, has no Drop
// method: a future that holds nothing to give back.
type forever[T any] struct{}

func (forever[T]) Poll(*Context) Poll[T] { return Pending[T]() }

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

// polls returns the entries of a probes' log that record a Poll.
func polls(log []string) []string {
	var only []string
	for _, e := range log {
		if strings.HasPrefix(e, "poll ") {
			only = append(only, e)
		}
	}
	return only
}

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

// asDropper returns Select's future as a Dropper, which it must be: a
// Select abandoned half-way has to pass Drop on to the futures it holds.
func asDropper(t *testing.T, f any) Dropper {
	t.Helper()
	d, ok := f.(Dropper)
	require.True(t, ok, "Select's future has a Drop method")
	return d
}
