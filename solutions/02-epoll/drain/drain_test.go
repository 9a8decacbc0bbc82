//go:build linux

package drain

import (
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The tests register one end of a Unix socket pair with an edge-triggered
// epoll instance, write into the other end, and check that Drain leaves
// nothing behind that epoll would never mention again. Two of them replace
// read to make rare answers happen on cue, so no test runs in parallel.

func TestDrain(t *testing.T) {
	t.Run("reads until EAGAIN, so edge-triggered epoll strands nothing", func(t *testing.T) {
		a, b := socketPair(t)
		ep := edgeTriggered(t, a)
		buf := make([]byte, 1024)
		sent := pattern(3*len(buf) + 100) // more than one buffer's worth
		writeAll(t, b, sent)
		require.Equal(t, 1, epollWait(t, ep, -1), "epoll_wait after the peer wrote")

		var got []byte
		eof, err := Drain(a, buf, collect(t, &got))
		require.NoError(t, err, "Drain")
		assert.False(t, eof, "Drain reported EOF, but the peer is still open")
		assertSameBytes(t, sent, got)
		// Nothing is left, and epoll agrees: no new edge, so no event.
		assert.Equal(t, 0, epollWait(t, ep, 0), "events from epoll_wait(0) after Drain")
		assert.Equal(t, 0, unread(t, a), "bytes left in the socket after Drain: with EPOLLET nothing will report them again; read until EAGAIN")
	})

	t.Run("why: after one read, epoll stays silent about the bytes left", func(t *testing.T) {
		// This test does not call Drain. It shows the trap Drain avoids.
		a, b := socketPair(t)
		ep := edgeTriggered(t, a)
		buf := make([]byte, 1024)
		writeAll(t, b, pattern(3*len(buf)))
		require.Equal(t, 1, epollWait(t, ep, -1), "epoll_wait after the peer wrote")

		_, err := unix.Read(a, buf) // one read, as a level-triggered loop would do
		require.NoError(t, err, "read")
		assert.Equal(t, 2*len(buf), unread(t, a), "bytes left in the socket after one read")
		assert.Equal(t, 0, epollWait(t, ep, 0), "events from epoll_wait(0) with bytes left: the edge was used up")
	})

	t.Run("a new write after Drain raises a new edge", func(t *testing.T) {
		a, b := socketPair(t)
		ep := edgeTriggered(t, a)
		buf := make([]byte, 1024)
		var got []byte
		sink := collect(t, &got)

		writeAll(t, b, []byte("first"))
		require.Equal(t, 1, epollWait(t, ep, -1), "epoll_wait after the first write")
		_, err := Drain(a, buf, sink)
		require.NoError(t, err, "first Drain")
		writeAll(t, b, []byte("second"))
		require.Equal(t, 1, epollWait(t, ep, -1), "epoll_wait after the second write")
		_, err = Drain(a, buf, sink)
		require.NoError(t, err, "second Drain")

		assert.Equal(t, "firstsecond", string(got), "bytes handed to sink")
	})

	t.Run("an empty socket is not EOF, and sink is not called", func(t *testing.T) {
		a, _ := socketPair(t)
		calls := 0

		eof, err := Drain(a, make([]byte, 1024), func([]byte) { calls++ })
		require.NoError(t, err, "Drain of an empty socket: EAGAIN means not yet, not failure")
		assert.False(t, eof, "Drain of an empty socket reported EOF")
		assert.Equal(t, 0, calls, "calls to sink")
	})

	t.Run("reports EOF once the peer closes, after every byte it sent", func(t *testing.T) {
		a, b := socketPair(t)
		sent := pattern(5000)
		writeAll(t, b, sent)
		require.NoError(t, unix.Close(b), "close the peer")

		var got []byte
		eof, err := Drain(a, make([]byte, 1024), collect(t, &got))
		require.NoError(t, err, "Drain")
		assert.True(t, eof, "Drain after the peer closed reports EOF")
		assertSameBytes(t, sent, got, "the bytes a peer sent before it closed come before the EOF, and none may be lost")
	})

	t.Run("hands sink chunks of at most len(buf), never an empty one", func(t *testing.T) {
		a, b := socketPair(t)
		writeAll(t, b, pattern(10_000))
		buf := make([]byte, 777)

		var sizes []int
		_, err := Drain(a, buf, func(p []byte) { sizes = append(sizes, len(p)) })
		require.NoError(t, err, "Drain")
		for i, n := range sizes {
			assert.True(t, n > 0 && n <= len(buf), "chunk %d has %d bytes, want 1..%d", i, n, len(buf))
		}
	})

	t.Run("other errors are returned: a read on a descriptor that is not open", func(t *testing.T) {
		eof, err := Drain(-1, make([]byte, 1024), func([]byte) {})
		assert.ErrorIs(t, err, unix.EBADF, "Drain(-1)")
		var se *os.SyscallError
		if assert.ErrorAs(t, err, &se, "Drain(-1)'s error: wrap it in an *os.SyscallError, as the doc comment says") {
			assert.Equal(t, "read", se.Syscall, "system call named in Drain(-1)'s error")
		}
		assert.False(t, eof, "Drain(-1) reported EOF")
	})

	t.Run("a read interrupted by a signal (EINTR) is made again: Drain does not stop there", func(t *testing.T) {
		a, b := socketPair(t)
		ep := edgeTriggered(t, a)
		buf := make([]byte, 1024)
		sent := pattern(3 * len(buf))
		writeAll(t, b, sent)
		require.Equal(t, 1, epollWait(t, ep, -1), "epoll_wait after the peer wrote")
		// A signal can cut a read short before it copies anything. On a
		// socket that is too rare to happen on cue, so the test makes the
		// second read say EINTR, with bytes still waiting.
		calls := replaceRead(t, func(fd int, p []byte, call int) (int, error) {
			if call == 2 {
				return -1, unix.EINTR
			}
			return unix.Read(fd, p)
		})

		var got []byte
		eof, err := Drain(a, buf, collect(t, &got))
		require.Positive(t, *calls, "calls of read: Drain must read through the package's read, which the tests can replace")
		require.NoError(t, err, "Drain whose second read said EINTR: a signal is not a broken connection, read again")
		assert.False(t, eof, "Drain whose second read said EINTR reported EOF, but the peer is still open")
		assert.Equal(t, 0, unread(t, a), "bytes left in the socket after Drain whose second read said EINTR: EINTR is not EAGAIN, and with EPOLLET nothing will report them again")
		assertSameBytes(t, sent, got)
	})

	t.Run("a short read does not mean the socket is empty: only EAGAIN does", func(t *testing.T) {
		a, b := socketPair(t)
		ep := edgeTriggered(t, a)
		buf := make([]byte, 1024)
		sent := pattern(1000) // less than buf holds
		writeAll(t, b, sent)
		require.Equal(t, 1, epollWait(t, ep, -1), "epoll_wait after the peer wrote")
		// A read may return fewer bytes than the buffer holds while more
		// are waiting: POSIX allows it, and a signal that lands after part
		// of the copy causes it. Here every read returns at most 100 bytes.
		calls := replaceRead(t, func(fd int, p []byte, _ int) (int, error) {
			return unix.Read(fd, p[:min(len(p), 100)])
		})

		var got []byte
		eof, err := Drain(a, buf, collect(t, &got))
		require.Positive(t, *calls, "calls of read: Drain must read through the package's read, which the tests can replace")
		require.NoError(t, err, "Drain with reads of at most 100 bytes")
		assert.False(t, eof, "Drain with reads of at most 100 bytes reported EOF, but the peer is still open")
		assert.Equal(t, 0, unread(t, a), "bytes left in the socket after Drain with reads of at most 100 bytes: a short read does not mean empty, only EAGAIN does")
		assertSameBytes(t, sent, got)
	})
}

// replaceRead makes Drain's reads go through fake until the test ends, and
// returns a pointer to the count of calls. fake gets the call's number,
// from 1.
func replaceRead(t *testing.T, fake func(fd int, p []byte, call int) (int, error)) *int {
	t.Helper()
	calls := 0
	saved := read
	read = func(fd int, p []byte) (int, error) {
		calls++
		return fake(fd, p, calls)
	}
	t.Cleanup(func() { read = saved })
	return &calls
}

// collect returns a sink that appends a copy of each chunk to *got. It fails
// the test at once on an empty chunk: a read that returns 0 bytes means EOF,
// and a Drain that passes it on instead would read 0 bytes for ever.
func collect(t *testing.T, got *[]byte) func([]byte) {
	return func(p []byte) {
		// Drain calls sink on the test's own goroutine, so FailNow is safe.
		if len(p) == 0 {
			require.FailNow(t, "sink was handed an empty chunk", "a read of 0 bytes means EOF: Drain should return eof == true")
		}
		*got = append(*got, p...)
	}
}

// edgeTriggered creates an epoll instance watching fd for EPOLLIN|EPOLLET
// and returns the instance's descriptor.
func edgeTriggered(t *testing.T, fd int) int {
	t.Helper()
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	require.NoError(t, err, "epoll_create1")
	closeAtEnd(t, ep)
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: int32(fd)}
	require.NoError(t, unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &ev), "epoll_ctl ADD with EPOLLET")
	return ep
}

