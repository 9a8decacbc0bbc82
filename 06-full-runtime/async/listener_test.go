//go:build linux

package async

import (
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestListener(t *testing.T) {
	t.Run("Accept waits for a client and returns its connection", func(t *testing.T) {
		rt := newTestRuntime(t)
		ln, err := rt.Listen("127.0.0.1:0")
		require.NoError(t, err, "Listen")
		t.Cleanup(func() { ln.Close() })
		f := ln.Accept()
		w := testWaker(t, "acceptor")
		require.False(t, f.Poll(&Context{Waker: w}).IsReady(), "nobody has connected")
		require.Same(t, w, ln.reg.reader.waker, "the acceptor waits in the reactor")
		client, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err, "Dial")
		t.Cleanup(func() { client.Close() })
		r, err := BlockOn(rt, "accept", f)
		require.NoError(t, err, "BlockOn")
		require.NoError(t, r.Err, "Accept")
		t.Cleanup(func() { r.Value.Close() })
		_, err = client.Write([]byte("hi\n"))
		require.NoError(t, err, "client write")
		line := readLine(t, rt, r.Value, 10)
		assert.Equal(t, "hi\n", string(line.Value), "line from the accepted connection")
		assert.Equal(t, int64(1), rt.Stats().Accepts, "accepts counted")

		// Every read and write is a raw system call (readFD, writeFD),
		// which is right only because none of them can block.
		for name, fd := range map[string]int{"listener": ln.fd, "connection": r.Value.fd()} {
			fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
			require.NoError(t, err, "F_GETFL of the %s", name)
			assert.NotZero(t, fl&unix.O_NONBLOCK, "the %s is non-blocking: a raw read or write on it never sleeps", name)
			fd, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
			require.NoError(t, err, "F_GETFD of the %s", name)
			assert.NotZero(t, fd&unix.FD_CLOEXEC, "the %s is close-on-exec", name)
		}
	})

	t.Run("Addr is the address bound, with the port the kernel chose", func(t *testing.T) {
		rt := newTestRuntime(t)
		ln, err := rt.Listen("127.0.0.1:0")
		require.NoError(t, err, "Listen")
		t.Cleanup(func() { ln.Close() })
		assert.Equal(t, netip.MustParseAddr("127.0.0.1"), ln.Addr().Addr(), "address")
		assert.NotZero(t, ln.Addr().Port(), "port")
	})

	t.Run("a bad address is an error, and leaves no descriptor open", func(t *testing.T) {
		rt := newTestRuntime(t) // checks the descriptors when the test ends
		_, err := rt.Listen("localhost:http")
		assert.Error(t, err, "Listen on a name, not an address")
		taken, err := rt.Listen("127.0.0.1:0")
		require.NoError(t, err, "Listen")
		t.Cleanup(func() { taken.Close() })
		_, err = rt.Listen(taken.Addr().String())
		assert.Error(t, err, "Listen on a port already taken")
	})

	t.Run("Accept after Close finishes with ErrClosed", func(t *testing.T) {
		rt := newTestRuntime(t)
		ln, err := rt.Listen("127.0.0.1:0")
		require.NoError(t, err, "Listen")
		require.NoError(t, ln.Close(), "Close")
		r, err := BlockOn(rt, "accept", ln.Accept())
		require.NoError(t, err, "BlockOn")
		assert.ErrorIs(t, r.Err, ErrClosed, "Accept")
	})

	t.Run("Close wakes an Accept in progress, which finishes with ErrClosed", func(t *testing.T) {
		// The doc: "an Accept in progress finishes with ErrClosed". For
		// that, the task waiting in Accept must be polled again: Close
		// must wake it, or it sleeps for ever.
		rt := newTestRuntime(t)
		ln, err := rt.Listen("127.0.0.1:0")
		require.NoError(t, err, "Listen")
		f := ln.Accept()
		w := testWaker(t, "acceptor")
		require.False(t, f.Poll(&Context{Waker: w}).IsReady(), "Accept: nobody has connected")
		require.NoError(t, ln.Close(), "Close, from another task")
		assert.True(t, tookWake(w), "the task waiting in Accept is woken")
		r, ok := f.Poll(&Context{Waker: w}).Value()
		require.True(t, ok, "Accept polled again")
		assert.ErrorIs(t, r.Err, ErrClosed, "Accept")
	})

	t.Run("dropping an Accept after its listener closed does not withdraw the waker of a socket that reused its descriptor", func(t *testing.T) {
		rt := newTestRuntime(t)
		ln, err := rt.Listen("127.0.0.1:0")
		require.NoError(t, err, "Listen")
		t.Cleanup(func() { ln.Close() })
		lfd := ln.fd
		accept := ln.Accept()
		require.False(t, accept.Poll(&Context{Waker: testWaker(t, "acceptor")}).IsReady(), "Accept: nobody has connected")
		require.NoError(t, ln.Close(), "Close")

		ours, peer := socketpairAt(t, lfd)
		c, err := rt.newConn(ours)
		require.NoError(t, err, "a Conn on the reused descriptor")
		t.Cleanup(func() { c.Close() })
		read := c.ReadLine(100)
		reader := testWaker(t, "reader")
		require.False(t, read.Poll(&Context{Waker: reader}).IsReady(), "ReadLine: nothing yet")
		require.Same(t, reader, c.reg.reader.waker, "the reader waits")

		Drop(accept) // the task that awaited Accept gives up
		assert.Same(t, reader, c.reg.reader.waker, "the reader still waits")
		write(t, peer, "hi\n")
		ready, err := rt.reactor.wait(-1)
		require.NoError(t, err, "wait")
		assert.Equal(t, []*Waker{reader}, ready, "the reader is woken")
		line, ok := read.Poll(&Context{Waker: reader}).Value()
		require.True(t, ok, "ReadLine after the wake")
		assert.Equal(t, Result[[]byte]{Value: []byte("hi\n")}, line, "the line")
	})

	t.Run("closing a listener twice does not close a socket that reused its descriptor", func(t *testing.T) {
		rt := newTestRuntime(t)
		ln, err := rt.Listen("127.0.0.1:0")
		require.NoError(t, err, "Listen")
		lfd := ln.fd
		require.NoError(t, ln.Close(), "Close")

		ours, peer := socketpairAt(t, lfd)
		c, err := rt.newConn(ours)
		require.NoError(t, err, "a Conn on the reused descriptor")
		t.Cleanup(func() { c.Close() })
		require.NoError(t, ln.Close(), "Close again")
		assert.True(t, isOpen(lfd), "the new socket on fd %d is still open", lfd)
		assert.Same(t, &c.reg, rt.reactor.regs[lfd], "and still registered")
		write(t, ours, "still here")
		assert.Equal(t, "still here", string(drain(t, peer)), "what the new socket's peer got")
	})
}
