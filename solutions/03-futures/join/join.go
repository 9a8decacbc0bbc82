// Package join runs two futures side by side and finishes when both have:
// chapter 03's Join combinator, what Rust writes as futures::join!(a, b).
//
// Join is a future made of futures. Each time it is polled it polls the two
// it holds, and that is how two pieces of work make progress in one thread:
// neither waits for the other, because nobody waits at all. Each Poll does
// what can be done now and returns. Join keeps the rules every future keeps,
// and one more that only a combinator can break: it never polls a future
// that has already returned Ready, since that future is finished.
package join

// Pair holds the results of two futures joined.
type Pair[A, B any] struct {
	A A
	B B
}

// Join returns a future that polls a and b side by side, whichever is
// ready first, and finishes when both have, with both results. A future
// that has finished is not polled again.
func Join[A, B any](a Future[A], b Future[B]) Future[Pair[A, B]] {
	return &joinFuture[A, B]{a: a, b: b}
}

type joinFuture[A, B any] struct {
	a Future[A] // nil once it has finished: nothing can poll or drop it then
	b Future[B] // nil once it has finished

	// A result arrives while the other future still runs, so it must be
	// kept until Join is Ready.
	result Pair[A, B] // the results that have come in so far
	done   bool       // Ready has been returned; another Poll is a bug
}

// Poll polls each of a and b that has not finished, once, passing on the
// Context it was given, and keeps the result of any that finishes now. It is Ready with both results in the
// same call in which the second of them finishes, and Pending until then.
// Polling it again after Ready panics with
// "Join: polled after it returned Ready".
func (j *joinFuture[A, B]) Poll(cx *Context) Poll[Pair[A, B]] {
	if j.done {
		panic("Join: polled after it returned Ready")
	}
	// Poll both in the same call, rather than b only once a has finished:
	// that would be "a, then b" (Then), and b would make no progress while
	// a waits. A nil future has finished; polling it again would break its
	// contract, so we keep its result and let go of the future. Each gets
	// cx, the Context we were given: from chapter 05 on it carries the
	// waker, and a future polled with another could never be woken.
	if j.a != nil {
		if v, ok := j.a.Poll(cx).Value(); ok {
			j.result.A, j.a = v, nil
		}
	}
	if j.b != nil {
		if v, ok := j.b.Poll(cx).Value(); ok {
			j.result.B, j.b = v, nil
		}
	}
	if j.a != nil || j.b != nil {
		return Pending[Pair[A, B]]()
	}
	// Both finished, perhaps the second one just now: answer Ready in this
	// call, since a Pending here would cost the driver a poll for nothing.
	j.done = true
	return Ready(j.result)
}

// Drop is for a Join abandoned before it finished: it drops each of a and
// b that has not finished, because those may still hold something. A
// future that finished is not touched.
func (j *joinFuture[A, B]) Drop() {
	// Poll set each finished future to nil, so only unfinished ones are
	// left here; drop skips nil and futures that hold nothing to release.
	drop(j.a)
	drop(j.b)
}