// epollWait returns how many events epoll_wait reports. A negative msec
// blocks, which is safe only when the test has already made fd ready.
func epollWait(t *testing.T, ep int, msec int) int {
	t.Helper()
	events := make([]unix.EpollEvent, 8)
	for {
		n, err := unix.EpollWait(ep, events, msec)
		if errors.Is(err, unix.EINTR) {
			continue // a signal, not an event: wait again
		}
		require.NoError(t, err, "epoll_wait")
		return n
	}
}

// unread returns how many bytes wait in fd's receive queue, without reading
// them (the SIOCINQ ioctl, also known as FIONREAD).
func unread(t *testing.T, fd int) int {
	t.Helper()
	n, err := unix.IoctlGetInt(fd, unix.SIOCINQ)
	require.NoError(t, err, "ioctl SIOCINQ")
	return n
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
// the number may name a descriptor opened since. So we remember which file
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

// writeAll writes p to the non-blocking fd in one call; the tests write far
// less than a socket buffer holds, so a short write means something is wrong.
func writeAll(t *testing.T, fd int, p []byte) {
	t.Helper()
	n, err := unix.Write(fd, p)
	require.NoError(t, err, "write")
	require.Equal(t, len(p), n, "bytes written")
}

// pattern returns n bytes counting 0..250 over and over. 251 is prime, so a
// chunk that is lost or read twice at any power-of-two boundary shifts the
// sequence and shows up as a mismatch.
func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i % 251)
	}
	return p
}

// assertSameBytes checks that got equals want and, if not, says where they
// first differ instead of printing kilobytes of both. why, if given, is
// added to the message: the rule a difference breaks.
func assertSameBytes(t *testing.T, want, got []byte, why ...string) {
	t.Helper()
	because := ""
	if len(why) > 0 {
		because = ": " + why[0]
	}
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			assert.Failf(t, "sink received different bytes", "first difference at offset %d of %d: want %d, got %d%s", i, len(want), want[i], got[i], because)
			return
		}
	}
	assert.Equal(t, len(want), len(got), "number of bytes sink received%s", because)
}
