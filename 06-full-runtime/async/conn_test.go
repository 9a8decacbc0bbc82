//go:build linux

package async

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// pattern returns n bytes that are not all alike, so that a byte sent
// twice, lost or out of order shows.
func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i % 251)
	}
	return p
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
		assert.Same(t, w, c.reg.reader.waker, "the reader waits in the reactor")
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
		assert.Greater(t, rt.Stats().Polls, int64(1), "WriteAll had to wait for room at least once")
	})

	t.Run("Write is Ready after the first bytes the socket takes", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, _ := connPair(t, rt)
		r, err := BlockOn(rt, "write", c.Write(pattern(1<<20)))
		require.NoError(t, err, "BlockOn")
		require.NoError(t, r.Err, "Write")
		assert.Greater(t, r.Value, 0, "bytes written")
		assert.Less(t, r.Value, 1<<20, "not all of them: the send buffer is small")
	})

	t.Run("dropping a pending read withdraws its waker", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, _ := connPair(t, rt)
		for _, f := range []Future[Result[[]byte]]{c.ReadLine(100), c.ReadLines(100)} {
			w := testWaker(t, "reader")
			require.False(t, f.Poll(&Context{Waker: w}).IsReady(), "nothing to read")
			require.Same(t, w, c.reg.reader.waker, "waiting")
			Drop(f)
			assert.Nil(t, c.reg.reader.waker, "waker after Drop")
		}
		r := c.Read(make([]byte, 10))
		require.False(t, r.Poll(&Context{Waker: testWaker(t, "reader")}).IsReady(), "nothing to read")
		Drop(r)
		assert.Nil(t, c.reg.reader.waker, "waker after Drop of Read")
	})

	t.Run("dropping a pending write withdraws its waker", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, _ := connPair(t, rt)
		f := c.WriteAll(pattern(1 << 20))
		w := testWaker(t, "writer")
		require.False(t, f.Poll(&Context{Waker: w}).IsReady(), "the send buffer fills")
		require.Same(t, w, c.reg.writer.waker, "waiting")
		Drop(f)
		assert.Nil(t, c.reg.writer.waker, "waker after Drop")
	})

	t.Run("after Close, operations fail and a second Close is harmless", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, _ := connPair(t, rt)
		require.NoError(t, c.Close(), "Close")
		assert.Nil(t, rt.reactor.regs[c.fd()], "deregistered")
		assert.True(t, c.reg.closed, "its registration is closed")
		assert.NoError(t, c.Close(), "Close again")
		r, err := BlockOn(rt, "read", c.Read(make([]byte, 1)))
		require.NoError(t, err, "BlockOn")
		assert.ErrorIs(t, r.Err, ErrClosed, "Read after Close")
		w, err := BlockOn(rt, "write", c.WriteAll([]byte("x")))
		require.NoError(t, err, "BlockOn")
		assert.ErrorIs(t, w.Err, ErrClosed, "WriteAll after Close")
		assert.ErrorIs(t, c.CloseWrite(), ErrClosed, "CloseWrite after Close")
	})

	t.Run("closing a Conn twice does not close a socket that reused its descriptor", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, _ := connPair(t, rt)
		fd := c.fd()
		require.NoError(t, c.Close(), "Close")
		reused, reusedPeer := socketpairAt(t, fd)
		require.NoError(t, c.Close(), "Close again")
		assert.True(t, isOpen(reused), "the new socket on fd %d is still open", fd)
		write(t, reused, "still here")
		assert.Equal(t, "still here", string(drain(t, reusedPeer)), "what the new socket's peer got")
	})

	t.Run("CloseWrite: the peer reads everything sent, then EOF", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		r, err := BlockOn(rt, "write", c.WriteAll([]byte("bye\n")))
		require.NoError(t, err, "BlockOn")
		require.NoError(t, r.Err, "WriteAll")
		require.NoError(t, c.CloseWrite(), "CloseWrite")
		assert.Equal(t, "bye\n", string(drain(t, peer)), "the peer reads everything, then EOF")
	})

	t.Run("String names the descriptor", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, _ := connPair(t, rt)
		assert.Equal(t, fmt.Sprintf("fd %d", c.fd()), c.String(), "String")
	})
}

