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
	// TODO(03-futures/select): return a future of your own design, with
	// Poll and Drop methods, that keeps the contract above.
	panic("TODO(03-futures/select): race a against b, and drop the loser")
}
