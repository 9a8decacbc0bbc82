package readline

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests read from a script (helpers_test.go): bytes, EAGAIN, EOF, in
// the order a test writes them. readLine drives one ReadLine to its end and
// checks, at each Pending, that the read said EAGAIN and that the waker was
// handed over. readAll reads every line until io.EOF.

func TestReadLine(t *testing.T) {
	t.Run("several lines in one read come back one at a time, newline included, without waiting", func(t *testing.T) {
		// The client sent three lines at once and now waits for their
		// echoes: nothing more will arrive, so the socket says EAGAIN.
		// Lines already in c.in must come back without a read.
		c, src := newConn(data("one\ntwo\nthree\n"), again())
		for _, want := range []string{"one\n", "two\n", "three\n"} {
			r, ok := c.ReadLine(100).Poll(&Context{Waker: &Waker{}}).Value()
			require.True(t, ok, "ReadLine, expecting %q, returned Pending, though the line is in c.in already: "+
				"the client waits for its echo, and nothing more will come to wake the task", want)
			require.NoError(t, r.Err, "ReadLine, expecting %q", want)
			assert.Equal(t, want, string(r.Value), "line returned: its bytes must not change before the caller has seen them")
		}
		assert.Equal(t, 1, src.reads, "reads for three lines that came in one read: the rest waits in c.in")
		_, ok := c.ReadLine(100).Poll(&Context{Waker: &Waker{}}).Value()
		assert.False(t, ok, "ReadLine after the three lines, with the socket empty")
	})

	t.Run("a line split at any byte boundary comes back whole", func(t *testing.T) {
		const text = "hello, world\nbye\n"
		for i := 1; i < len(text); i++ {
			c, _ := newConn(data(text[:i]), again(), data(text[i:]), eof())
			if !assert.Equal(t, []string{"hello, world\n", "bye\n"}, readAll(t, c, 100),
				"lines, from %q then EAGAIN then %q: the first piece is kept, copied, and nothing after a newline is lost",
				text[:i], text[i:]) {
				break // the first split that fails says enough
			}
		}
	})

	t.Run("a line sent one byte at a time, with EAGAIN after each, comes back whole", func(t *testing.T) {
		const text = "one byte at a time\n"
		var steps []step
		for i := range len(text) {
			steps = append(steps, data(text[i:i+1]), again())
		}
		c, src := newConn(append(steps, eof())...)
		assert.Equal(t, text, string(readLine(t, c, 100).Value), "line: each byte is kept, copied, since the next read reuses the read buffer")
		assert.Equal(t, 2*len(text)-1, src.reads, "reads: each byte, and EAGAIN after each but the newline, which ends the line")
	})

	t.Run("the bytes kept between reads are copied out of the read buffer, which the next read reuses", func(t *testing.T) {
		c, _ := newConn(data("first\nsec"), again(), data("ond\n"), eof())
		assert.Equal(t, "first\n", string(readLine(t, c, 100).Value), "first line")
		assert.Equal(t, "second\n", string(readLine(t, c, 100).Value),
			"second line: \"sec\" was kept from the first read, copied, since the next read reuses the read buffer")
	})

	t.Run("EAGAIN: ReadLine hands the task's waker over and returns Pending, without reading again", func(t *testing.T) {
		c, src := newConn(data("hel"), again(), data("lo\n"), eof())
		f := c.ReadLine(100)
		w := &Waker{}
		r, ok := f.Poll(&Context{Waker: w}).Value()
		require.False(t, ok, "ReadLine's first poll, with half a line and then EAGAIN; it returned %+v", r)
		assert.Same(t, w, c.reader, "the waker handed to c.wakeOn: the task's, from the Context")
		assert.Equal(t, 2, src.reads, "reads in the first poll: the half line, then EAGAIN, then no more")
		src.ready()
		r, ok = f.Poll(&Context{Waker: w}).Value()
		require.True(t, ok, "ReadLine's second poll, once the rest has arrived")
		assert.Equal(t, Result[[]byte]{Value: []byte("hello\n")}, r, "ReadLine's result")
		assert.PanicsWithValue(t, "ReadLine: polled after it returned Ready", func() { f.Poll(&Context{Waker: w}) },
			"poll of a ReadLine that returned Ready")
	})

	t.Run("a read error ends ReadLine with that error", func(t *testing.T) {
		reset := errors.New("read: connection reset by peer")
		c, _ := newConn(data("half a li"), fail(reset))
		r := readLine(t, c, 100)
		assert.ErrorIs(t, r.Err, reset, "ReadLine's error")
		assert.Nil(t, r.Value, "ReadLine's line, with the error")
	})
}

