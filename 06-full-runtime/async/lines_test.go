//go:build linux

package async

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// nextLine polls c.PollReadLine until it is Ready, letting the reactor
// hear of new bytes between polls, as the loop would: after a short read
// the connection waits for an edge before it reads again.
func nextLine(rt *Runtime, c *Conn, cx *Context) (Result[[]byte], error) {
	for {
		if line, ok, err := c.PollReadLine(cx, 100); ok {
			return Result[[]byte]{Value: line, Err: err}, nil
		}
		if _, err := rt.reactor.wait(-1); err != nil {
			return Result[[]byte]{}, err
		}
	}
}

func TestPollReadLine(t *testing.T) {
	t.Run("PollReadLine returns one line a poll, PollReadLines every whole line there is", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		write(t, peer, "a\nbb\nccc\npart")
		cx := &Context{Waker: testWaker(t, "reader")}
		line, ok, err := c.PollReadLine(cx, 100)
		require.True(t, ok, "PollReadLine")
		require.NoError(t, err, "PollReadLine")
		assert.Equal(t, "a\n", string(line), "one line")
		line, ok, err = c.PollReadLines(cx, 100)
		require.True(t, ok, "PollReadLines")
		require.NoError(t, err, "PollReadLines")
		assert.Equal(t, "bb\nccc\n", string(line), "the whole lines left")
		line, ok, err = c.PollReadLine(cx, 100)
		assert.False(t, ok, "PollReadLine with half a line")
		assert.Nil(t, line, "Pending: no line")
		assert.NoError(t, err, "Pending: no error")
		assert.Same(t, cx.Waker, c.reg.reader.waker, "the waker waits with the reactor")
		write(t, peer, "\n")
		_, err = rt.reactor.wait(-1)
		require.NoError(t, err, "wait")
		line, ok, err = c.PollReadLine(cx, 100)
		require.True(t, ok, "PollReadLine after the rest came")
		require.NoError(t, err, "PollReadLine after the rest came")
		assert.Equal(t, "part\n", string(line), "the line, whole")
	})

	t.Run("PollReadLine allocates nothing per line", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		cx := &Context{Waker: testWaker(t, "reader")}
		line := []byte("a line of text\n")
		var failed error
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := unix.Write(peer, line); err != nil {
				failed = err
			}
			if r, err := nextLine(rt, c, cx); err != nil || r.Err != nil {
				failed = fmt.Errorf("%w %w", err, r.Err)
			}
		})
		require.NoError(t, failed, "a write or a PollReadLine failed")
		assert.Equal(t, 0.0, allocs, "allocations per line")
	})

	t.Run("a ReadLine dropped mid-line, then a PollRead, then a ReadLine: no panic, no line lost", func(t *testing.T) {
		// ReadLine remembers how far it has searched the buffer for '\n'
		// (c.scanned). If PollRead then takes bytes from the front of
		// the buffer, that mark must not point past what is left.
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		write(t, peer, "abcdef")
		cx := &Context{Waker: testWaker(t, "reader")}
		partial := c.ReadLine(100)
		require.False(t, partial.Poll(cx).IsReady(), "ReadLine: half a line")
		Drop(partial) // a Select's other future won, say

		p := make([]byte, 4)
		n, ok := c.PollRead(cx, p).Value()
		require.True(t, ok, "PollRead")
		require.Equal(t, "abcd", string(p[:n.Value]), "PollRead takes what ReadLine had read")
		write(t, peer, "\nnext\n")
		line, err := BlockOn(rt, "read line", c.ReadLine(100))
		require.NoError(t, err, "ReadLine after PollRead took part of the buffer (a panic in the task comes back as this error)")
		assert.Equal(t, Result[[]byte]{Value: []byte("ef\n")}, line, "the rest of the line")
	})
}

