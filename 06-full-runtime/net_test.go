//go:build linux

package main

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// newTestRuntime makes a runtime that is closed when the test ends, and
// checks that every descriptor opened since it was made is closed again.
// Register cleanups that close the test's own descriptors after calling
// it, so that they run first.
func newTestRuntime(t *testing.T) *Runtime {
	t.Helper()
	before := openFDs(t)
	rt, err := NewRuntime(nil, io.Discard)
	require.NoError(t, err, "NewRuntime")
	t.Cleanup(func() {
		require.NoError(t, rt.Close(), "Close")
		assert.Equal(t, before, openFDs(t), "open descriptors after Close (a leak if more)")
	})
	return rt
}

// connPair returns a Conn on rt and the raw descriptor of its peer.
func connPair(t *testing.T, rt *Runtime) (*Conn, int) {
	t.Helper()
	ours, peer := socketpair(t)
	require.NoError(t, rt.reactor.Register(ours), "Register")
	c := &Conn{rt: rt, fd: ours}
	t.Cleanup(func() { c.Close() })
	return c, peer
}

// write sends s from a raw descriptor, all at once.
func write(t *testing.T, fd int, s string) {
	t.Helper()
	n, err := unix.Write(fd, []byte(s))
	require.NoError(t, err, "write")
	require.Equal(t, len(s), n, "bytes written")
}

// readLine runs one ReadLine to the end on rt's loop.
func readLine(t *testing.T, rt *Runtime, c *Conn, max int) Result[[]byte] {
	t.Helper()
	r, err := BlockOn(rt, "read line", c.ReadLine(max))
	require.NoError(t, err, "BlockOn")
	return r
}