func TestConnPoll(t *testing.T) {
	t.Run("PollRead is Ready with what there is, and no more than fits", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		write(t, peer, "abcdef")
		p := make([]byte, 4)
		r, ok := c.PollRead(&Context{}, p).Value()
		require.True(t, ok, "PollRead")
		assert.Equal(t, Result[int]{Value: 4}, r, "a full buffer")
		assert.Equal(t, "abcd", string(p), "bytes")
		r, ok = c.PollRead(&Context{}, p).Value()
		require.True(t, ok, "PollRead")
		assert.Equal(t, Result[int]{Value: 2}, r, "a partial count: what there is")
		assert.Equal(t, "ef", string(p[:2]), "bytes")
	})

	t.Run("PollRead with nothing to read is Pending, and leaves the waker with the reactor", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		w := testWaker(t, "reader")
		p := make([]byte, 10)
		require.False(t, c.PollRead(&Context{Waker: w}, p).IsReady(), "PollRead")
		assert.Same(t, w, c.reg.reader.waker, "the reader's waker")
		write(t, peer, "x")
		ready, err := rt.reactor.wait(-1)
		require.NoError(t, err, "wait")
		assert.Equal(t, []*Waker{w}, ready, "the byte's edge wakes it")
		r, ok := c.PollRead(&Context{Waker: w}, p).Value()
		require.True(t, ok, "PollRead after the wake")
		assert.Equal(t, Result[int]{Value: 1}, r, "result")
	})

	t.Run("PollWrite is Ready with a partial count, then Pending with the waker left, until there is room", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		w := testWaker(t, "writer")
		big := pattern(1 << 20)
		r, ok := c.PollWrite(&Context{Waker: w}, big).Value()
		require.True(t, ok, "PollWrite")
		require.NoError(t, r.Err, "PollWrite")
		assert.Greater(t, r.Value, 0, "bytes written")
		assert.Less(t, r.Value, len(big), "a partial count: what the send buffer took")
		polls := 1
		for c.PollWrite(&Context{Waker: w}, big).IsReady() {
			polls++
			require.Less(t, polls, 1000, "the send buffer never filled")
		}
		assert.Same(t, w, c.reg.writer.waker, "the writer's waker")
		drain(t, peer)
		ready, err := rt.reactor.wait(-1)
		require.NoError(t, err, "wait")
		assert.Contains(t, ready, w, "room wakes the writer")
		assert.True(t, c.PollWrite(&Context{Waker: w}, big).IsReady(), "PollWrite after the wake")
	})

	t.Run("PollRead returns the bytes ReadLine had read ahead before reading the socket", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		write(t, peer, "line\nrest")
		r := readLine(t, rt, c, 100)
		require.Equal(t, "line\n", string(r.Value), "ReadLine")
		write(t, peer, "more")
		_, err := rt.reactor.wait(-1) // the reactor hears of "more": the socket is worth reading
		require.NoError(t, err, "wait")
		p := make([]byte, 100)
		n, ok := c.PollRead(&Context{}, p).Value()
		require.True(t, ok, "PollRead")
		assert.Equal(t, "rest", string(p[:n.Value]), "first what ReadLine had read")
		assert.Nil(t, c.in, "nothing kept: the buffer went back to the pool")
		assert.Len(t, rt.buffers.free, 1, "buffers in the pool")
		n, ok = c.PollRead(&Context{}, p).Value()
		require.True(t, ok, "PollRead")
		assert.Equal(t, "more", string(p[:n.Value]), "then the socket")
	})

	t.Run("PollRead and PollWrite after Close say ErrClosed", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, _ := connPair(t, rt)
		require.NoError(t, c.Close(), "Close")
		r, ok := c.PollRead(&Context{}, make([]byte, 1)).Value()
		require.True(t, ok, "PollRead")
		assert.ErrorIs(t, r.Err, ErrClosed, "PollRead")
		r, ok = c.PollWrite(&Context{}, []byte("x")).Value()
		require.True(t, ok, "PollWrite")
		assert.ErrorIs(t, r.Err, ErrClosed, "PollWrite")
	})

	t.Run("PollRead after the peer's shutdown says io.EOF, every time", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		require.NoError(t, unix.Shutdown(peer, unix.SHUT_WR), "shutdown")
		for i := range 2 {
			r, ok := c.PollRead(&Context{}, make([]byte, 1)).Value()
			require.True(t, ok, "PollRead %d", i)
			assert.Equal(t, Result[int]{Err: io.EOF}, r, "PollRead %d", i)
		}
	})

	t.Run("PollWrite to a peer that is gone says so", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		require.NoError(t, unix.Close(peer), "the peer closes")
		r, ok := c.PollWrite(&Context{}, []byte("x")).Value()
		require.True(t, ok, "PollWrite")
		assert.ErrorIs(t, r.Err, unix.EPIPE, "PollWrite")
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
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
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
	})
}

