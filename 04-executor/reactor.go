//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// The reactor's contract. Everything the rest of the program knows about
// epoll goes through these five calls:
//
//	NewReactor()                   creates the epoll instance (epoll_create1).
//	r.Register(fd, interest)       starts watching fd (EPOLL_CTL_ADD).
//	r.Modify(fd, interest)         changes what we wait for on fd (EPOLL_CTL_MOD).
//	r.Deregister(fd)               stops watching fd (EPOLL_CTL_DEL); call it before closing fd.
//	r.Wait(timeout)                sleeps in epoll_wait until a watched fd is ready or the
//	                               timeout passes, and says how many were ready.
//
// Unlike chapter 02's, this reactor runs no handlers: the futures do the
// work when the executor polls them. And it cannot say whose future an
// event is for, since nothing links a descriptor to a task yet: the
// executor can only poll everyone again. (Chapter 05 adds that link.)
//
// The reactor is level-triggered: as long as a socket has unread data (or
// room to write, if we asked for that), every epoll_wait reports it again.
// Only the goroutine that calls Wait may call the other methods.

// Interest is what we ask the kernel to watch a descriptor for.
type Interest uint32

const (
	// Readable: data to read, a connection to accept, or the peer's FIN.
	// RDHUP asks to hear about a half-close even with no data pending.
	Readable Interest = unix.EPOLLIN | unix.EPOLLRDHUP
	// Writable: room in the send buffer. Ask only while output is
	// pending: an idle socket is always writable, and level-triggered
	// epoll would report it on every wait, forever.
	Writable Interest = unix.EPOLLOUT
)

// maxEvents is how many ready descriptors one epoll_wait may return.
// More stay queued in the kernel for the next call. Go's runtime uses 128
// too: enough to amortise the system call, small enough for the stack.
const maxEvents = 128

// Reactor waits for readiness on many descriptors at once, with epoll.
type Reactor struct {
	epfd    int
	watched int               // descriptors registered
	events  []unix.EpollEvent // what epoll_wait fills in, reused every call
	trace   tracer
	waits   int64 // epoll_wait calls that returned (not counting EINTR)
	ready   int64 // ready events they reported
}

// NewReactor creates an epoll instance. EPOLL_CLOEXEC keeps it out of
// child processes, like every descriptor in this program.
func NewReactor(trace tracer) (*Reactor, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	return &Reactor{
		epfd:   epfd,
		events: make([]unix.EpollEvent, maxEvents),
		trace:  trace,
	}, nil
}

// Register starts watching fd for interest.
func (r *Reactor) Register(fd int, interest Interest) error {
	// The kernel hands Fd back to us with each event; here only the
	// trace reads it. (Go's runtime stores a pointer there instead.)
	ev := unix.EpollEvent{Events: uint32(interest), Fd: int32(fd)}
	if err := unix.EpollCtl(r.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	r.watched++
	return nil
}

// Modify changes what fd is watched for.
func (r *Reactor) Modify(fd int, interest Interest) error {
	ev := unix.EpollEvent{Events: uint32(interest), Fd: int32(fd)}
	if err := unix.EpollCtl(r.epfd, unix.EPOLL_CTL_MOD, fd, &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// Deregister stops watching fd. Call it before closing fd: the epoll set
// holds the open file, not the number, so a descriptor closed while still
// registered (and shared with a child, say) could go on reporting events.
func (r *Reactor) Deregister(fd int) error {
	// Since Linux 2.6.9 the event argument may be nil for EPOLL_CTL_DEL.
	if err := unix.EpollCtl(r.epfd, unix.EPOLL_CTL_DEL, fd, nil); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	r.watched--
	return nil
}

// Wait sleeps until at least one watched descriptor is ready, or timeout
// passes (a negative timeout waits as long as it takes). It returns how
// many were ready.
func (r *Reactor) Wait(timeout time.Duration) (int, error) {
	msec := -1 // epoll_wait's "no timeout"
	if timeout >= 0 {
		// epoll_wait counts in milliseconds. Round up: rounding 0.4 ms
		// down to 0 would return at once and make the caller spin.
		msec = int((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	var n int
	for {
		var err error
		n, err = unix.EpollWait(r.epfd, r.events, msec)
		if errors.Is(err, unix.EINTR) {
			// A signal arrived while we slept: Go's scheduler sends
			// SIGURG to preempt long-running goroutines, so this happens
			// in every Go program. Nothing is wrong. With no timeout we
			// simply wait again. With one, waiting the full timeout again
			// could postpone the deadline forever under a stream of
			// signals, so we return as a timeout would, and the caller
			// works out how long is left (Go's netpoll does the same).
			if msec < 0 {
				continue
			}
			n, err = 0, nil
		}
		if err != nil {
			return 0, os.NewSyscallError("epoll_wait", err)
		}
		break
	}
	r.waits++
	r.ready += int64(n)
	if r.trace.w != nil {
		r.trace.printf("epoll_wait returned %d: %s", n, describe(r.events[:n]))
	}
	return n, nil
}

// Close releases the epoll instance.
func (r *Reactor) Close() error {
	if err := unix.Close(r.epfd); err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}

// describe lists ready events for the trace, as "fd 7 IN, fd 9 IN|RDHUP".
func describe(events []unix.EpollEvent) string {
	s := ""
	for i, ev := range events {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("fd %d %v", ev.Fd, Events(ev.Events))
	}
	return s
}
