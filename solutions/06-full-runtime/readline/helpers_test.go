package readline

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// script is a source that plays back what a test wrote, as a non-blocking
// socket would: bytes (at most readSize a read, the rest at the next
// read), EAGAIN until the test says the socket is readable, EOF, or an
// error. Every read first scribbles over the whole read buffer, as the
// next read(2) into the chapter's shared scratch buffer would: bytes kept
// without copying them turn to '?'.
type script struct {
	steps   []step
	scratch []byte // where reads land

	reads    int  // calls of read
	bytes    int  // bytes handed out
	waiting  bool // the last read said EAGAIN, and the test has not called ready since
	spins    int  // reads while waiting: a reader that does not wait for the waker
	eof      bool // read has said io.EOF
	afterEOF int  // reads after that
}

type stepKind int

const (
	stepData  stepKind = iota // bytes to read
	stepAgain                 // EAGAIN, until ready is called
	stepEOF                   // io.EOF, from then on
	stepFail                  // an error
)

type step struct {
	kind stepKind
	data []byte
	err  error
}

func data(s string) step  { return step{kind: stepData, data: []byte(s)} }
func again() step         { return step{kind: stepAgain} }
func eof() step           { return step{kind: stepEOF} }
func fail(err error) step { return step{kind: stepFail, err: err} }

// errSpin is what a read returns when it comes after EAGAIN and before the
// test made the source readable: nothing has arrived, and a reader that
// reads again without waiting spins.
var errSpin = errors.New("read again after EAGAIN, before the socket was readable: " +
	"hand the waker over with c.wakeOn and return Pending instead")

// maxSpins stops a reader that ignores errSpin and reads on regardless, so
// that the test fails instead of hanging.
const maxSpins = 1000

// newConn returns a Conn that reads from a script of steps, and the script.
func newConn(steps ...step) (*Conn, *script) {
	s := &script{steps: steps, scratch: make([]byte, readSize)}
	return &Conn{src: s}, s
}

func (s *script) read() ([]byte, error) {
	s.reads++
	for i := range s.scratch {
		s.scratch[i] = '?'
	}
	if s.eof {
		s.afterEOF++
		if s.afterEOF > maxSpins {
			panic(fmt.Sprintf("read called %d times after it returned io.EOF: stop reading at EOF (c.eof says so)", s.afterEOF))
		}
		return nil, io.EOF
	}
	if s.waiting {
		s.spins++
		if s.spins > maxSpins {
			panic(fmt.Sprintf("read called %d times after EAGAIN without waiting: %v", s.spins, errSpin))
		}
		return nil, errSpin
	}
	if len(s.steps) == 0 {
		panic("the test's script has no step left: it must end with EOF or EAGAIN")
	}
	st := &s.steps[0]
	switch st.kind {
	case stepAgain:
		s.waiting = true
		return nil, nil
	case stepEOF:
		s.eof = true
		return nil, io.EOF
	case stepFail:
		s.steps = s.steps[1:]
		return nil, st.err
	}
	n := copy(s.scratch, st.data)
	st.data = st.data[n:]
	if len(st.data) == 0 {
		s.steps = s.steps[1:]
	}
	s.bytes += n
	return s.scratch[:n], nil
}

// ready makes the source readable after an EAGAIN: the next step of the
// script has arrived. In the chapter, epoll_wait reports the socket and
// the reactor calls the waker it was handed.
func (s *script) ready() {
	if s.waiting {
		s.waiting = false
		s.steps = s.steps[1:]
	}
}

// maxPolls bounds the polls of one ReadLine in readLine: every script in
// these tests is done long before.
const maxPolls = 10_000

// readLine drives one ReadLine to the end, as the chapter's loop would.
// Each time it returns Pending, readLine checks that the last read said
// EAGAIN and that the task's waker was handed over, makes the source
// readable, and polls again.
func readLine(t *testing.T, c *Conn, max int) Result[[]byte] {
	t.Helper()
	src := c.src.(*script)
	f := c.ReadLine(max)
	w := &Waker{}
	for poll := 1; poll <= maxPolls; poll++ {
		c.reader = nil
		r, ok := f.Poll(&Context{Waker: w}).Value()
		if ok {
			return r
		}
		require.True(t, src.waiting, "ReadLine returned Pending at poll %d, but its last read did not say EAGAIN: "+
			"with edge-triggered epoll nothing would wake the task; read until a line, EOF or EAGAIN", poll)
		require.Same(t, w, c.reader, "ReadLine returned Pending at poll %d without handing the task's waker to c.wakeOn: "+
			"nobody would ever poll it again", poll)
		src.ready()
	}
	require.FailNow(t, fmt.Sprintf("ReadLine still Pending after %d polls", maxPolls))
	return Result[[]byte]{}
}

// readAll reads lines with ReadLine until it returns io.EOF or an error,
// and returns them: a last line without '\n' too, if there is one. It
// fails the test on an error other than io.EOF.
func readAll(t *testing.T, c *Conn, max int) []string {
	t.Helper()
	var lines []string
	for range 100 {
		r := readLine(t, c, max)
		if len(r.Value) > 0 {
			lines = append(lines, string(r.Value))
		}
		if r.Err == io.EOF {
			return lines
		}
		require.NoError(t, r.Err, "ReadLine, after lines %q", lines)
	}
	require.FailNow(t, "no io.EOF after 100 lines")
	return nil
}