func TestLineBuffers(t *testing.T) {
	t.Run("a connection holds a line buffer only while a line is unfinished or not yet handed over", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		assert.Nil(t, c.in, "before any read")
		write(t, peer, "one\ntw")
		r := readLine(t, rt, c, 100)
		require.Equal(t, "one\n", string(r.Value), "first line")
		assert.NotNil(t, c.in, "the line and the rest are kept")
		write(t, peer, "o\n")
		r = readLine(t, rt, c, 100)
		require.Equal(t, "two\n", string(r.Value), "second line")
		f := c.ReadLine(100)
		require.False(t, f.Poll(&Context{Waker: testWaker(t, "reader")}).IsReady(), "ReadLine: nothing more")
		assert.Nil(t, c.in, "idle: the buffer went back to the runtime")
		assert.Len(t, rt.buffers.free, 1, "buffers in the pool")
	})

	t.Run("a connection that reads line after line takes the same buffer each time", func(t *testing.T) {
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		cx := &Context{Waker: testWaker(t, "reader")}
		var first *byte
		for i := range 5 {
			write(t, peer, "ping\n")
			r, err := nextLine(rt, c, cx)
			require.NoError(t, err, "PollReadLine %d", i)
			require.Equal(t, "ping\n", string(r.Value), "line %d", i)
			if first == nil {
				first = &r.Value[0]
			}
			assert.Same(t, first, &r.Value[0], "line %d is in the first line's buffer", i)
		}
	})

	t.Run("one read takes what a pipelining client sent, up to the scratch buffer's size, not a pool buffer's", func(t *testing.T) {
		// Reading straight into a pool buffer when nothing is kept saved
		// a copy, but cut every read at BufferSize: at 256 messages in
		// flight a connection's batch fell to 64 echoes a system call
		// (chapters/benchmarks.md measures it). This pins the batch.
		rt := newTestRuntime(t)
		c, peer := connPair(t, rt)
		batch := strings.Repeat(strings.Repeat("x", 63)+"\n", 200) // 12,800 bytes, more than a pool buffer
		require.Greater(t, len(batch), BufferSize, "the batch is larger than a pool buffer")
		write(t, peer, batch)
		lines, ok, err := c.PollReadLines(&Context{Waker: testWaker(t, "reader")}, 64<<10)
		require.True(t, ok, "PollReadLines")
		require.NoError(t, err, "PollReadLines")
		assert.Len(t, lines, len(batch), "every line of the batch, from one read")
	})

	t.Run("Close gives the buffer back, once, whether the line was cut by a reset or not", func(t *testing.T) {
		for _, reset := range []bool{false, true} {
			rt := newTestRuntime(t)
			c, peer := connPair(t, rt)
			write(t, peer, "unfinished")
			require.False(t, c.ReadLine(100).Poll(&Context{Waker: testWaker(t, "reader")}).IsReady(), "ReadLine")
			require.NotNil(t, c.in, "the unfinished line is kept")
			if reset {
				write(t, c.fd(), "unread") // the peer closes with this unread: we are reset
				require.NoError(t, unix.Close(peer), "close the peer")
				r := readLine(t, rt, c, 100)
				require.ErrorIs(t, r.Err, unix.ECONNRESET, "the peer reset")
			}
			require.NoError(t, c.Close(), "Close")
			assert.Nil(t, c.in, "after Close (reset %v)", reset)
			assert.Len(t, rt.buffers.free, 1, "buffers in the pool: the one, given back once (reset %v)", reset)
		}
	})

	t.Run("the pool keeps only buffers of the usual size, and no more than its limit", func(t *testing.T) {
		var p BufferPool
		grown := append(p.Get(), strings.Repeat("x", 2*BufferSize)...)
		p.Put(grown)
		assert.Empty(t, p.free, "a grown buffer is left to the garbage collector")
		bufs := make([][]byte, maxFreeBuffers+10)
		for i := range bufs {
			bufs[i] = p.Get()
		}
		for _, b := range bufs {
			p.Put(append(b, "used"...))
		}
		assert.Len(t, p.free, maxFreeBuffers, "buffers kept")
		b := p.Get()
		assert.Empty(t, b, "a buffer from the pool is empty")
		assert.Equal(t, BufferSize, cap(b), "and of the usual size")
	})
}