func TestConnShortReads(t *testing.T) {
	t.Run("a line and the hang-up in one event: the short read does not hide the EOF", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		write(t, peer, "last\n")
		require.NoError(t, unix.Shutdown(peer, unix.SHUT_WR), "half-close before the server reads")
		_, err := rt.reactor.wait(-1) // one event: IN|RDHUP
		require.NoError(t, err, "wait")
		r := readLine(t, rt, c, 100)
		assert.Equal(t, Result[[]byte]{Value: []byte("last\n")}, r, "the line")
		r = readLine(t, rt, c, 100) // would hang if the short read were trusted
		assert.Equal(t, Result[[]byte]{Err: io.EOF}, r, "then EOF")
	})

	t.Run("after a short read, the next read waits without a system call, and bytes that come later still wake it", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		write(t, peer, "one\n")
		r := readLine(t, rt, c, 100)
		require.Equal(t, "one\n", string(r.Value), "first line")
		require.True(t, c.short, "the read was short")
		f := c.ReadLine(100)
		w := testWaker(t, "reader")
		rt.ex.ioLeft = ioBudget
		require.False(t, f.Poll(&Context{Waker: w}).IsReady(), "Pending at once")
		assert.Equal(t, ioBudget, rt.ex.ioLeft, "read system calls made: none")
		write(t, peer, "two\n")
		finishes(t, "BlockOn", func() (err error) {
			r, err = BlockOn(rt, "second", f)
			return err
		})
		assert.Equal(t, "two\n", string(r.Value), "second line")
	})

	t.Run("a short read is not trusted once an edge has come since", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		write(t, peer, "one\n")
		r := readLine(t, rt, c, 100)
		require.Equal(t, "one\n", string(r.Value), "first line")
		require.True(t, c.short, "the read was short")
		// More comes while the reader is busy elsewhere: the reactor
		// notes the edge, since nobody waits for it.
		write(t, peer, "two\n")
		_, err := rt.reactor.wait(-1)
		require.NoError(t, err, "wait")
		require.True(t, c.reg.reader.ready, "the edge was noted")
		v, ok := c.ReadLine(100).Poll(&Context{Waker: testWaker(t, "reader")}).Value()
		require.True(t, ok, "the line is read at once, not waited for")
		assert.Equal(t, "two\n", string(v.Value), "second line")
	})

	t.Run("a reader waker left registered after its read finished another way does not swallow the next edge", func(t *testing.T) {
		// Issue 11's lost wakeup, step by step, by hand. A task's read
		// waits (its waker W is with the reactor); the line arrives, but
		// the task is woken by something else first (a timer, say) and
		// reads it: a short read, and W stays registered, stale. Its
		// write then finds the send buffer full and waits too. The next
		// line arrives and the peer drains, so one epoll_wait reports IN
		// and OUT together: the IN edge goes to stale W, and nothing is
		// marked ready. A short-read shortcut that trusted "no edge
		// marked" would now answer Pending with the line in the socket.
		var trace bytes.Buffer
		rt := newTestRuntime(t, Config{Trace: &trace})
		c, peer := connPair(t, rt)
		_, err := rt.reactor.wait(0) // the fresh socket's writable edge, out of the way
		require.NoError(t, err, "wait")
		reader, writer := testWaker(t, "W"), testWaker(t, "writer")
		poll := func(f Future[Result[[]byte]], w *Waker) (Result[[]byte], bool) {
			rt.ex.ioLeft = ioBudget // as the executor does before each poll
			return f.Poll(&Context{Waker: w}).Value()
		}

		first := c.ReadLine(100)
		_, ok := poll(first, reader)
		require.False(t, ok, "ReadLine: nothing yet")
		require.Same(t, reader, c.reg.reader.waker, "W waits for reading")

		write(t, peer, "line1\n")
		line, ok := poll(first, reader) // woken by a timer, not by the reactor
		require.True(t, ok, "ReadLine polled again")
		require.Equal(t, Result[[]byte]{Value: []byte("line1\n")}, line, "the first line")
		require.True(t, c.short, "a short read")
		require.Same(t, reader, c.reg.reader.waker, "W is still registered: stale")

		backlog := fill(t, c.fd()) // echoes the peer has not read yet
		require.Greater(t, backlog, 0, "bytes queued")
		reply := c.WriteAll([]byte("reply\n"))
		rt.ex.ioLeft = ioBudget
		require.False(t, reply.Poll(&Context{Waker: writer}).IsReady(), "WriteAll: the send buffer is full")
		require.Same(t, writer, c.reg.writer.waker, "the writer waits")

		write(t, peer, "line2\n")
		require.Len(t, drain(t, peer), backlog, "the peer drains what it was sent")
		ready, err := rt.reactor.wait(-1)
		require.NoError(t, err, "wait")
		assert.Len(t, ready, 2, "one epoll_wait wakes two")
		assert.True(t, slices.Contains(ready, reader), "the stale reader, for IN")
		assert.True(t, slices.Contains(ready, writer), "the writer, for OUT")
		assert.Contains(t, trace.String(), fmt.Sprintf("fd %d IN|OUT;", c.fd()), "one event carried both")
		require.False(t, c.reg.reader.ready, "nothing marked: the stale W took the edge")

		rt.ex.ioLeft = ioBudget
		w, ok := reply.Poll(&Context{Waker: writer}).Value()
		require.True(t, ok, "WriteAll, polled again, finishes")
		require.Equal(t, Result[int]{Value: len("reply\n")}, w, "WriteAll")

		line, ok = poll(c.ReadLine(100), reader)
		require.True(t, ok, "a fresh ReadLine is Ready at once: line2 is in the socket")
		assert.Equal(t, Result[[]byte]{Value: []byte("line2\n")}, line, "the second line")
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

	t.Run("ReadLines stops before a line over the limit, which the next call refuses", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		write(t, peer, "ok\n"+strings.Repeat("x", 20)+"\n")
		r, err := BlockOn(rt, "lines", c.ReadLines(10))
		require.NoError(t, err, "BlockOn")
		assert.Equal(t, Result[[]byte]{Value: []byte("ok\n")}, r, "the lines within the limit")
		// The long line is in the buffer already: the next call refuses
		// it at once, without waiting for more.
		v, ok := c.ReadLines(10).Poll(&Context{Waker: testWaker(t, "reader")}).Value()
		require.True(t, ok, "the next ReadLines is Ready at once: the long line came with the first")
		assert.ErrorIs(t, v.Err, ErrLineTooLong, "the long one")
	})

	t.Run("the end of a batch is found from the back only when every line in it fits", func(t *testing.T) {
		in := []byte("a\nbb\nccc\npartial")
		assert.Equal(t, 9, wholeLines(in, 2, 10), "all three lines fit: up to the last newline")
		assert.Equal(t, 5, wholeLines(in, 2, 3), "ccc\\n is 4 bytes, over 3: stop before it")
		assert.Equal(t, 2, wholeLines([]byte("a\n"+strings.Repeat("x", 20)+"\nb\n"), 2, 10), "a long line stops the batch, even with a short one after it")
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
		assert.Nil(t, c.reg.reader.waker, "and did not wait for an edge")
		assert.Equal(t, 0, rt.ex.budget, "the loop will look at the kernel before it polls anyone else")
		rt.ex.ioLeft = ioBudget // as the executor does before each poll
		r, ok := f.Poll(&Context{Waker: w}).Value()
		require.True(t, ok, "the second poll finishes")
		assert.Len(t, r.Value, 2000, "the line")
	})

	t.Run("on the loop, a task out of budget yields, and the loop glances at the kernel before polling it again", func(t *testing.T) {
		rt := newTestRuntime(t)
		rt.scratch = make([]byte, 8)
		c, peer := connPair(t, rt)
		write(t, peer, strings.Repeat("x", 1999)+"\n")
		r := readLine(t, rt, c, 4000)
		require.NoError(t, r.Err, "ReadLine")
		assert.Len(t, r.Value, 2000, "the line")
		s := rt.Stats()
		assert.Equal(t, int64(2), s.Polls, "polls: 128 reads, a yield, 122 reads")
		assert.Equal(t, int64(1), s.EpollWaits, "epoll_wait calls: the glance between the two polls")
	})

	t.Run("a write spends the budget too", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, _ := connPair(t, rt)
		w := testWaker(t, "writer")
		rt.ex.ioLeft = 0
		assert.False(t, c.PollWrite(&Context{Waker: w}, []byte("x")).IsReady(), "PollWrite out of budget")
		assert.True(t, tookWake(w), "the task woke itself")
		assert.Nil(t, c.reg.writer.waker, "and did not wait for an edge")
		rt.ex.ioLeft = 1
		assert.True(t, c.PollWrite(&Context{Waker: w}, []byte("x")).IsReady(), "PollWrite with budget")
		assert.Equal(t, 0, rt.ex.ioLeft, "budget left: one write spent it")
	})

	t.Run("an accept spends the budget too", func(t *testing.T) {
		rt := newTestRuntime(t)
		ln, _ := listenAndDial(t, rt)
		f := ln.Accept()
		w := testWaker(t, "acceptor")
		rt.ex.ioLeft = 0
		require.False(t, f.Poll(&Context{Waker: w}).IsReady(), "Accept out of budget")
		assert.True(t, tookWake(w), "the task woke itself: the connection is waiting")
		assert.Nil(t, ln.reg.reader.waker, "and did not wait for an edge")
		rt.ex.ioLeft = 1
		r, ok := f.Poll(&Context{Waker: w}).Value()
		require.True(t, ok, "Accept with budget")
		require.NoError(t, r.Err, "Accept")
		t.Cleanup(func() { r.Value.Close() })
		assert.Equal(t, 0, rt.ex.ioLeft, "budget left: one accept spent it")
	})
}

