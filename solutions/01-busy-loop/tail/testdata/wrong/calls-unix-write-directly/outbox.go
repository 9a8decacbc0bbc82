//go:build linux

// Package tail keeps, for one connection, the bytes the kernel has not taken
// yet.
//
// A write on a non-blocking socket copies into the kernel's send buffer only
// what fits, returns that count, and does not wait for room. An echo server
// that ignores the count loses the rest of the reply; one that simply writes
// the whole slice again sends its start twice. The cure is an outbox per
// connection: queue the reply, write as much as the kernel takes, keep the
// unsent tail, and write again when the socket has room.
package tail

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// write is the system call Flush makes, unix.Write. Flush calls write, never
// unix.Write directly: the tests replace it to make answers that a real
// socket gives too rarely to test (EINTR, a short count while there is
// room) happen on cue.
var write = unix.Write

// Outbox holds the bytes queued for one connection that the kernel has not
// accepted yet, oldest first. The zero value is an empty Outbox, ready to use.
// An Outbox belongs to one event loop; it is not safe for concurrent use.
type Outbox struct {
	pending []byte // queued, not yet written; pending[0] is the next byte to send
}

// Queue adds p to the end of the outbox. It does not write; Flush does. Queue
// keeps a copy, because the caller usually reads its next message into p.
func (o *Outbox) Queue(p []byte) {
	// append copies p's bytes into o.pending, so the caller may reuse p.
	o.pending = append(o.pending, p...)
}

// Flush writes pending bytes to fd, a non-blocking socket, until the outbox
// is empty (done is true) or the kernel's send buffer is full (done is false
// and err is nil: call Flush again once fd is writable). Bytes the kernel
// took leave the outbox and are never sent again. Any other error is
// returned; the connection is then broken and should be closed.
func (o *Outbox) Flush(fd int) (done bool, err error) {
	for len(o.pending) > 0 {
		n, err := unix.Write(fd, o.pending) // WRONG: bypasses the seam the tests use
		switch {
		case errors.Is(err, unix.EINTR):
			// A signal arrived before anything was copied: nothing changed.
			continue
		case errors.Is(err, unix.EAGAIN):
			// The send buffer is full. That is not a failure, only "not
			// yet": the kernel frees room as the peer reads, and the event
			// loop calls Flush again when the socket is writable.
			return false, nil
		case err != nil:
			// EPIPE (the peer has gone), ECONNRESET and the like.
			return false, os.NewSyscallError("write", err)
		}
		// The kernel copied the first n bytes and will deliver them itself.
		// Keep only the tail, so the next write starts right where this one
		// stopped: no byte is skipped and none is sent twice. A short count
		// is no reason to stop either: only EAGAIN says the buffer is full.
		o.pending = o.pending[n:]
	}
	// Everything is out. Drop the slice so a large burst's array can be
	// garbage collected; a production server would recycle its buffers.
	o.pending = nil
	return true, nil
}

// Pending reports how many queued bytes the kernel has not taken yet.
func (o *Outbox) Pending() int {
	return len(o.pending)
}
