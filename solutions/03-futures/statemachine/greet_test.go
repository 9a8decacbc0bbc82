package statemachine

import (
	"errors"
	"fmt"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each test scripts a Conn, polls greet until it is Ready, and writes down
// after every poll what Poll answered and what the connection had seen by
// then. Those lines are the specification; when one differs, the poll it
// names is where your state machine went another way.

// patience bounds how long one run of polls may take. It needs
// microseconds; ten seconds is far beyond that even on a loaded machine.
const patience = 10 * time.Second

// errReset stands for the error of a connection the peer has reset.
var errReset = errors.New("connection reset by peer")

func TestGreet(t *testing.T) {
	t.Run("with nothing in the way, the first poll runs greet to the end", func(t *testing.T) {
		c := &Conn{Line: "ada"}
		polls, v := run(NewGreet(c), c, 10)
		assert.Equal(t, []string{
			`poll 1: Ready; sent "hello, ada"; ReadLine calls 1, Write calls 2`,
		}, polls, "polls of greet: with nothing in the way one Poll runs the body to the end; Pending is only for a would-block")
		assert.Equal(t, Greeted{N: 3}, v, "greet's result")
		assert.Equal(t, []string{"hello, ", "ada"}, c.Offered, "what each Write was given: write_all writes what it has not sent yet, and nothing more")
	})

	t.Run("it is Pending once for each would-block, and goes on where it stopped", func(t *testing.T) {
		c := &Conn{Line: "ada", ReadBlocks: 2, Writes: []WriteStep{Block, Take(3), Block, Take(100), Block}}
		polls, v := run(NewGreet(c), c, 10)
		assert.Equal(t, []string{
			`poll 1: Pending; sent ""; ReadLine calls 1, Write calls 0`,         // no line yet
			`poll 2: Pending; sent ""; ReadLine calls 2, Write calls 0`,         // still none
			`poll 3: Pending; sent ""; ReadLine calls 3, Write calls 1`,         // "ada" read; the greeting blocks
			`poll 4: Pending; sent "hel"; ReadLine calls 3, Write calls 3`,      // 3 bytes taken; the rest blocks
			`poll 5: Pending; sent "hello, "; ReadLine calls 3, Write calls 5`,  // greeting done; the name blocks
			`poll 6: Ready; sent "hello, ada"; ReadLine calls 3, Write calls 6`, // name written: Ok(3)
		}, polls, "polls of greet: a would-block is Pending with the state kept, and the next Poll goes on where the body stopped")
		assert.Equal(t, Greeted{N: 3}, v, "greet's result: a would-block only delays greet, it neither ends it nor starts it over")
		assert.Equal(t, []string{"hello, ", "hello, ", "lo, ", "lo, ", "ada", "ada"}, c.Offered, "what each Write was given: after a would-block the same write is made again, with what is still unsent")
	})

	t.Run("partial writes go on where they stopped, and no byte is sent twice", func(t *testing.T) {
		c := &Conn{Line: "ada", Writes: []WriteStep{Take(2), Take(2), Take(2), Take(1), Take(1)}}
		polls, v := run(NewGreet(c), c, 10)
		assert.Equal(t, []string{
			`poll 1: Ready; sent "hello, ada"; ReadLine calls 1, Write calls 6`,
		}, polls, "polls of greet: a partial write is not a would-block")
		assert.Equal(t, Greeted{N: 3}, v, "greet's result")
		assert.Equal(t, []string{"hello, ", "llo, ", "o, ", " ", "ada", "da"}, c.Offered, "what each Write was given: the unsent rest, every time")
	})

	t.Run("the result is the length of the name in bytes, as len() is in Rust", func(t *testing.T) {
		c := &Conn{Line: "Zoë"} // ë is two bytes in UTF-8
		polls, v := run(NewGreet(c), c, 10)
		assert.Equal(t, []string{
			`poll 1: Ready; sent "hello, Zoë"; ReadLine calls 1, Write calls 2`,
		}, polls, "polls of greet")
		assert.Equal(t, Greeted{N: 4}, v, "greet's result for \"Zoë\": len() counts bytes, in Rust as in Go")
	})

	t.Run("an empty name writes only the greeting: write_all of nothing makes no call", func(t *testing.T) {
		c := &Conn{Line: ""}
		polls, v := run(NewGreet(c), c, 10)
		assert.Equal(t, []string{
			`poll 1: Ready; sent "hello, "; ReadLine calls 1, Write calls 1`,
		}, polls, "polls of greet")
		assert.Equal(t, Greeted{N: 0}, v, "greet's result")
		assert.Equal(t, []string{"hello, "}, c.Offered, "what each Write was given: write_all of nothing makes no call")
	})
}

func TestGreetErrors(t *testing.T) {
	t.Run("a read error finishes greet with that error, and nothing is written", func(t *testing.T) {
		c := &Conn{ReadBlocks: 1, ReadErr: errReset}
		polls, v := run(NewGreet(c), c, 10)
		assert.Equal(t, []string{
			`poll 1: Pending; sent ""; ReadLine calls 1, Write calls 0`,
			`poll 2: Ready; sent ""; ReadLine calls 2, Write calls 0`,
		}, polls, "polls of greet: an error other than ErrWouldBlock ends greet at once, as ? does")
		assert.Equal(t, Greeted{Err: errReset}, v, "greet's result: the read's error, as it was")
	})

	t.Run("a write error in the greeting finishes greet with it, and the name is never written", func(t *testing.T) {
		c := &Conn{Line: "ada", Writes: []WriteStep{Take(3), Block, Fail(errReset)}}
		polls, v := run(NewGreet(c), c, 10)
		assert.Equal(t, []string{
			`poll 1: Pending; sent "hel"; ReadLine calls 1, Write calls 2`,
			`poll 2: Ready; sent "hel"; ReadLine calls 1, Write calls 3`,
		}, polls, "polls of greet: an error other than ErrWouldBlock ends greet at once, as ? does")
		assert.Equal(t, Greeted{Err: errReset}, v, "greet's result: the write's error, as it was")
		assert.Equal(t, []string{"hello, ", "lo, ", "lo, "}, c.Offered, "what each Write was given: after an error nothing more is written")
	})

	t.Run("a write error half-way through the name finishes greet with it", func(t *testing.T) {
		c := &Conn{Line: "ada", Writes: []WriteStep{Take(100), Take(1), Block, Fail(errReset)}}
		polls, v := run(NewGreet(c), c, 10)
		assert.Equal(t, []string{
			`poll 1: Pending; sent "hello, a"; ReadLine calls 1, Write calls 3`,
			`poll 2: Ready; sent "hello, a"; ReadLine calls 1, Write calls 4`,
		}, polls, "polls of greet: an error other than ErrWouldBlock ends greet at once, as ? does")
		assert.Equal(t, Greeted{Err: errReset}, v, "greet's result: the write's error, as it was")
		assert.Equal(t, []string{"hello, ", "ada", "da", "da"}, c.Offered, "what each Write was given: after an error nothing more is written")
	})
}

func TestGreetAfterReady(t *testing.T) {
	for _, c := range []struct {
		name string
		conn *Conn
	}{
		{"polling greet after it returned Ok panics, and touches the connection no more", &Conn{Line: "ada"}},
		{"polling greet after it returned an error panics, and touches the connection no more", &Conn{ReadErr: errReset}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := NewGreet(c.conn)
			_, ok := g.Poll(&Context{}).Value()
			require.True(t, ok, "greet's first poll, with nothing in the way")
			reads, writes := c.conn.ReadLineCalls, c.conn.WriteCalls
			assert.PanicsWithValue(t, "greet: polled after it returned Ready", func() { g.Poll(&Context{}) }, "Poll of greet after Ready: every way to Ready, an error's too, leaves greet finished")
			assert.Equal(t, reads, c.conn.ReadLineCalls, "ReadLine calls made by the Poll after Ready")
			assert.Equal(t, writes, c.conn.WriteCalls, "Write calls made by the Poll after Ready")
		})
	}
}

// run polls g until it is Ready, or limit times. After every poll it writes
// one line: what Poll answered, what the peer has received, and how often
// each operation of c was called. It returns the lines and greet's result.
func run(g *Greet, c *Conn, limit int) ([]string, Greeted) {
	// A Poll that loops for ever without calling the Conn would hang the
	// tests until go test gives up after 10 minutes. Crash after patience
	// instead, showing every goroutine's stack: Poll's shows where it spins.
	watchdog := time.AfterFunc(patience, func() {
		debug.SetTraceback("all")
		panic(fmt.Sprintf("greet's Poll has not returned after %v: a loop in Poll that never ends?", patience))
	})
	defer watchdog.Stop()
	var polls []string
	cx := &Context{}
	for i := 1; i <= limit; i++ {
		v, ok := g.Poll(cx).Value()
		answer := "Pending"
		if ok {
			answer = "Ready"
		}
		polls = append(polls, fmt.Sprintf("poll %d: %s; sent %q; ReadLine calls %d, Write calls %d",
			i, answer, c.Sent, c.ReadLineCalls, c.WriteCalls))
		if ok {
			return polls, v
		}
	}
	return polls, Greeted{}
}
