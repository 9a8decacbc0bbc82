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

import "errors"

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

	// A local that lives across an .await would be gone when Poll returns
	// Pending, so it lives here; so does write_all's progress, which a
	// compiler keeps inside the write_all future it stores in the state.
	name string // the line read in state 1; state 3 writes it, Ready counts it
	rest []byte // what the write_all in progress has still to send
}

// greetState says where greet's body stands: at which .await it stopped,
// or that it has returned.
type greetState int

// greet's states: one per .await, where the body can stop, and one for
// "returned". NewGreet leaves state at its zero value, so the first
// constant, iota, is state 1.
const (
	greetReading      greetState = iota // state 1: at conn.read_line().await
	greetWritingHello                   // state 2: at conn.write_all(b"hello, ").await
	greetWritingName                    // state 3: at conn.write_all(name.as_bytes()).await
	greetDone                           // the body returned, Ok or Err: Ready was given
)

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
	// Each case is the piece of the body that starts at one .await. A case
	// that finishes its piece moves the state on and loops, so the next
	// piece runs in this same call: returning Pending without a
	// would-block would leave work undone that nothing would come back
	// for (from chapter 05 on, nothing wakes a future that did not block).
	for {
		switch g.state {
		case greetReading:
			// let name = conn.read_line().await?;
			name, err := g.conn.ReadLine()
			if err != nil {
				return g.stopAt(err)
			}
			// name lives across the next two .awaits, so it goes in a field;
			// rest is set up for the write_all that comes next.
			g.name, g.rest, g.state = name, []byte(greeting), greetWritingHello
			return Pending[Greeted]() // WRONG: stops although nothing is in the way
		case greetWritingHello:
			// conn.write_all(b"hello, ").await?;
			if err := g.writeRest(); err != nil {
				return g.stopAt(err)
			}
			g.rest, g.state = []byte(g.name), greetWritingName
			return Pending[Greeted]() // WRONG: the same
		case greetWritingName:
			// conn.write_all(name.as_bytes()).await?;
			if err := g.writeRest(); err != nil {
				return g.stopAt(err)
			}
			// Ok(name.len()): len counts bytes, in Go as in Rust.
			g.state = greetDone
			return Ready(Greeted{N: len(g.name)})
		default:
			panic("greet: polled after it returned Ready")
		}
	}
}

// writeRest is the loop inside write_all: write g.rest until nothing is
// left. After each write it keeps only what the connection did not take,
// so that the next call, in this Poll or a later one, goes on from the
// first unsent byte and never sends one twice. It returns the first error,
// ErrWouldBlock included; an empty g.rest makes no call at all.
func (g *Greet) writeRest() error {
	for len(g.rest) > 0 {
		n, err := g.conn.Write(g.rest)
		if err != nil {
			return err
		}
		g.rest = g.rest[n:]
	}
	return nil
}

// stopAt is what an .await does with an operation's error. ErrWouldBlock
// suspends: Pending, with the state left as it is, so that the next Poll
// makes the same call again. Any other error is what ? does: greet
// returns it, and is finished.
func (g *Greet) stopAt(err error) Poll[Greeted] {
	if errors.Is(err, ErrWouldBlock) {
		return Pending[Greeted]()
	}
	g.state = greetDone
	return Ready(Greeted{Err: err})
}