func TestConn(t *testing.T) {
	t.Run("ReadLine returns the lines of one read one by one, newline included", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		write(t, peer, "one\ntwo\nthree\n")
		for _, want := range []string{"one\n", "two\n", "three\n"} {
			r := readLine(t, rt, c, 100)
			require.NoError(t, r.Err, "ReadLine")
			assert.Equal(t, want, string(r.Value), "line")
		}
	})

	t.Run("ReadLine waits for the rest of a line that arrives in pieces", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		write(t, peer, "hel")
		f := c.ReadLine(100)
		w := testWaker(t, "reader")
		assert.False(t, f.Poll(&Context{Waker: w}).IsReady(), "half a line")
		assert.Equal(t, w, rt.reactor.regs[c.fd].reader.waker, "the reader waits in the reactor")
		write(t, peer, "lo\n")
		r, err := BlockOn(rt, "rest", f)
		require.NoError(t, err, "BlockOn")
		require.NoError(t, r.Err, "ReadLine")
		assert.Equal(t, "hello\n", string(r.Value), "line")
	})

	t.Run("a last line without a newline comes with io.EOF, then nothing", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		write(t, peer, "full\npartial")
		require.NoError(t, unix.Shutdown(peer, unix.SHUT_WR), "peer half-close")
		r := readLine(t, rt, c, 100)
		assert.Equal(t, Result[[]byte]{Value: []byte("full\n")}, r, "first")
		r = readLine(t, rt, c, 100)
		assert.Equal(t, Result[[]byte]{Value: []byte("partial"), Err: io.EOF}, r, "second")
		r = readLine(t, rt, c, 100)
		assert.Equal(t, Result[[]byte]{Err: io.EOF}, r, "third")
	})

	t.Run("a line over the limit is an error, and memory stays bounded", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		_, err := unix.Write(peer, bytes.Repeat([]byte("x"), 1<<20)) // non-blocking: writes what fits
		require.NoError(t, err, "write")
		r := readLine(t, rt, c, 1000)
		assert.ErrorIs(t, r.Err, ErrLineTooLong, "ReadLine")
		assert.LessOrEqual(t, len(c.in), 1000+readSize, "bytes held for the line")

		c2, peer2 := connPair(t, rt)
		write(t, peer2, "exactly ten\nx")
		r = readLine(t, rt, c2, 12)
		assert.Equal(t, "exactly ten\n", string(r.Value), "a line of exactly the limit is fine")
		require.NoError(t, unix.Shutdown(peer2, unix.SHUT_WR), "peer half-close")
		r = readLine(t, rt, c2, 11)
		assert.Equal(t, Result[[]byte]{Value: []byte("x"), Err: io.EOF}, r, "the rest")
	})

	t.Run("Read into a small buffer keeps the rest for the next Read", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		write(t, peer, "abcdef")
		p := make([]byte, 4)
		r, err := BlockOn(rt, "read", c.Read(p))
		require.NoError(t, err, "BlockOn")
		assert.Equal(t, Result[int]{Value: 4}, r, "first read")
		assert.Equal(t, "abcd", string(p), "first bytes")
		r, err = BlockOn(rt, "read", c.Read(p))
		require.NoError(t, err, "BlockOn")
		assert.Equal(t, "ef", string(p[:r.Value]), "the rest")
	})

	t.Run("WriteAll keeps the unsent tail until the peer makes room, and sends each byte once", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt) // ours has a 4 KiB send buffer
		sent := pattern(1 << 20)
		got := make(chan []byte, 1)
		go func() { // the peer reads slowly, in small blocking reads
			var all []byte
			buf := make([]byte, 1000)
			unix.SetNonblock(peer, false)
			for len(all) < len(sent) {
				n, err := unix.Read(peer, buf)
				if err != nil || n == 0 {
					break
				}
				all = append(all, buf[:n]...)
			}
			got <- all
		}()
		r, err := BlockOn(rt, "write all", c.WriteAll(sent))
		require.NoError(t, err, "BlockOn")
		require.NoError(t, r.Err, "WriteAll")
		assert.Equal(t, len(sent), r.Value, "bytes written")
		assert.True(t, bytes.Equal(sent, <-got), "the peer got every byte once, in order")
		assert.Greater(t, rt.ex.wasted, int64(0), "WriteAll had to wait for room at least once")
	})

	t.Run("dropping a pending read withdraws its waker", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, _ := connPair(t, rt)
		f := c.ReadLine(100)
		w := testWaker(t, "reader")
		require.False(t, f.Poll(&Context{Waker: w}).IsReady(), "nothing to read")
		require.Equal(t, w, rt.reactor.regs[c.fd].reader.waker, "waiting")
		drop(f)
		assert.Nil(t, rt.reactor.regs[c.fd].reader.waker, "waker after Drop")
	})

	t.Run("after Close, operations fail and a second Close is harmless", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, _ := connPair(t, rt)
		require.NoError(t, c.Close(), "Close")
		assert.NotContains(t, rt.reactor.regs, c.fd, "deregistered")
		assert.NoError(t, c.Close(), "Close again")
		r, err := BlockOn(rt, "read", c.Read(make([]byte, 1)))
		require.NoError(t, err, "BlockOn")
		assert.ErrorIs(t, r.Err, errClosed, "Read after Close")
	})

	t.Run("Accept waits for a client and returns its connection", func(t *testing.T) {
		rt := newTestRuntime(t)
		ln, err := rt.Listen("127.0.0.1:0")
		require.NoError(t, err, "Listen")
		t.Cleanup(func() { ln.Close() })
		f := ln.Accept()
		w := testWaker(t, "acceptor")
		require.False(t, f.Poll(&Context{Waker: w}).IsReady(), "nobody has connected")
		client, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err, "Dial")
		defer client.Close()
		r, err := BlockOn(rt, "accept", f)
		require.NoError(t, err, "BlockOn")
		require.NoError(t, r.Err, "Accept")
		defer r.Value.Close()
		_, err = client.Write([]byte("hi\n"))
		require.NoError(t, err, "client write")
		line := readLine(t, rt, r.Value, 10)
		assert.Equal(t, "hi\n", string(line.Value), "line from the accepted connection")
	})
}

// FuzzReadLine feeds ReadLine arbitrary input, read in pieces of any size,
// and checks every answer against the lines the input holds.
func FuzzReadLine(f *testing.F) {
	f.Add([]byte("one\ntwo\n"), uint8(2))
	f.Add([]byte("no newline at all"), uint8(0))
	f.Add([]byte("\n\n\nlast"), uint8(5))
	f.Add(bytes.Repeat([]byte("x"), 100), uint8(7))
	f.Add([]byte("exactly sixteen\nand a line that is far too long for the limit\nok\n"), uint8(3))
	f.Fuzz(fuzzBody)
}

