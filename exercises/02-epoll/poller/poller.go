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
	// TODO(02-epoll/poller): create the epoll instance, so that a program
	// this one execs does not inherit it, and what Wait receives events in.
	panic("TODO(02-epoll/poller): create the epoll instance")
}

// Add starts watching fd for events, a mask such as unix.EPOLLIN or
// unix.EPOLLIN|unix.EPOLLOUT. Adding a descriptor that is already watched
// fails with EEXIST.
func (p *Poller) Add(fd int, events uint32) error {
	// TODO(02-epoll/poller): register fd with the instance, in a way that
	// lets Wait tell which descriptor each event is about. Errors come back
	// as the package comment says.
	panic("TODO(02-epoll/poller): register fd with epoll_ctl")
}

// Modify replaces the events watched for fd, which must have been added.
func (p *Poller) Modify(fd int, events uint32) error {
	// TODO(02-epoll/poller): replace fd's registration, as Add made it.
	panic("TODO(02-epoll/poller): change fd's events with epoll_ctl")
}

// Remove stops watching fd. Remove before closing fd: the kernel keeps a
// registration until every copy of the descriptor (after dup or fork) is
// closed, so closing one copy does not always end it.
func (p *Poller) Remove(fd int) error {
	// TODO(02-epoll/poller): end fd's registration.
	panic("TODO(02-epoll/poller): unregister fd with epoll_ctl")
}

// Wait blocks until at least one watched descriptor is ready or timeout
// passes, and returns the ready ones. On timeout it returns no events and no
// error. A negative timeout waits until something is ready; zero only looks.
// A signal never makes Wait fail: without a timeout it goes on waiting, and
// with one it returns early with no events, as a timeout would.
func (p *Poller) Wait(timeout time.Duration) ([]Event, error) {
	// TODO(02-epoll/poller): sleep in epoll_wait for at most timeout and
	// report each ready descriptor, keeping the contract above when a
	// signal interrupts the sleep.
	panic("TODO(02-epoll/poller): wait with epoll_wait and report the ready descriptors")
}

// Close releases the epoll instance. Watched descriptors stay open.
func (p *Poller) Close() error {
	// TODO(02-epoll/poller): release the epoll instance, so that a second
	// Close cannot release anything else.
	panic("TODO(02-epoll/poller): close the epoll instance")
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
