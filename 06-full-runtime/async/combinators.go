//go:build linux

package async

// Combinators build a future out of other futures. Each is a small state
// machine of its own; its states are listed beside their constants. None
// of them blocks: each Poll polls what it holds, at most once, and returns.

// Map returns a future that finishes with fn(v) when f finishes with v.
func Map[T, U any](f Future[T], fn func(T) U) Future[U] {
	return &mapFuture[T, U]{inner: f, fn: fn}
}

type mapFuture[T, U any] struct {
	inner Future[T] // nil once it has finished
	fn    func(T) U
}

func (m *mapFuture[T, U]) Poll(cx *Context) Poll[U] {
	if m.inner == nil {
		panic("Map: polled after it returned Ready")
	}
	v, ok := m.inner.Poll(cx).Value()
	if !ok {
		return Pending[U]()
	}
	m.inner = nil
	return Ready(m.fn(v))
}

func (m *mapFuture[T, U]) Drop() { Drop(m.inner) }

// Then returns a future that runs f, then the future next(v) makes from
// f's result v, and finishes with that one's result: "a, then b", which is
// what two lines of an async fn with an .await each compile to.
func Then[T, U any](f Future[T], next func(T) Future[U]) Future[U] {
	return &thenFuture[T, U]{first: f, next: next}
}

type thenState int

const (
	thenFirst  thenState = iota // polling the first future
	thenSecond                  // the first finished; polling the one it led to
	thenDone                    // the second finished; nothing left
)

type thenFuture[T, U any] struct {
	state  thenState
	first  Future[T]
	next   func(T) Future[U]
	second Future[U]
}

func (t *thenFuture[T, U]) Poll(cx *Context) Poll[U] {
	switch t.state {
	case thenFirst:
		v, ok := t.first.Poll(cx).Value()
		if !ok {
			return Pending[U]()
		}
		t.first, t.second, t.state = nil, t.next(v), thenSecond
		// The second future may be ready at once: poll it now rather
		// than return Pending with work we could have done.
		fallthrough
	case thenSecond:
		p := t.second.Poll(cx)
		if p.IsReady() {
			t.second, t.state = nil, thenDone
		}
		return p
	}
	panic("Then: polled after it returned Ready")
}

func (t *thenFuture[T, U]) Drop() {
	Drop(t.first)
	Drop(t.second)
}

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
	a      Future[A] // nil once it has finished
	b      Future[B] // nil once it has finished
	result Pair[A, B]
	done   bool
}

func (j *joinFuture[A, B]) Poll(cx *Context) Poll[Pair[A, B]] {
	if j.done {
		panic("Join: polled after it returned Ready")
	}
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
	j.done = true
	return Ready(j.result)
}

func (j *joinFuture[A, B]) Drop() {
	Drop(j.a)
	Drop(j.b)
}

// Either is the result of Select: which future won, and its value.
type Either[A, B any] struct {
	First bool // true if a finished first, and A holds its value
	A     A
	B     B
}

// Select returns a future that polls a and b and finishes with the result
// of whichever is ready first (a, if both are ready in the same poll). The
// other one is dropped at once: never polled again, and told to release
// what it holds. That is how a timeout cancels the work it guards.
func Select[A, B any](a Future[A], b Future[B]) Future[Either[A, B]] {
	return &selectFuture[A, B]{a: a, b: b}
}

type selectFuture[A, B any] struct {
	a    Future[A]
	b    Future[B]
	done bool
}

func (s *selectFuture[A, B]) Poll(cx *Context) Poll[Either[A, B]] {
	if s.done {
		panic("Select: polled after it returned Ready")
	}
	if v, ok := s.a.Poll(cx).Value(); ok {
		s.finish()
		return Ready(Either[A, B]{First: true, A: v})
	}
	if v, ok := s.b.Poll(cx).Value(); ok {
		s.finish()
		return Ready(Either[A, B]{B: v})
	}
	return Pending[Either[A, B]]()
}

// finish drops both futures: the winner is finished and holds nothing,
// the loser is abandoned mid-way and must let go of what it held.
func (s *selectFuture[A, B]) finish() {
	s.Drop()
	s.done = true
}

func (s *selectFuture[A, B]) Drop() {
	Drop(s.a)
	Drop(s.b)
	s.a, s.b = nil, nil
}
