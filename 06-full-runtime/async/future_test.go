//go:build linux

package async

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func Example_fetchData() {
	f := &fetchData{}
	p := f.Poll(&Context{})
	v, ok := p.Value()
	fmt.Println(ok, v)
	// Output: true Hello
}

func Example_countdown() {
	c := newCountdown(2)
	cx := &Context{}
	for {
		p := c.Poll(cx)
		if v, ok := p.Value(); ok {
			fmt.Println("Ready", v)
			break
		}
		fmt.Println("Pending")
	}
	// Output:
	// Pending
	// Pending
	// Ready 2
}

func TestFutures(t *testing.T) {
	t.Run("a countdown of n is Pending n times, then Ready", func(t *testing.T) {
		v, polls := pollUntilReady(t, Future[int](newCountdown(3)))
		assert.Equal(t, 3, v, "value")
		assert.Equal(t, 4, polls, "polls")
	})

	t.Run("polling a finished future is a bug, and says so", func(t *testing.T) {
		f := &fetchData{}
		f.Poll(&Context{})
		assert.PanicsWithValue(t, "fetchData: polled after it returned Ready", func() { f.Poll(&Context{}) }, "second poll")
		c := newCountdown(0)
		c.Poll(&Context{})
		assert.Panics(t, func() { c.Poll(&Context{}) }, "countdown's second poll")
	})

	t.Run("Map applies its function to the result, once", func(t *testing.T) {
		calls := 0
		m := Map(newCountdown(2), func(n int) string { calls++; return fmt.Sprint(n * 10) })
		v, polls := pollUntilReady(t, m)
		assert.Equal(t, "20", v, "value")
		assert.Equal(t, 3, polls, "polls")
		assert.Equal(t, 1, calls, "calls of the function")
		assert.PanicsWithValue(t, "Map: polled after it returned Ready", func() { m.Poll(&Context{}) }, "polling Map after Ready")
	})

	t.Run("Then runs the second future after the first, with its result", func(t *testing.T) {
		first := newCountdown(2)
		var second *countdown
		f := Then(first, func(n int) Future[int] { second = newCountdown(n); return second })
		v, polls := pollUntilReady(t, f)
		assert.Equal(t, 2, v, "value")
		assert.Equal(t, 3, first.polls, "polls of the first")
		assert.Equal(t, 3, second.polls, "polls of the second")
		// The first poll of the second future happens in the same Poll
		// that saw the first finish: 3 + 3 polls in 5 calls, not 6.
		assert.Equal(t, 5, polls, "polls of Then")
		assert.PanicsWithValue(t, "Then: polled after it returned Ready", func() { f.Poll(&Context{}) }, "polling Then after Ready")
	})

	t.Run("Join finishes when both have, and polls neither after it finished", func(t *testing.T) {
		short, long := newCountdown(1), newCountdown(4)
		j := Join(short, long)
		v, polls := pollUntilReady(t, j)
		assert.Equal(t, Pair[int, int]{A: 1, B: 4}, v, "both results")
		assert.Equal(t, 5, polls, "polls of Join: as many as the longer needs")
		assert.Equal(t, 2, short.polls, "polls of the one that finished first")
		assert.Equal(t, 5, long.polls, "polls of the other")
		assert.PanicsWithValue(t, "Join: polled after it returned Ready", func() { j.Poll(&Context{}) }, "polling Join after Ready")
	})

	t.Run("Select finishes with the first to be ready and drops the other", func(t *testing.T) {
		winner, loser := &probe{value: "fast"}, &probe{value: "slow"}
		s := Select[string, string](loser, winner)
		cx := &Context{}
		assert.False(t, s.Poll(cx).IsReady(), "Select while neither is ready")
		winner.ready = true
		v, ok := s.Poll(cx).Value()
		require.True(t, ok, "Select once one is ready")
		assert.Equal(t, Either[string, string]{First: false, B: "fast"}, v, "the winner's result")
		assert.True(t, loser.dropped, "the loser was dropped")
		assert.Equal(t, 2, loser.polls, "the loser's polls: none after the winner finished")
		assert.PanicsWithValue(t, "Select: polled after it returned Ready", func() { s.Poll(cx) }, "polling Select after Ready")
	})

	t.Run("Select prefers its first future when both are ready in the same poll", func(t *testing.T) {
		a, b := &probe{ready: true, value: "a"}, &probe{ready: true, value: "b"}
		v, ok := Select[string, string](a, b).Poll(&Context{}).Value()
		require.True(t, ok, "Select")
		assert.Equal(t, Either[string, string]{First: true, A: "a"}, v, "the result")
		assert.Equal(t, 0, b.polls, "the second is not even polled")
		assert.True(t, b.dropped, "but it is dropped")
	})

	t.Run("dropping a combinator drops the futures it holds", func(t *testing.T) {
		a, b := &probe{}, &probe{}
		Drop(Join[string, string](a, b))
		assert.True(t, a.dropped && b.dropped, "Join's futures dropped")
		c := &probe{}
		Drop(Map(c, func(s string) int { return len(s) }))
		assert.True(t, c.dropped, "Map's future dropped")
		d := &probe{}
		Drop(Then(d, func(string) Future[int] { return newCountdown(0) }))
		assert.True(t, d.dropped, "Then's first future dropped")
		e, f := &probe{}, &probe{}
		Drop(Select[string, string](e, f))
		assert.True(t, e.dropped && f.dropped, "Select's futures dropped")
	})

	t.Run("Then dropped after its first future finished drops the second", func(t *testing.T) {
		second := &probe{}
		f := Then(Future[int](newCountdown(0)), func(int) Future[string] { return second })
		require.False(t, f.Poll(&Context{}).IsReady(), "Then: the second is Pending")
		Drop(f)
		assert.True(t, second.dropped, "the second future dropped")
	})

	t.Run("Drop on a value that holds nothing does nothing", func(t *testing.T) {
		assert.NotPanics(t, func() {
			Drop(nil)
			Drop(&fetchData{})
			Drop(Future[string](nil))
		}, "Drop")
	})
}