func TestConnLinger(t *testing.T) {
	t.Run("Linger is Ready once the peer has read everything, and the peer reads EOF", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		r, err := BlockOn(rt, "write", c.WriteAll([]byte("bye\n")))
		require.NoError(t, err, "BlockOn")
		require.NoError(t, r.Err, "WriteAll")
		l := c.Linger()
		require.False(t, l.Poll(&Context{Waker: testWaker(t, "closer")}).IsReady(), "Linger: the peer has not read yet")
		assert.Equal(t, "bye\n", string(drain(t, peer)), "the peer reads everything, then EOF")
		finishes(t, "BlockOn", func() error {
			_, err := BlockOn(rt, "linger", l)
			return err
		})
		assert.Equal(t, 0, rt.timers.len(), "no check timer left")
		assert.Nil(t, c.reg.reader.waker, "no reader waker left")
		assert.Nil(t, c.reg.writer.waker, "no writer waker left")
	})

	t.Run("a dropped Linger leaves no timer and no waker", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, _ := connPair(t, rt)
		write(t, c.fd(), "unread")
		l := c.Linger()
		require.False(t, l.Poll(&Context{Waker: testWaker(t, "closer")}).IsReady(), "Linger")
		require.Equal(t, 1, rt.timers.len(), "the check timer is armed")
		Drop(l)
		assert.Equal(t, 0, rt.timers.len(), "timers after Drop")
		assert.Nil(t, c.reg.reader.waker, "reader waker after Drop")
		assert.Nil(t, c.reg.writer.waker, "writer waker after Drop")
	})

	t.Run("Linger is Ready when the peer closes without reading", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		write(t, c.fd(), "never read")
		l := c.Linger()
		require.False(t, l.Poll(&Context{Waker: testWaker(t, "closer")}).IsReady(), "Linger")
		require.NoError(t, unix.Close(peer), "the peer closes")
		finishes(t, "BlockOn", func() error {
			_, err := BlockOn(rt, "linger", l)
			return err
		})
		assert.Equal(t, 0, rt.timers.len(), "no check timer left")
	})
}