func fuzzBody(t *testing.T, data []byte, step uint8) {
	{
		const max = 16
		if len(data) > 2048 {
			data = data[:2048] // what the socket buffers take in one go
		}
		rt := newTestRuntime(t)
		rt.scratch = make([]byte, int(step)%32+1) // reads of 1 to 32 bytes: every split happens
		c, peer := connPair(t, rt)
		if len(data) > 0 {
			write(t, peer, string(data))
		}
		require.NoError(t, unix.Shutdown(peer, unix.SHUT_WR), "half-close")
		for _, want := range bytes.SplitAfter(data, []byte("\n")) {
			if len(want) == 0 {
				break // data ended with a newline
			}
			r := readLine(t, rt, c, max)
			if len(want) > max {
				require.ErrorIs(t, r.Err, ErrLineTooLong, "a line of %d bytes", len(want))
				return
			}
			wantErr := error(nil)
			if want[len(want)-1] != '\n' {
				wantErr = io.EOF
			}
			require.Equal(t, Result[[]byte]{Value: want, Err: wantErr}, r, "line")
		}
		require.Equal(t, Result[[]byte]{Err: io.EOF}, readLine(t, rt, c, max), "after the last line")
	}
}

func TestConnShortReads(t *testing.T) {
	t.Run("a line and the hang-up in one event: the short read does not hide the EOF", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		write(t, peer, "last\n")
		require.NoError(t, unix.Shutdown(peer, unix.SHUT_WR), "half-close before the server reads")
		_, err := rt.reactor.Wait(-1) // one event: IN|RDHUP
		require.NoError(t, err, "Wait")
		r := readLine(t, rt, c, 100)
		assert.Equal(t, Result[[]byte]{Value: []byte("last\n")}, r, "the line")
		r = readLine(t, rt, c, 100) // would hang if the short read were trusted
		assert.Equal(t, Result[[]byte]{Err: io.EOF}, r, "then EOF")
	})

	t.Run("after a short read, bytes that come later still wake the reader", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		write(t, peer, "one\n")
		r := readLine(t, rt, c, 100)
		require.Equal(t, "one\n", string(r.Value), "first line")
		require.True(t, c.drained, "the read was short")
		f := c.ReadLine(100)
		w := testWaker(t, "reader")
		require.False(t, f.Poll(&Context{Waker: w}).IsReady(), "no read asked: Pending at once")
		write(t, peer, "two\n")
		r, err := BlockOn(rt, "second", f)
		require.NoError(t, err, "BlockOn")
		assert.Equal(t, "two\n", string(r.Value), "second line")
	})

	t.Run("a short read is not trusted once an edge has come since", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		write(t, peer, "one\n")
		r := readLine(t, rt, c, 100)
		require.Equal(t, "one\n", string(r.Value), "first line")
		require.True(t, c.drained, "the read was short")
		// More comes while the reader is busy elsewhere: the reactor
		// notes the edge, since nobody waits for it.
		write(t, peer, "two\n")
		_, err := rt.reactor.Wait(-1)
		require.NoError(t, err, "Wait")
		require.True(t, rt.reactor.regs[c.fd].reader.ready, "the edge was noted")
		v, ok := c.ReadLine(100).Poll(&Context{Waker: testWaker(t, "reader")}).Value()
		require.True(t, ok, "the line is read at once, not waited for")
		assert.Equal(t, "two\n", string(v.Value), "second line")
	})

	t.Run("ReadLines returns every whole line there is, and keeps the rest", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		write(t, peer, "a\nbb\nccc\npartial")
		r, err := BlockOn(rt, "lines", c.ReadLines(100))
		require.NoError(t, err, "BlockOn")
		assert.Equal(t, Result[[]byte]{Value: []byte("a\nbb\nccc\n")}, r, "lines")
		assert.Equal(t, "partial", string(c.in[c.used:]), "kept")
	})
}

func TestIOBudget(t *testing.T) {
	t.Run("a read that would take more than the budget yields, and finishes on the next poll", func(t *testing.T) {
		rt := newTestRuntime(t)
		rt.scratch = make([]byte, 8) // 8 bytes a read: a 2000-byte line takes 250 reads
		c, peer := connPair(t, rt)
		write(t, peer, strings.Repeat("x", 1999)+"\n")
		f := c.ReadLine(4000)
		w := testWaker(t, "reader")
		rt.ex.ioLeft = ioBudget
		require.False(t, f.Poll(&Context{Waker: w}).IsReady(), "the first poll runs out of budget")
		assert.True(t, tookWake(w), "the task woke itself: nothing else would, the data is there")
		assert.Nil(t, rt.reactor.regs[c.fd].reader.waker, "and did not wait for an edge")
		rt.ex.ioLeft = ioBudget // as the executor does before each poll
		r, ok := f.Poll(&Context{Waker: w}).Value()
		require.True(t, ok, "the second poll finishes")
		assert.Len(t, r.Value, 2000, "the line")
	})
}
