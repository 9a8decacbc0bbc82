//go:build linux

package main

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

const (
	// readSize is how much one read may take. 4 KiB is a page: large enough
	// that a line of chat arrives in one read, small enough that one buffer
	// shared by all connections costs nothing to keep.
	readSize = 4 << 10
)

// conn is the server's side of one client: its socket, and the bytes we
// read from it but could not write back yet.
type conn struct {
	fd    int
	out   []byte   // echoed bytes the kernel has not taken yet, oldest first
	eof   bool     // the client shut its write side: read returned 0
	armed Interest // what the reactor watches this socket for now
	work  *int64   // the loop's work meter (stats.work), or nil: fill and flush add the bytes they move
}

// done reports whether c has nothing left to do: the client will send no
// more and every byte it sent has been written back.
func (c *conn) done() bool { return c.eof && len(c.out) == 0 }

// interest is what the reactor should watch c for: writable while echoed
// bytes wait for room in the send buffer, readable otherwise.
func (c *conn) interest() Interest {
	if len(c.out) > 0 {
		return Writable
	}
	return Readable
}

// fill makes one read into buf and queues what arrived for echoing. It
// returns how many bytes arrived; 0 with a nil error means "nothing yet"
// (EAGAIN) or end of input (then c.eof is set). Any error is final for
// this connection: ECONNRESET when the client reset, for example.
func (c *conn) fill(buf []byte) (int, error) {
	for {
		n, err := unix.Read(c.fd, buf)
		switch {
		case errors.Is(err, unix.EINTR):
			continue // interrupted before anything was read; try again
		case errors.Is(err, unix.EAGAIN):
			return 0, nil // the receive queue is empty: not ready, not an error
		case err != nil:
			return 0, os.NewSyscallError("read", err)
		case n == 0:
			c.eof = true // FIN received: the client will send no more
			return 0, nil
		}
		c.out = append(c.out, buf[:n]...)
		c.moved(n)
		return n, nil
	}
}

// flush writes as much of c.out as the kernel's send buffer takes and keeps
// the rest, in order, for later. A write may take only part of what we
// give it (a partial write); what it did not take is never dropped and
// what it took is never sent again. It returns the bytes written.
func (c *conn) flush() (int, error) {
	written := 0
	for len(c.out) > 0 {
		n, err := unix.Write(c.fd, c.out)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return written, nil // send buffer full: keep the tail for later
		case err != nil:
			// EPIPE or ECONNRESET: the client is gone. (Go's runtime
			// turns the SIGPIPE for this write into this error.)
			return written, os.NewSyscallError("write", err)
		}
		written += n
		c.moved(n)
		// Move the unsent tail to the front so the buffer is reused
		// instead of growing; usually the tail is empty and this is free.
		c.out = c.out[:copy(c.out, c.out[n:])]
	}
	return written, nil
}

// moved adds n bytes to the loop's work meter, if c has one.
func (c *conn) moved(n int) {
	if c.work != nil {
		*c.work += int64(n)
	}
}
