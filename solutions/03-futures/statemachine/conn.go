package statemachine

import (
	"errors"
	"io"
)

// This file is the connection greet talks to: a fake, held in memory, that
// the tests script. It is the same in the exercise and in its solution:
// there is nothing to change here.

// ErrWouldBlock is what a Conn returns when an operation cannot go on
// without waiting: EAGAIN, in this fake. It is not a failure. Nothing
// happened, and the same call can be made again later.
var ErrWouldBlock = errors.New("operation would block")

// Conn is a fake non-blocking connection. Its methods never wait, sleep or
// start a goroutine: each call plays the next entry of a script the test
// wrote, so the same script always gives the same answers. Conn also
// records every call, so that a test can tell whether work was done twice.
//
// The test sets the script fields; Conn keeps the record fields. The code
// under test only calls ReadLine and Write.
type Conn struct {
	// Script for ReadLine: the first ReadBlocks calls return ErrWouldBlock;
	// the next one returns Line, or fails with ReadErr if that is set; any
	// call after that returns io.EOF, because the peer sent one line and
	// closed.
	Line       string
	ReadBlocks int
	ReadErr    error

	// Script for Write: what each call does, in order (see Take, Block and
	// Fail). When the steps run out, Write takes all it is given.
	Writes []WriteStep

	// Record.
	ReadLineCalls int      // calls of ReadLine
	WriteCalls    int      // calls of Write
	Offered       []string // what each Write call was given, in order
	Sent          []byte   // every byte Write took, in order: what the peer received

	nextWrite int // index in Writes of the step for the next Write
}

// callLimit is far more calls than greet ever needs, a handful. A Conn
// called more often than that is being called by a loop that will not end,
// and it panics rather than let the test run until memory runs out.
const callLimit = 1000

// WriteStep is what one call of Conn.Write does. Make it with Take, Block
// or Fail.
type WriteStep struct {
	max int   // the most bytes the call takes; 0 means it would block
	err error // if not nil, the call takes nothing and fails with it
}

// Take is a Write that takes at most n bytes, n > 0, as a socket does when
// its send buffer has room for only n: offered more, it takes the first n
// and reports how many. That is a partial write, and not an error.
func Take(n int) WriteStep { return WriteStep{max: n} }

// Block is a Write that takes nothing and returns ErrWouldBlock, as a
// socket does when its send buffer is full.
var Block = WriteStep{}

// Fail is a Write that takes nothing and fails with err, as a write to a
// peer that has reset the connection fails with ECONNRESET.
func Fail(err error) WriteStep { return WriteStep{err: err} }

// ReadLine returns the line the peer sent, without its newline, or
// ErrWouldBlock if it has not arrived yet. See Conn for the script.
func (c *Conn) ReadLine() (string, error) {
	c.ReadLineCalls++
	if c.ReadLineCalls > callLimit {
		panic("fake Conn: ReadLine called more than 1000 times; greet needs a few: does a loop call it for ever?")
	}
	switch {
	case c.ReadLineCalls <= c.ReadBlocks:
		return "", ErrWouldBlock
	case c.ReadLineCalls > c.ReadBlocks+1:
		return "", io.EOF
	case c.ReadErr != nil:
		return "", c.ReadErr
	}
	return c.Line, nil
}

// Write sends the first bytes of p and returns how many it took, which may
// be fewer than len(p). Taking nothing, it returns ErrWouldBlock (try again
// later) or another error (the connection is broken). Like write(2), it
// takes an empty p at once, without using up a step of the script.
func (c *Conn) Write(p []byte) (int, error) {
	c.WriteCalls++
	if c.WriteCalls > callLimit {
		panic("fake Conn: Write called more than 1000 times; greet needs a few: does a loop call it for ever?")
	}
	c.Offered = append(c.Offered, string(p))
	if len(p) == 0 {
		return 0, nil
	}
	step := WriteStep{max: len(p)}
	if c.nextWrite < len(c.Writes) {
		step = c.Writes[c.nextWrite]
		c.nextWrite++
	}
	switch {
	case step.err != nil:
		return 0, step.err
	case step.max <= 0:
		return 0, ErrWouldBlock
	}
	n := min(step.max, len(p))
	c.Sent = append(c.Sent, p[:n]...)
	return n, nil
}
