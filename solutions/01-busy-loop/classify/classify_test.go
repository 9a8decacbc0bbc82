//go:build linux

package classify

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The tests read real sockets wherever the kernel can be made to produce the
// case: a Unix socket pair for the everyday outcomes, a TCP connection over
// loopback for the ones only TCP has (FIN, RST).

func TestClassifyRealReads(t *testing.T) {
	t.Run("bytes waiting in the socket are Data", func(t *testing.T) {
		a, b := socketPair(t)
		writeAll(t, b, []byte("hello"))

		n, err := unix.Read(a, make([]byte, 64))
		assertClassify(t, Data, n, err, "bytes arrived")
	})

	t.Run("an empty socket is WouldBlock, not EOF", func(t *testing.T) {
		a, _ := socketPair(t)

		n, err := unix.Read(a, make([]byte, 64))
		// What the kernel and x/sys/unix give us: n == -1 and EAGAIN.
		require.ErrorIs(t, err, unix.EAGAIN, "read on an empty non-blocking socket")
		require.Equal(t, -1, n, "n from unix.Read on an error")
		assertClassify(t, WouldBlock, n, err, "EAGAIN only means no bytes yet: taking it for EOF hangs up on a quiet, healthy client")
	})

	t.Run("a peer that closes is EOF, after the bytes it sent first", func(t *testing.T) {
		a, b := socketPair(t)
		writeAll(t, b, []byte("last words"))
		require.NoError(t, unix.Close(b), "close the peer")

		buf := make([]byte, 64)
		n, err := unix.Read(a, buf)
		assertClassify(t, Data, n, err, "the bytes a peer sent before closing come first")
		n, err = unix.Read(a, buf)
		assertClassify(t, EOF, n, err, "n == 0 with no error means the peer has finished")
	})

	t.Run("a peer that only shuts down its sending side is EOF too", func(t *testing.T) {
		a, b := socketPair(t)
		require.NoError(t, unix.Shutdown(b, unix.SHUT_WR), "shutdown(SHUT_WR) on the peer")

		n, err := unix.Read(a, make([]byte, 64))
		assertClassify(t, EOF, n, err, "a shutdown of the peer's sending side is its end of file")
	})

	t.Run("over TCP, an orderly close (FIN) is EOF", func(t *testing.T) {
		server, client := tcpPair(t)
		require.NoError(t, unix.Close(client), "close the client")
		waitReadable(t, server)

		n, err := unix.Read(server, make([]byte, 64))
		assertClassify(t, EOF, n, err, "a FIN reads as n == 0 with no error")
	})

	t.Run("over TCP, an aborted connection (RST) is Reset", func(t *testing.T) {
		server, client := tcpPair(t)
		// SO_LINGER on with a zero timeout turns close(2) into an abort: the
		// kernel drops anything unsent and sends RST instead of FIN.
		linger := &unix.Linger{Onoff: 1, Linger: 0}
		require.NoError(t, unix.SetsockoptLinger(client, unix.SOL_SOCKET, unix.SO_LINGER, linger), "setsockopt SO_LINGER 0")
		require.NoError(t, unix.Close(client), "close the client")
		waitReadable(t, server)

		n, err := unix.Read(server, make([]byte, 64))
		require.ErrorIs(t, err, unix.ECONNRESET, "read after the peer's RST")
		assertClassify(t, Reset, n, err, "ECONNRESET is the peer's abort, not a failure of ours: it needs a case of its own")
	})

	t.Run("a read on a descriptor that is not open (EBADF) is Failed", func(t *testing.T) {
		n, err := unix.Read(-1, make([]byte, 64))
		require.ErrorIs(t, err, unix.EBADF, "read on fd -1")
		assertClassify(t, Failed, n, err, "an error that is not EAGAIN, EINTR or ECONNRESET leaves the descriptor unusable")
	})
}

