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

import "golang.org/x/sys/unix"

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
	// TODO(01-busy-loop/tail): put p's bytes behind those already queued,
	// in a form that survives the caller's next use of p.
	panic("TODO(01-busy-loop/tail): queue a copy of p")
}

// Flush writes pending bytes to fd, a non-blocking socket, until the outbox
// is empty (done is true) or the kernel's send buffer is full (done is false
// and err is nil: call Flush again once fd is writable). Bytes the kernel
// took leave the outbox and are never sent again. Any other error is
// returned; the connection is then broken and should be closed.
func (o *Outbox) Flush(fd int) (done bool, err error) {
	// TODO(01-busy-loop/tail): give the kernel what is queued until nothing
	// is left or it has no room, as the doc comment says. A byte the kernel
	// took is never offered again, and one it did not take is never lost.
	panic("TODO(01-busy-loop/tail): write what the kernel takes, keep the rest")
}

// Pending reports how many queued bytes the kernel has not taken yet.
func (o *Outbox) Pending() int {
	return len(o.pending)
}
