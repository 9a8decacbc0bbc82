// Package selectfuture races two futures and keeps the first to finish:
// chapter 03's Select, what Rust writes with futures::select! or
// tokio::select!. (Its folder is named select, a word Go reserves, so the
// package cannot be.)
//
// Select is how a timeout is built: race the work against a timer, and
// take whichever finishes first. The other one, the loser, is abandoned
// half-way. Nobody will ever want its result, so it is never polled again,
// and since it may hold a buffer or a descriptor, it is told to let go:
// Go has no destructors, so Select calls its Drop by hand.
package selectfuture

// Either is the result of Select: which future won, and its value.
type Either[A, B any] struct {
	First bool // true if a won, and A holds its value; false if b won, and B holds its value
	A     A
	B     B
}

// Select returns a future that races a against b and finishes with the
// result of the first of them to be Ready. Its contract:
//
//   - Each Poll of Select polls a, then b, each at most once, passing on
//     the Context it was given, and is Pending while neither is Ready.
//   - The first to be Ready wins, and Select is Ready with its value in
//     the same call. If a is Ready, b is not polled in that call at all:
//     a tie goes to a, and a loser polled to Ready would have done its work
//     (read bytes, say) for a result nobody receives.
//   - The loser is dropped at once, before Select returns Ready, and is
//     never polled again. Neither is the winner, which has finished.
//   - Polling Select after it returned Ready is a bug in its driver: it
//     panics with "Select: polled after it returned Ready", and polls
//     neither future.
//   - The future Select returns is a Dropper. Dropping it before it has
//     finished drops a and b. No future is ever dropped twice, however
//     often Select is dropped, before or after it finished. (Dropping the
//     winner once is allowed, and does nothing: it has finished.)
//   - Not every future has a Drop method; one that has none is simply
//     abandoned.
func Select[A, B any](a Future[A], b Future[B]) Future[Either[A, B]] {
	return &selectFuture[A, B]{a: a, b: b}
}

// selectFuture is Select's state machine. Its state is which futures it
// still holds: both while the race runs, none once it is over. A field set
// to nil is a future let go of, so nothing can poll or drop it again.
type selectFuture[A, B any] struct {
	a    Future[A] // nil once the race is over, or Select was dropped
	b    Future[B] // nil once the race is over, or Select was dropped
	done bool      // Ready has been returned; another Poll is a bug
}

// Poll runs one round of the race.
func (s *selectFuture[A, B]) Poll(cx *Context) Poll[Either[A, B]] {
	if s.done {
		panic("Select: polled after it returned Ready")
	}
	// a first, and b only if a is still Pending: once a has won, polling b
	// could finish it, and its result would be thrown away.
	if v, ok := s.a.Poll(cx).Value(); ok {
		s.a = nil // the winner has finished: let go of it, undropped
		s.finish()
		return Ready(Either[A, B]{First: true, A: v})
	}
	if v, ok := s.b.Poll(cx).Value(); ok {
		s.b = nil
		s.finish()
		return Ready(Either[A, B]{B: v})
	}
	// Both are Pending, and so is the race. (From chapter 05 on, each has
	// registered the waker in cx, so either can wake the task.)
	return Pending[Either[A, B]]()
}

// finish ends the race: the loser, the only future still held, is dropped
// at once, so that whatever it holds is released now and not whenever the
// Select itself is dropped, if ever.
func (s *selectFuture[A, B]) finish() {
	s.done = true
	s.Drop()
}

// Drop drops the futures Select still holds and lets go of them, so that
// a second Drop, or a Drop after the race, drops nothing twice.
func (s *selectFuture[A, B]) Drop() {
	// WRONG: a type assertion without ", ok" panics on a future with no Drop.
	if s.a != nil {
		s.a.(Dropper).Drop()
	}
	if s.b != nil {
		s.b.(Dropper).Drop()
	}
	s.a, s.b = nil, nil
}
