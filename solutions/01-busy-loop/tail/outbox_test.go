//go:build linux

package tail

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Each test writes through an Outbox into one end of a Unix socket pair and
// reads the other end, so it sees exactly what the kernel delivered. Two of
// them replace write to make rare answers happen on cue, so no test runs in
// parallel.

func TestOutbox(t *testing.T) {
	t.Run("an empty outbox flushes as done and writes nothing", func(t *testing.T) {
		a, b := socketPair(t)
		var o Outbox

		done, err := o.Flush(a)
		require.NoError(t, err, "Flush of an empty outbox")
		assert.True(t, done, "Flush of an empty outbox reports done")
		assert.Equal(t, 0, o.Pending(), "Pending of an empty outbox")
		assert.Empty(t, readAvailable(t, b), "bytes the peer received")
	})

	t.Run("a short message goes out in one Flush", func(t *testing.T) {
		a, b := socketPair(t)
		var o Outbox
		o.Queue([]byte("hello"))
		assert.Equal(t, 5, o.Pending(), "Pending after Queue")

		done, err := o.Flush(a)
		require.NoError(t, err, "Flush")
		assert.True(t, done, "Flush of 5 bytes into an empty socket reports done")
		assert.Equal(t, 0, o.Pending(), "Pending after a complete Flush")
		assert.Equal(t, "hello", string(readAvailable(t, b)), "bytes the peer received")
	})

	t.Run("Queue keeps a copy, so the caller can reuse its buffer", func(t *testing.T) {
		a, b := socketPair(t)
		var o Outbox
		p := []byte("first")
		o.Queue(p)
		copy(p, "XXXXX") // the caller reads its next message into the same buffer

		_, err := o.Flush(a)
		require.NoError(t, err, "Flush")
		assert.Equal(t, "first", string(readAvailable(t, b)), "bytes the peer received after the caller reused its buffer: Queue must keep a copy, not the caller's slice")
	})

	t.Run("a partial write keeps the unsent tail, and every byte arrives once, in order", func(t *testing.T) {
		a, b := socketPair(t)
		smallSendBuffer(t, a)
		want := pattern(256 << 10)
		var o Outbox
		o.Queue(want)

		done, err := o.Flush(a)
		require.NoError(t, err, "first Flush: a full send buffer is not an error")
		assert.False(t, done, "first Flush of 256 KiB into a send buffer of a few KiB reports done")
		got := readAvailable(t, b)
		// Every byte is in exactly one place: already with the peer, or
		// still in the outbox.
		assert.Equal(t, len(want)-len(got), o.Pending(), "Pending after the first Flush, with %d bytes delivered: every byte the kernel did not take stays queued, and only those", len(got))

		got = append(got, flushUntilDone(t, &o, a, b, len(want)-len(got))...)
		assert.Equal(t, 0, o.Pending(), "Pending once Flush reports done")
		assertSameBytes(t, want, got)
	})

	t.Run("bytes queued behind a pending tail go out after it", func(t *testing.T) {
		a, b := socketPair(t)
		smallSendBuffer(t, a)
		first, second := pattern(64<<10), pattern(64<<10+7)
		var o Outbox
		o.Queue(first)
		_, err := o.Flush(a)
		require.NoError(t, err, "Flush of the first message")
		got := readAvailable(t, b)
		o.Queue(second)

		want := append(first, second...)
		got = append(got, flushUntilDone(t, &o, a, b, len(want)-len(got))...)
		assertSameBytes(t, want, got)
	})

	t.Run("a full socket takes nothing: Flush is not done, and keeps every byte", func(t *testing.T) {
		a, b := socketPair(t)
		smallSendBuffer(t, a)
		filler := fillSendBuffer(t, a)
		var o Outbox
		o.Queue([]byte("hello"))

		done, err := o.Flush(a)
		require.NoError(t, err, "Flush into a full socket: EAGAIN means not yet, not failure")
		assert.False(t, done, "Flush into a full socket reports done")
		assert.Equal(t, 5, o.Pending(), "Pending after Flush into a full socket")

		want := append(filler, "hello"...)
		got := readAvailable(t, b)
		got = append(got, flushUntilDone(t, &o, a, b, len(want)-len(got))...)
		assertSameBytes(t, want, got)
	})

	t.Run("a write interrupted by a signal (EINTR) is made again, in the same Flush", func(t *testing.T) {
		a, b := socketPair(t)
		// A signal can cut a write short before it copies anything. On a
		// socket that is rare enough never to happen on cue, so the test
		// makes the first write say EINTR.
		calls := replaceWrite(t, func(fd int, p []byte, call int) (int, error) {
			if call == 1 {
				return -1, unix.EINTR
			}
			return unix.Write(fd, p)
		})
		var o Outbox
		o.Queue([]byte("hello"))

		done, err := o.Flush(a)
		require.Positive(t, *calls, "calls of write: Flush must write through the package's write, which the tests can replace")
		require.NoError(t, err, "Flush whose first write said EINTR: a signal is not a broken connection, make the same write again")
		assert.True(t, done, "Flush whose first write said EINTR reports done: EINTR is not a full buffer, and under edge-triggered epoll no new event would come")
		assert.Equal(t, "hello", string(readAvailable(t, b)), "bytes the peer received")
	})

	t.Run("a short count is not a full buffer: Flush writes the rest at once", func(t *testing.T) {
		a, b := socketPair(t)
		// The kernel may take fewer bytes than offered while it still has
		// room (a signal after part of the copy, say). Only EAGAIN means
		// full, so the test makes every write take at most 4 bytes.
		calls := replaceWrite(t, func(fd int, p []byte, _ int) (int, error) {
			return unix.Write(fd, p[:min(len(p), 4)])
		})
		var o Outbox
		o.Queue([]byte("hello, world"))

		done, err := o.Flush(a)
		require.Positive(t, *calls, "calls of write: Flush must write through the package's write, which the tests can replace")
		require.NoError(t, err, "Flush with writes that take 4 bytes each")
		assert.True(t, done, "Flush with writes that take 4 bytes each reports done: a short count is no reason to stop, only EAGAIN is")
		assert.Equal(t, 0, o.Pending(), "Pending after Flush with writes that take 4 bytes each")
		assert.Equal(t, "hello, world", string(readAvailable(t, b)), "bytes the peer received")
	})

	t.Run("a peer that has gone is an error (EPIPE), not a full buffer", func(t *testing.T) {
		a, b := socketPair(t)
		require.NoError(t, unix.Close(b), "close the peer")
		var o Outbox
		o.Queue([]byte("anyone there?"))

		done, err := o.Flush(a)
		// Writing to a socket whose peer has closed raises SIGPIPE, which Go
		// programs ignore for descriptors other than stdout and stderr, and
		// fails with EPIPE.
		assert.ErrorIs(t, err, unix.EPIPE, "Flush to a closed peer")
		assert.False(t, done, "Flush to a closed peer reports done")
	})
}

