//go:build linux

// Package poller is a small wrapper around Linux epoll: the part of a reactor
// that asks the kernel which descriptors are ready.
//
// The contract, in the order a reactor uses it:
//
//   - New creates the epoll instance, a kernel object with its own descriptor.
//   - Add registers interest in a descriptor (EPOLLIN to read, EPOLLOUT to
//     write); Modify changes that interest; Remove ends it.
//   - Wait sleeps in the kernel until a registered descriptor is ready or the
//     timeout passes. A negative timeout waits for ever, zero only looks.
//   - Close releases the epoll instance.
//
// Registrations are level-triggered unless the events include EPOLLET: as
// long as a descriptor stays ready, every Wait reports it again. Errors from the kernel come back wrapped in
// *os.SyscallError; compare them with errors.Is (say, against unix.EEXIST).
package poller

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Event is one ready descriptor, as reported by Wait.
type Event struct {
	Fd     int    // the descriptor that is ready
	Events uint32 // what it is ready for, as the kernel reported it: unix.EPOLLIN, unix.EPOLLOUT, unix.EPOLLHUP, unix.EPOLLERR, ...
}

// Poller watches descriptors with one epoll instance. It belongs to one event
// loop; it is not safe for concurrent use.
type Poller struct {
	fd     int               // the epoll instance's own descriptor
	events []unix.EpollEvent // where epoll_wait writes; reused by every Wait
}

// maxEvents is how many ready descriptors one Wait can report. More than that
// is not lost: the rest stay ready in the kernel for the next Wait. Go's own
// runtime uses 128 too.
const maxEvents = 128

// New creates an epoll instance.
func New() (*Poller, error) {
	// EPOLL_CLOEXEC: a child started with exec must not inherit the epoll
	// descriptor. Setting the flag at creation leaves no window in which
	// another thread could fork and exec before we set it.
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	return &Poller{fd: fd, events: make([]unix.EpollEvent, maxEvents)}, nil
}

// Add starts watching fd for events, a mask such as unix.EPOLLIN or
// unix.EPOLLIN|unix.EPOLLOUT. Adding a descriptor that is already watched
// fails with EEXIST.
func (p *Poller) Add(fd int, events uint32) error {
	// The kernel keeps ev with the registration and hands it back from
	// epoll_wait. We store the descriptor in its Fd field: that is how Wait
	// learns which descriptor is ready.
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	// os.NewSyscallError returns nil for a nil error.
	return os.NewSyscallError("epoll_ctl", unix.EpollCtl(p.fd, unix.EPOLL_CTL_ADD, fd, &ev))
}

// Modify replaces the events watched for fd, which must have been added.
func (p *Poller) Modify(fd int, events uint32) error {
	ev := unix.EpollEvent{Events: events} // WRONG: Fd left at 0
	return os.NewSyscallError("epoll_ctl", unix.EpollCtl(p.fd, unix.EPOLL_CTL_MOD, fd, &ev))
}

// Remove stops watching fd. Remove before closing fd: the kernel keeps a
// registration until every copy of the descriptor (after dup or fork) is
// closed, so closing one copy does not always end it.
func (p *Poller) Remove(fd int) error {
	// EPOLL_CTL_DEL ignores the event argument; nil is allowed since Linux 2.6.9.
	return os.NewSyscallError("epoll_ctl", unix.EpollCtl(p.fd, unix.EPOLL_CTL_DEL, fd, nil))
}

// Wait blocks until at least one watched descriptor is ready or timeout
// passes, and returns the ready ones. On timeout it returns no events and no
// error. A negative timeout waits until something is ready; zero only looks.
// A signal never makes Wait fail: without a timeout it goes on waiting, and
// with one it returns early with no events, as a timeout would.
func (p *Poller) Wait(timeout time.Duration) ([]Event, error) {
	for {
		n, err := unix.EpollWait(p.fd, p.events, waitMillis(timeout))
		if errors.Is(err, unix.EINTR) {
			// A signal arrived while we slept, and epoll_wait is never
			// restarted by the kernel. In a Go program this is ordinary:
			// the runtime sends SIGURG to preempt goroutines. With no
			// timeout, wait again. With one, waiting the full timeout
			// again could postpone the deadline for ever under a stream
			// of signals, so return as a timeout would: the caller knows
			// its deadline and works out what is left (Go's netpoll does
			// the same).
			if timeout < 0 {
				continue
			}
			return nil, nil
		}
		if err != nil {
			return nil, os.NewSyscallError("epoll_wait", err)
		}
		// n == 0 means the timeout passed: an empty slice, no error.
		ready := make([]Event, n)
		for i, ev := range p.events[:n] {
			// Read the descriptor from the field the kernel handed back; the
			// struct's layout differs between CPUs, so never compute it.
			ready[i] = Event{Fd: int(ev.Fd), Events: ev.Events}
		}
		return ready, nil
	}
}

// Close releases the epoll instance. Watched descriptors stay open.
func (p *Poller) Close() error {
	err := unix.Close(p.fd)
	// Forget the number: the kernel may hand it to the next descriptor
	// anyone opens, and a second Close must not close that one.
	p.fd = -1
	return os.NewSyscallError("close", err)
}

// waitMillis converts a Wait timeout into epoll_wait's milliseconds, much as
// Go's runtime does in netpoll_epoll.go (which rounds down, except below
// a millisecond).
func waitMillis(d time.Duration) int {
	switch {
	case d < 0:
		return -1 // block until a descriptor is ready
	case d == 0:
		return 0 // only look; never sleep
	case d < 1e9*time.Millisecond:
		// Round up, so we never wake before the deadline and a timeout
		// under a millisecond does not become 0, a busy poll.
		return int((d + time.Millisecond - 1) / time.Millisecond)
	default:
		return 1e9 // 1e9 ms == ~11.5 days, the cap Go's runtime uses too
	}
}
