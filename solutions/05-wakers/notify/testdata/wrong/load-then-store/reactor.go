//go:build linux

// Wrong, on purpose: Notify checks the flag with Load, then sets it with Store: two calls
// can both read false, and both write.

// Package notify is the cross-goroutine wake of chapter 05's reactor: an
// eventfd in the epoll set, which any goroutine can write to in order to
// end the loop's epoll_wait, and the flag that makes a burst of such wakes
// cost one write.
//
// The loop sleeps in epoll_wait. A waker called from another goroutine
// (a timer, a worker, a shutdown) must get it out, and only the kernel can:
// so the reactor keeps an eventfd in its epoll set, and Notify writes to
// it. An eventfd is a 64-bit counter behind a file descriptor. write adds
// the 8-byte number written to the counter; read returns the counter and
// sets it to zero; epoll reports the descriptor readable while the
// counter is not zero. Here the reactor watches nothing else, so that the
// eventfd's part can be seen on its own.
package notify

import (
	"encoding/binary"
	"errors"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// The reactor's contract, as far as this exercise goes:
//
//	NewReactor()   creates the epoll instance, and an eventfd in it.
//	r.Notify()     makes the Wait in progress, or the next one, return at
//	               once. Any goroutine may call it, as often as it likes;
//	               a burst of calls before the loop wakes costs one write.
//	r.Wait(t)      sleeps in epoll_wait until Notify is called or t passes,
//	               reports whether a Notify ended it, and drains the eventfd.
//	r.Close()      closes both descriptors.
//
// Only the loop's goroutine calls Wait and Close.

// Reactor is an epoll instance with an eventfd in it.
type Reactor struct {
	epfd   int
	efd    int               // the eventfd Notify writes to; in the epoll set for good
	events []unix.EpollEvent // what epoll_wait fills in, reused every call
	waits  int64             // epoll_wait calls that returned, not counting EINTR

	// notified is set from the moment a Notify decides to write until the
	// loop has drained the eventfd: while it is set, the counter is (or is
	// about to be) non-zero, so the loop will wake, and one more write
	// would only cost a system call.
	notified flag

	// beforeRead, if set, runs in readCounter just before the read: the
	// tests use it to land a Notify at exactly that moment.
	beforeRead func()
}

// flag is an atomic.Bool that the tests can interrupt. Load reads the flag
// and then, if a test has set afterLoad, runs it before it returns: so a
// test can land another goroutine's Notify exactly between a read of the
// flag and whatever its caller does with what it read. Store, Swap and
// CompareAndSwap are atomic.Bool's own, in one step, with no gap for a hook.
type flag struct {
	atomic.Bool
	afterLoad func() // set by a test before the flag is shared
}

// Load reports whether the flag is set.
func (f *flag) Load() bool {
	v := f.Bool.Load()
	if f.afterLoad != nil {
		f.afterLoad()
	}
	return v
}

// maxEvents is how many ready descriptors one epoll_wait may return. The
// eventfd is the only one here; the chapter's reactor, with sockets too,
// asks for 128, as Go's runtime does.
const maxEvents = 8

// NewReactor creates an epoll instance with an eventfd in it. EFD_CLOEXEC
// and EPOLL_CLOEXEC keep both out of child processes; EFD_NONBLOCK makes a
// read of an empty counter fail with EAGAIN instead of blocking the loop.
func NewReactor() (*Reactor, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	// Level-triggered, on purpose: as long as the counter is not zero,
	// every epoll_wait returns at once. So Wait must drain it, or the loop
	// would spin; and a write can never be missed.
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(efd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, efd, &ev); err != nil {
		unix.Close(efd)
		unix.Close(epfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return &Reactor{epfd: epfd, efd: efd, events: make([]unix.EpollEvent, maxEvents)}, nil
}

// Notify makes the Wait in progress, or the next one, return at once. Any
// goroutine may call it. Only the call that turns r.notified from false to
// true writes to the eventfd: the number 1, as the 8 bytes of a uint64 in
// the machine's byte order, which the kernel adds to the counter. Every
// other call finds the flag set and returns without a system call. A
// write interrupted by a signal (EINTR) is tried again; EAGAIN means the
// counter is full, so the loop will wake anyway; any other error cannot
// happen on a valid eventfd.
func (r *Reactor) Notify() {
	// CompareAndSwap, not Load then Store: two goroutines could both load
	// false, and both write. The swap lets exactly one through per drain.
	if r.notified.Load() {
		return // written and not yet drained: the loop will wake anyway
	}
	r.notified.Store(true)
	var one [8]byte // an eventfd write is one 8-byte number; fewer bytes are EINVAL
	binary.NativeEndian.PutUint64(one[:], 1)
	for {
		_, err := unix.Write(r.efd, one[:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return
	}
}

// Wait sleeps until Notify is called or timeout passes (a negative timeout
// waits as long as it takes). It reports whether a Notify ended the wait,
// and then has drained the eventfd.
func (r *Reactor) Wait(timeout time.Duration) (notified bool, err error) {
	msec := -1 // epoll_wait's "no timeout"
	if timeout >= 0 {
		// epoll_wait counts in milliseconds. Round up: rounding 0.4 ms
		// down to 0 would return at once and make the caller spin.
		msec = int((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	var n int
	for {
		n, err = unix.EpollWait(r.epfd, r.events, msec)
		if errors.Is(err, unix.EINTR) {
			// A signal (Go's scheduler sends SIGURG to preempt) ended the
			// sleep early. With no timeout, sleep again; with one, return
			// as a timeout would, and let the caller work out what is left.
			if msec < 0 {
				continue
			}
			return false, nil
		}
		if err != nil {
			return false, os.NewSyscallError("epoll_wait", err)
		}
		break
	}
	r.waits++
	for _, ev := range r.events[:n] {
		if int(ev.Fd) == r.efd {
			if err := r.drain(); err != nil {
				return false, err
			}
			notified = true
		}
	}
	return notified, nil
}

// drain empties the eventfd, so that the next epoll_wait does not return
// for it again, and lets the next Notify write once more. Wait calls it on
// the loop's goroutine each time epoll_wait reports the eventfd. It reads
// the counter with r.readCounter, which returns its error, if any, and
// clears r.notified. Which of the two comes first decides whether a Notify
// that lands in between is lost.
func (r *Reactor) drain() error {
	// Read first, then clear the flag. A Notify that lands before the
	// read finds the flag still set and writes nothing, and nothing is
	// lost: its caller queued its task before it called Notify, and the
	// loop, awake now, takes the woken tasks next. A Notify after the
	// clear writes, and the next epoll_wait returns at once.
	//
	// The other order breaks for good. Clear, a Notify writes 1, the read
	// takes that 1: the flag says "written" and the counter is zero. From
	// then on every Notify finds the flag set and writes nothing, and
	// epoll_wait never reports the eventfd again to clear it: the loop is
	// deaf to every other goroutine.
	if _, err := r.readCounter(); err != nil {
		return err
	}
	r.notified.Store(false)
	return nil
}

// readCounter reads the eventfd's counter, which sets it to zero, and
// returns it: the number of writes since the last read. An empty counter
// (EAGAIN) reads as 0; a read interrupted by a signal is tried again.
func (r *Reactor) readCounter() (uint64, error) {
	if r.beforeRead != nil {
		r.beforeRead()
	}
	var buf [8]byte
	for {
		_, err := unix.Read(r.efd, buf[:])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return 0, nil
		case err != nil:
			return 0, os.NewSyscallError("read", err)
		}
		return binary.NativeEndian.Uint64(buf[:]), nil
	}
}

// Close releases the epoll instance and the eventfd.
func (r *Reactor) Close() error {
	err := unix.Close(r.efd)
	if err2 := unix.Close(r.epfd); err == nil {
		err = err2
	}
	if err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}
