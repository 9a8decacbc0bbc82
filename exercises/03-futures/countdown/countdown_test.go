package countdown

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A driver polls a future, and if the answer is Pending, polls it again
// later. In chapter 03 "later" is "at once"; the tests do the same and
// write down every answer, so that a failure shows the whole conversation.

// A *Countdown is a Future[int]: this line does not compile otherwise.
var _ Future[int] = (*Countdown)(nil)

func TestCountdown(t *testing.T) {
	t.Run("a countdown of 0 is Ready with 0 at the first poll", func(t *testing.T) {
		assert.Equal(t, []string{"Ready(0)"}, answers(New(0), 5), "answers of New(0)'s polls: with no Pending answers to give, the first poll is Ready")
	})

	t.Run("a countdown of 1 is Pending once, then Ready with 1", func(t *testing.T) {
		assert.Equal(t, []string{"Pending", "Ready(1)"}, answers(New(1), 5), "answers of New(1)'s polls: n Pending answers, then Ready with n")
	})

	t.Run("a countdown of 5 is Pending five times, then Ready with 5", func(t *testing.T) {
		want := []string{"Pending", "Pending", "Pending", "Pending", "Pending", "Ready(5)"}
		assert.Equal(t, want, answers(New(5), 10), "answers of New(5)'s polls: n Pending answers, then Ready with n; only the future's fields last from one Poll to the next")
	})

	t.Run("polling a countdown after it was Ready is a bug, and Poll panics to say so", func(t *testing.T) {
		cx := &Context{}
		for _, n := range []int{0, 1, 5} {
			c := New(n)
			answers(c, n+1) // exactly the polls it needs: the last one is Ready
			assert.PanicsWithValue(t, "countdown: polled after it returned Ready", func() { c.Poll(cx) },
				"Poll of New(%d) after it returned Ready: a finished future must not answer again, it says its driver has a bug", n)
		}
	})

	t.Run("two countdowns polled in turn keep their own counts", func(t *testing.T) {
		a, b := New(2), New(3)
		var got []string
		for aDone, bDone := false, false; !aDone || !bDone; {
			if !aDone {
				p := a.Poll(&Context{})
				got, aDone = append(got, "a: "+answer(p)), p.IsReady()
			}
			if !bDone {
				p := b.Poll(&Context{})
				got, bDone = append(got, "b: "+answer(p)), p.IsReady()
			}
			if len(got) > 20 {
				break // a countdown that never finishes: the check below shows it
			}
		}
		want := []string{"a: Pending", "b: Pending", "a: Pending", "b: Pending", "a: Ready(2)", "b: Pending", "b: Ready(3)"}
		assert.Equal(t, want, got, "answers of New(2) and New(3), polled in turn: each future keeps its own count, in its own fields")
	})

	t.Run("a new countdown starts afresh after another has run down", func(t *testing.T) {
		answers(New(3), 4)
		assert.Equal(t, []string{"Pending", "Pending", "Ready(2)"}, answers(New(2), 5), "answers of a New(2) made after a New(3) finished: each future keeps its own count, in its own fields")
	})
}

// answers polls f until it is Ready, or limit times, and returns what each
// poll answered: "Pending", or "Ready(v)" for the last.
func answers(f Future[int], limit int) []string {
	var got []string
	cx := &Context{}
	for range limit {
		p := f.Poll(cx)
		got = append(got, answer(p))
		if p.IsReady() {
			break
		}
	}
	return got
}

// answer writes a poll's result as the tests compare it.
func answer(p Poll[int]) string {
	if v, ok := p.Value(); ok {
		return fmt.Sprintf("Ready(%d)", v)
	}
	return "Pending"
}