// replaceWrite makes Flush's writes go through fake until the test ends,
// and returns a pointer to the count of calls. fake gets the call's number,
// from 1.
func replaceWrite(t *testing.T, fake func(fd int, p []byte, call int) (int, error)) *int {
	t.Helper()
	calls := 0
	saved := write
	write = func(fd int, p []byte) (int, error) {
		calls++
		return fake(fd, p, calls)
	}
	t.Cleanup(func() { write = saved })
	return &calls
}

// flushUntilDone plays the event loop: Flush, let the peer read what
// arrived, and again, until Flush reports done. It returns what the peer
// read, which must not be more than owed, the number of bytes still queued.
func flushUntilDone(t *testing.T, o *Outbox, fd, peer, owed int) []byte {
	t.Helper()
	var got []byte
	// Each round empties the whole send buffer, so a correct Flush
	// finishes in a few dozen rounds; the bound only stops a broken one.
	for rounds := 0; ; rounds++ {
		require.Less(t, rounds, 10_000, "Flush never reported done")
		done, err := o.Flush(fd)
		require.NoError(t, err, "Flush")
		got = append(got, readAvailable(t, peer)...)
		require.LessOrEqual(t, len(got), owed, "bytes the peer received, more than were queued: are bytes sent twice?")
		if done {
			return got
		}
	}
}

// socketPair returns the two ends of a connected, non-blocking Unix stream
// socket pair, created close-on-exec as a server would create them.
func socketPair(t *testing.T) (a, b int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err, "socketpair")
	closeAtEnd(t, fds[0])
	closeAtEnd(t, fds[1])
	return fds[0], fds[1]
}

// closeAtEnd closes fd when the test ends, unless the test has closed it
// already. Closing a number twice is a bug of its own: by the second close
// the number may name a descriptor opened since. So we remember which socket
// the number named (its inode) and close only if it still names that one.
func closeAtEnd(t *testing.T, fd int) {
	t.Helper()
	var was unix.Stat_t
	require.NoError(t, unix.Fstat(fd, &was), "fstat")
	t.Cleanup(func() {
		var now unix.Stat_t
		if unix.Fstat(fd, &now) == nil && now.Dev == was.Dev && now.Ino == was.Ino {
			_ = unix.Close(fd)
		}
	})
}

// smallSendBuffer shrinks fd's send buffer so that a few kilobytes fill it
// and writes come back short. The kernel doubles the value asked for (half
// is for its own bookkeeping), so this is about 8 KiB instead of the usual
// couple of hundred.
func smallSendBuffer(t *testing.T, fd int) {
	t.Helper()
	require.NoError(t, unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4096), "setsockopt SO_SNDBUF")
}

// fillSendBuffer writes to fd until the kernel refuses with EAGAIN, and
// returns what it wrote.
func fillSendBuffer(t *testing.T, fd int) []byte {
	t.Helper()
	var written []byte
	chunk := pattern(1024)
	for {
		n, err := unix.Write(fd, chunk)
		if errors.Is(err, unix.EAGAIN) {
			return written
		}
		require.NoError(t, err, "write to fill the send buffer")
		written = append(written, chunk[:n]...)
	}
}

// readAvailable reads fd until the kernel says EAGAIN (nothing more for
// now) and returns the bytes. It never waits: the socket is non-blocking.
func readAvailable(t *testing.T, fd int) []byte {
	t.Helper()
	var got []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EAGAIN) {
			return got
		}
		require.NoError(t, err, "read on the peer")
		require.NotZero(t, n, "read on the peer returned EOF")
		got = append(got, buf[:n]...)
	}
}

// pattern returns n bytes counting 0..250 over and over. 251 is prime, so a
// chunk that is lost or sent twice at any power-of-two boundary shifts the
// sequence and shows up as a mismatch.
func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i % 251)
	}
	return p
}

// assertSameBytes checks that got equals want and, if not, says where they
// first differ instead of printing kilobytes of both.
func assertSameBytes(t *testing.T, want, got []byte) {
	t.Helper()
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			assert.Failf(t, "the peer received different bytes", "first difference at offset %d of %d: want %d, got %d", i, len(want), want[i], got[i])
			return
		}
	}
	assert.Equal(t, len(want), len(got), "number of bytes the peer received")
}
