// Package statemachine turns an async fn into the state machine a compiler
// makes of it, by hand, as chapter 03 does for the echo session.
//
// The function, in Rust:
//
//	async fn greet(conn: &mut Conn) -> io::Result<usize> {
//	    let name = conn.read_line().await?;          // state 1
//	    conn.write_all(b"hello, ").await?;           // state 2
//	    conn.write_all(name.as_bytes()).await?;      // state 3
//	    Ok(name.len())
//	}
//
// Calling greet runs none of its body: it returns a future, a value that
// remembers how far the body has got. Each .await is a place where the body
// may have to stop, because the connection would block, and return Pending;
// the next Poll must go on from that same place, not from the top. So the
// compiler turns the body into a struct: a state that says at which .await
// the body stopped (or that it returned), and a field for each local
// variable that lives across an .await. Poll is a loop around a switch on
// the state: it runs one piece of the body after another until a piece
// would block or the body returns.
//
// Two things the Rust source says without showing. write_all loops: a write
// may take only part of the buffer, and write_all writes the rest, from
// where the last write stopped, until nothing is left. And ? passes any
// error up at once: greet returns it, as Ready, whatever state it is in.
package statemachine

// greeting is what greet writes before the name.
const greeting = "hello, "

// Greeted is what greet finishes with: io::Result<usize>, in Go. Like a
// Rust Result it holds one or the other: N, the length of the name in
// bytes, when greet succeeded; or Err, the error that ended it, and then N
// is 0.
type Greeted struct {
	N   int
	Err error
}

// Greet is greet(conn) as a future. Make one with NewGreet, then poll it.
type Greet struct {
	state greetState // where the body stands; the zero value is state 1
	conn  *Conn

	// TODO(03-futures/statemachine): add a field for each value the body
	// needs on both sides of an .await: a local variable, or how far a
	// write_all has got.
}

// greetState says where greet's body stands: at which .await it stopped,
// or that it has returned.
type greetState int

// TODO(03-futures/statemachine): declare greet's states, typed constants
// of greetState with a comment each: one for every place where the body
// can stop, and one for "returned". NewGreet leaves state at its zero
// value, which must therefore be where the body starts.

// NewGreet returns greet(conn) as a future. Like calling an async fn, it
// does no I/O: the body starts at the first Poll.
func NewGreet(conn *Conn) *Greet {
	return &Greet{conn: conn}
}

// Poll runs greet's body from where it stopped as far as it can go without
// waiting. It returns Pending only when the connection answered
// ErrWouldBlock, and then keeps the state, so that the next Poll makes the
// same call again. A partial write is no reason to stop: write the rest at
// once. Poll returns Ready when the body returns: with Greeted{N:
// len(name)}, or with Greeted{Err: err} for the first error other than
// ErrWouldBlock, as ? would. Polling again after Ready panics with
// "greet: polled after it returned Ready".
func (g *Greet) Poll(*Context) Poll[Greeted] {
	// TODO(03-futures/statemachine): run greet's body from where g.state
	// says it stopped, as far as it can go without waiting, as the doc
	// comment says.
	panic("TODO(03-futures/statemachine): run greet from its state until it would block or returns")
}
