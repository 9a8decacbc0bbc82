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
	a Future[A]
	b Future[B]

	// TODO(03-futures/join): add what Poll and Drop must remember from one
	// call to the next.
}

// Poll polls each of a and b that has not finished, once, passing on the
// Context it was given, and keeps the result of any that finishes now. It is Ready with both results in the
// same call in which the second of them finishes, and Pending until then.
// Polling it again after Ready panics with
// "Join: polled after it returned Ready".
func (j *joinFuture[A, B]) Poll(cx *Context) Poll[Pair[A, B]] {
	// TODO(03-futures/join): poll what has not finished, as the doc comment
	// says, keeping for the futures Join holds the rule that a finished
	// future is never polled again.
	panic("TODO(03-futures/join): poll the unfinished futures; Ready once both have finished")
}

// Drop is for a Join abandoned before it finished: it drops each of a and
// b that has not finished, because those may still hold something. A
// future that finished is not touched.
func (j *joinFuture[A, B]) Drop() {
	// TODO(03-futures/join): release the futures that have not finished.
	// Not every future has a Drop method.
	panic("TODO(03-futures/join): drop the futures that have not finished")
}