func TestClassifyEdgeCases(t *testing.T) {
	t.Run("any positive count without an error is Data", func(t *testing.T) {
		for _, n := range []int{1, 5, 65536} {
			assertClassify(t, Data, n, nil, "bytes arrived")
		}
	})

	t.Run("EWOULDBLOCK is EAGAIN on Linux, and both are WouldBlock", func(t *testing.T) {
		assert.Equal(t, unix.EAGAIN, unix.EWOULDBLOCK, "EWOULDBLOCK and EAGAIN are one errno")
		assertClassify(t, WouldBlock, -1, unix.EWOULDBLOCK, "EWOULDBLOCK is another name for EAGAIN")
	})

	t.Run("a read interrupted by a signal (EINTR) is WouldBlock, never EOF", func(t *testing.T) {
		assertClassify(t, WouldBlock, -1, unix.EINTR, "EINTR means a signal cut the call short before any byte moved: the connection is fine, read again later")
	})

	t.Run("the error decides, even when a wrapper reports n == 0", func(t *testing.T) {
		// os.File.Read, for one, returns 0 rather than -1 with its errors.
		const why = "n was looked at before err: with an error, n is not a count, and a wrapper's n == 0 is not EOF"
		assertClassify(t, WouldBlock, 0, unix.EAGAIN, why)
		assertClassify(t, Reset, 0, unix.ECONNRESET, why)
		assertClassify(t, Failed, 0, unix.EBADF, why)
	})

	t.Run("wrapped errors are recognised", func(t *testing.T) {
		const why = "a wrapped errno was not recognised: == sees only the wrapper, errors.Is looks inside"
		reset := os.NewSyscallError("read", unix.ECONNRESET)
		assertClassify(t, Reset, -1, reset, why)
		again := fmt.Errorf("conn 7: %w", unix.EAGAIN)
		assertClassify(t, WouldBlock, -1, again, why)
	})

	t.Run("any other error is Failed", func(t *testing.T) {
		for _, err := range []error{unix.ETIMEDOUT, unix.ENOTCONN, unix.EIO, errors.New("not an errno")} {
			assertClassify(t, Failed, -1, err, "an error that is not EAGAIN, EINTR or ECONNRESET leaves the descriptor unusable")
		}
	})
}

// assertClassify checks that Classify(n, err) returns want. The message
// names both results (testify alone would print them as numbers) and says
// why want is right, which is what a wrong answer got wrong.
func assertClassify(t *testing.T, want Result, n int, err error, why string) {
	t.Helper()
	got := Classify(n, err)
	assert.Equal(t, want, got, "Classify(%d, %v) returned %v, want %v: %s", n, err, got, want, why)
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

// tcpPair returns both ends of a TCP connection over 127.0.0.1, built with
// the same calls a server makes: socket, bind, listen, accept4. Both ends are
// non-blocking.
func tcpPair(t *testing.T) (server, client int) {
	t.Helper()
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err, "socket for the listener")
	closeAtEnd(t, ln)
	// Port 0: the kernel picks a free port, so tests never collide.
	require.NoError(t, unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}), "bind 127.0.0.1:0")
	require.NoError(t, unix.Listen(ln, 1), "listen")
	addr, err := unix.Getsockname(ln)
	require.NoError(t, err, "getsockname")

	client, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err, "socket for the client")
	closeAtEnd(t, client)
	// A blocking connect returns once the handshake is done. The kernel
	// completes the handshake for the listener on its own and queues the
	// connection for accept, so one goroutine can do both sides.
	require.NoError(t, unix.Connect(client, addr), "connect to the listener")
	require.NoError(t, unix.SetNonblock(client, true), "make the client non-blocking")
	server, _, err = unix.Accept4(ln, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	require.NoError(t, err, "accept4")
	closeAtEnd(t, server)
	return server, client
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

// writeAll writes p to the non-blocking fd in one call; the tests write far
// less than a socket buffer holds, so a short write means something is wrong.
func writeAll(t *testing.T, fd int, p []byte) {
	t.Helper()
	n, err := unix.Write(fd, p)
	require.NoError(t, err, "write")
	require.Equal(t, len(p), n, "bytes written")
}

// waitReadable blocks in poll(2) until fd has something to report: bytes, a
// FIN or a RST. Over loopback that takes microseconds; the minute is only
// there so a broken test fails instead of hanging.
func waitReadable(t *testing.T, fd int) {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 60_000)
		if errors.Is(err, unix.EINTR) {
			continue // a signal, not readiness: wait again
		}
		require.NoError(t, err, "poll")
		require.Equal(t, 1, n, "poll: the descriptor did not become readable within a minute")
		return
	}
}