func TestReadLineLimit(t *testing.T) {
	t.Run("a line of exactly max bytes, newline included, is fine; one more byte is too long", func(t *testing.T) {
		line := strings.Repeat("x", 99) + "\n" // 100 bytes
		c, _ := newConn(data(line+"x"+line), eof())
		r := readLine(t, c, 100)
		require.NoError(t, r.Err, "ReadLine of a line of exactly 100 bytes, with max 100: max counts the newline, and a line of exactly max bytes is fine")
		assert.Equal(t, line, string(r.Value), "the line of exactly max bytes")
		r = readLine(t, c, 100)
		assert.ErrorIs(t, r.Err, ErrLineTooLong, "ReadLine of a line of 101 bytes, with max 100")
		assert.Equal(t, 0, len(r.Value), "bytes returned of the line that was too long")
	})

	t.Run("max bytes with no newline yet is not an error: the newline may come next", func(t *testing.T) {
		c, _ := newConn(data(strings.Repeat("x", 99)+"\n"+strings.Repeat("y", 100)), again(), eof())
		require.NoError(t, readLine(t, c, 100).Err, "the first line")
		r := readLine(t, c, 100)
		assert.Equal(t, strings.Repeat("y", 100), string(r.Value), "a last line of exactly max bytes, with no newline: not too long")
		assert.Equal(t, io.EOF, r.Err, "ReadLine's error at the end")
	})

	t.Run("a line over max is too long even when its newline came in the same read", func(t *testing.T) {
		c, _ := newConn(data("short\n0123456789abc\nafter\n"), eof())
		assert.Equal(t, "short\n", string(readLine(t, c, 10).Value), "the line within the limit")
		r := readLine(t, c, 10)
		assert.ErrorIs(t, r.Err, ErrLineTooLong, "ReadLine of a line of 14 bytes, with max 10")
		assert.Equal(t, 0, len(r.Value), "bytes returned of the line that was too long")
	})

	t.Run("10 MiB with no newline is refused without reading it all: memory stays at max plus one read", func(t *testing.T) {
		const max = 100 << 10 // 100 KiB, more than one read
		c, src := newConn(data(strings.Repeat("x", 10<<20)), eof())
		r := readLine(t, c, max)
		assert.ErrorIs(t, r.Err, ErrLineTooLong, "ReadLine of 10 MiB with no newline, with max %d", max)
		assert.Equal(t, 0, len(r.Value), "bytes returned of the line that was too long")
		assert.LessOrEqual(t, src.bytes, max+readSize, "bytes read of the 10 MiB, with max %d and reads of %d: "+
			"the limit is checked before every read, not when a newline comes", max, readSize)
		assert.LessOrEqual(t, len(c.in), max+readSize, "bytes held in c.in, with max %d and reads of %d", max, readSize)
	})

	t.Run("the limit holds across polls, for a line that trickles in", func(t *testing.T) {
		const max = 10 << 10 // 10 KiB
		var steps []step
		for range 1000 { // 1000 KiB, a KiB at a time, EAGAIN after each
			steps = append(steps, data(string(bytes.Repeat([]byte("z"), 1<<10))), again())
		}
		c, src := newConn(append(steps, eof())...)
		r := readLine(t, c, max)
		assert.ErrorIs(t, r.Err, ErrLineTooLong, "ReadLine of a line that trickles in a KiB at a time, with max %d", max)
		assert.LessOrEqual(t, src.bytes, max+1<<10, "bytes read, with max %d, in reads of 1 KiB: the limit is checked "+
			"before every read, in every poll", max)
	})
}

func TestReadLineEOF(t *testing.T) {
	t.Run("a last line without a newline comes with io.EOF, then (nil, io.EOF), again and again", func(t *testing.T) {
		c, src := newConn(data("full\npartial"), eof())
		assert.Equal(t, Result[[]byte]{Value: []byte("full\n")}, readLine(t, c, 100), "first ReadLine")
		assert.Equal(t, Result[[]byte]{Value: []byte("partial"), Err: io.EOF}, readLine(t, c, 100),
			"second ReadLine: the rest, with EOF. A last line without a newline is still a line")
		assert.Equal(t, Result[[]byte]{Err: io.EOF}, readLine(t, c, 100), "third ReadLine: nothing left")
		assert.Equal(t, Result[[]byte]{Err: io.EOF}, readLine(t, c, 100), "fourth ReadLine: nothing left")
		assert.Equal(t, 0, src.afterEOF, "reads after the source said EOF: c.eof remembers, and no read can bring more")
	})

	t.Run("EOF right after a newline: the line, then (nil, io.EOF)", func(t *testing.T) {
		c, _ := newConn(data("line\n"), eof())
		assert.Equal(t, Result[[]byte]{Value: []byte("line\n")}, readLine(t, c, 100), "first ReadLine")
		assert.Equal(t, Result[[]byte]{Err: io.EOF}, readLine(t, c, 100), "second ReadLine")
	})

	t.Run("EOF from a peer that sent nothing: (nil, io.EOF)", func(t *testing.T) {
		c, _ := newConn(eof())
		assert.Equal(t, Result[[]byte]{Err: io.EOF}, readLine(t, c, 100), "ReadLine")
	})

	t.Run("EOF after waits: the pieces that came before it, as one last line", func(t *testing.T) {
		c, _ := newConn(data("par"), again(), data("ti"), again(), data("al"), again(), eof())
		assert.Equal(t, Result[[]byte]{Value: []byte("partial"), Err: io.EOF}, readLine(t, c, 100), "ReadLine")
	})
}
