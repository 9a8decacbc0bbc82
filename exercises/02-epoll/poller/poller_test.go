//go:build linux

package poller

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The tests make descriptors ready for real (a peer writes, closes, an
// eventfd is bumped) and check what Wait reports. None of them runs in
// parallel: one counts the process's descriptors.

func TestPollerLifetime(t *testing.T) {
	t.Run("New opens one close-on-exec epoll descriptor, and Close releases it", func(t *testing.T) {
		before := openFDs(t)
		p, err := New()
		require.NoError(t, err, "New")
		during := openFDs(t)

		var added []string
		for fd := range during {
			if _, ok := before[fd]; !ok {
				added = append(added, fd)
			}
		}
		if assert.Len(t, added, 1, "descriptors New opened") {
			assert.Equal(t, "anon_inode:[eventpoll]", during[added[0]], "what the new descriptor refers to")
			fd, err := strconv.Atoi(added[0])
			require.NoError(t, err, "descriptor number %q", added[0])
			flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
			require.NoError(t, err, "fcntl F_GETFD")
			assert.NotZero(t, flags&unix.FD_CLOEXEC, "FD_CLOEXEC on the epoll descriptor: create it with EPOLL_CLOEXEC")
		}

		require.NoError(t, p.Close(), "Close")
		assert.Equal(t, before, openFDs(t), "open descriptors after Close, compared with before New: Close must close the epoll descriptor")
	})

	t.Run("a second Close fails, and leaves alone the descriptor that took the number since", func(t *testing.T) {
		a, _ := socketPair(t)
		p, err := New()
		require.NoError(t, err, "New")
		number := p.fd
		require.NoError(t, p.Close(), "Close")
		// The kernel gives the lowest free number to the next descriptor
		// opened, so the epoll's number is soon someone else's. dup3 puts
		// a new descriptor on exactly that number.
		require.NoError(t, unix.Dup3(a, number, unix.O_CLOEXEC), "dup3 onto the closed epoll's number %d", number)
		closeAtEnd(t, number)

		assert.Error(t, p.Close(), "second Close")
		_, err = unix.FcntlInt(uintptr(number), unix.F_GETFD, 0)
		assert.NoError(t, err, "fcntl on descriptor %d after a second Close: Close closed a descriptor it no longer owned; forget the number once it is closed", number)
	})
}

func TestPollerReadiness(t *testing.T) {
	t.Run("reports a socket readable once its peer writes", func(t *testing.T) {
		a, b := socketPair(t)
		p := newPoller(t)
		require.NoError(t, p.Add(a, unix.EPOLLIN), "Add")

		assert.Empty(t, waitWithin(t, p, 0), "Wait(0) before the peer writes")
		writeAll(t, b, []byte("ping"))
		assert.Equal(t, []Event{{Fd: a, Events: unix.EPOLLIN}}, waitWithin(t, p, patience), "Wait after the peer wrote: an event's Fd is what the kernel hands back from the registration, so Add must put the descriptor there")
	})

	t.Run("reports an eventfd readable once it is written", func(t *testing.T) {
		efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		require.NoError(t, err, "eventfd")
		closeAtEnd(t, efd)
		p := newPoller(t)
		require.NoError(t, p.Add(efd, unix.EPOLLIN), "Add")

		assert.Empty(t, waitWithin(t, p, 0), "Wait(0) while the eventfd counter is 0")
		// An eventfd holds a 64-bit counter; writing adds to it, and a
		// counter above 0 makes it readable.
		writeAll(t, efd, binary.NativeEndian.AppendUint64(nil, 1))
		assert.Equal(t, []Event{{Fd: efd, Events: unix.EPOLLIN}}, waitWithin(t, p, patience), "Wait after the eventfd was written")
	})

	t.Run("reports each ready descriptor under its own number", func(t *testing.T) {
		a1, b1 := socketPair(t)
		a2, b2 := socketPair(t)
		quiet, _ := socketPair(t)
		p := newPoller(t)
		for _, fd := range []int{a1, a2, quiet} {
			require.NoError(t, p.Add(fd, unix.EPOLLIN), "Add fd %d", fd)
		}
		writeAll(t, b1, []byte("one"))
		writeAll(t, b2, []byte("two"))

		want := []Event{{Fd: a1, Events: unix.EPOLLIN}, {Fd: a2, Events: unix.EPOLLIN}}
		assert.ElementsMatch(t, want, waitWithin(t, p, patience), "Wait with two of three sockets readable")
	})

	t.Run("a socket with room to write is ready for EPOLLOUT at once", func(t *testing.T) {
		a, _ := socketPair(t)
		p := newPoller(t)
		require.NoError(t, p.Add(a, unix.EPOLLOUT), "Add")

		assert.Equal(t, []Event{{Fd: a, Events: unix.EPOLLOUT}}, waitWithin(t, p, patience), "Wait on a fresh socket")
	})

	t.Run("passes on the kernel's bits, including a hang-up nobody asked for", func(t *testing.T) {
		a, b := socketPair(t)
		p := newPoller(t)
		require.NoError(t, p.Add(a, unix.EPOLLIN), "Add")
		require.NoError(t, unix.Close(b), "close the peer")

		events := waitWithin(t, p, patience)
		// epoll always reports EPOLLHUP and EPOLLERR, asked for or not.
		if assert.Len(t, events, 1, "Wait after the peer closed") {
			assert.Equal(t, a, events[0].Fd, "Fd of the event")
			assert.NotZero(t, events[0].Events&unix.EPOLLHUP, "EPOLLHUP in Events %#x", events[0].Events)
		}
	})

	t.Run("a level-triggered socket is reported again until it is read", func(t *testing.T) {
		a, b := socketPair(t)
		p := newPoller(t)
		require.NoError(t, p.Add(a, unix.EPOLLIN), "Add")
		writeAll(t, b, []byte("unread"))

		want := []Event{{Fd: a, Events: unix.EPOLLIN}}
		assert.Equal(t, want, waitWithin(t, p, patience), "first Wait")
		assert.Equal(t, want, waitWithin(t, p, patience), "second Wait, bytes still unread")
	})
}

func TestPollerInterest(t *testing.T) {
	t.Run("Modify switches interest from reading to writing", func(t *testing.T) {
		a, b := socketPair(t)
		p := newPoller(t)
		require.NoError(t, p.Add(a, unix.EPOLLIN), "Add")
		writeAll(t, b, []byte("unread"))
		assert.Equal(t, []Event{{Fd: a, Events: unix.EPOLLIN}}, waitWithin(t, p, patience), "Wait before Modify")

		require.NoError(t, p.Modify(a, unix.EPOLLOUT), "Modify to EPOLLOUT of a descriptor already added: EEXIST means Modify added it again")
		// The bytes are still unread, but we no longer ask about reading.
		assert.Equal(t, []Event{{Fd: a, Events: unix.EPOLLOUT}}, waitWithin(t, p, patience), "Wait after Modify: Modify replaces the whole registered event, Fd included")
	})

	t.Run("Remove stops the events of that descriptor", func(t *testing.T) {
		a, b := socketPair(t)
		p := newPoller(t)
		require.NoError(t, p.Add(a, unix.EPOLLIN), "Add")
		writeAll(t, b, []byte("unread"))

		require.NoError(t, p.Remove(a), "Remove")
		assert.Empty(t, waitWithin(t, p, 0), "Wait(0) after Remove, with bytes waiting")
	})

	t.Run("adding a descriptor twice fails with EEXIST, as an epoll_ctl error", func(t *testing.T) {
		a, _ := socketPair(t)
		p := newPoller(t)
		require.NoError(t, p.Add(a, unix.EPOLLIN), "first Add")

		err := p.Add(a, unix.EPOLLIN)
		assert.ErrorIs(t, err, unix.EEXIST, "second Add of the same descriptor")
		assertSyscall(t, "epoll_ctl", err)
	})

	t.Run("modifying or removing a descriptor never added fails with ENOENT", func(t *testing.T) {
		a, _ := socketPair(t)
		p := newPoller(t)

		err := p.Modify(a, unix.EPOLLOUT)
		assert.ErrorIs(t, err, unix.ENOENT, "Modify of a descriptor never added")
		assertSyscall(t, "epoll_ctl", err)
		err = p.Remove(a)
		assert.ErrorIs(t, err, unix.ENOENT, "Remove of a descriptor never added")
		assertSyscall(t, "epoll_ctl", err)
	})

	t.Run("a regular file cannot be watched: EPERM", func(t *testing.T) {
		// A regular file is always ready to read and write, so epoll has
		// nothing to tell and refuses it.
		fd, err := unix.Open(filepath.Join(t.TempDir(), "plain"), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
		require.NoError(t, err, "open a regular file")
		closeAtEnd(t, fd)
		p := newPoller(t)

		err = p.Add(fd, unix.EPOLLIN)
		assert.ErrorIs(t, err, unix.EPERM, "Add of a regular file")
		assertSyscall(t, "epoll_ctl", err)
	})
}

func TestPollerWait(t *testing.T) {
	t.Run("a timeout with nothing ready returns no events and no error", func(t *testing.T) {
		a, _ := socketPair(t)
		p := newPoller(t)
		require.NoError(t, p.Add(a, unix.EPOLLIN), "Add")

		assert.Empty(t, waitWithin(t, p, 10*time.Millisecond), "Wait(10ms) with nothing ready")
	})

	t.Run("Wait(0) only looks, with nothing registered at all", func(t *testing.T) {
		p := newPoller(t)
		assert.Empty(t, waitWithin(t, p, 0), "Wait(0) on an empty poller")
	})

	t.Run("a negative timeout waits until something is ready", func(t *testing.T) {
		a, b := socketPair(t)
		p := newPoller(t)
		require.NoError(t, p.Add(a, unix.EPOLLIN), "Add")
		writeAll(t, b, []byte("ready"))

		assert.Equal(t, []Event{{Fd: a, Events: unix.EPOLLIN}}, waitWithin(t, p, -1), "Wait(-1) on a readable socket")
	})

	t.Run("a signal that interrupts an untimed epoll_wait does not end Wait early", func(t *testing.T) {
		// Go's runtime sends SIGURG to threads to preempt goroutines, so an
		// epoll_wait that fails with EINTR is ordinary in a Go program. Here
		// we send one on purpose, to the thread asleep in Wait(-1).
		a, b := socketPair(t)
		p := newPoller(t)
		require.NoError(t, p.Add(a, unix.EPOLLIN), "Add")

		done := interruptWait(t, p, -1)
		// The signal has been delivered, and epoll_wait has returned EINTR.
		// Only now make a descriptor ready: a Wait that returned on EINTR
		// reports nothing, one that waited again reports the socket.
		writeAll(t, b, []byte("ping"))

		select {
		case r := <-done:
			require.NoError(t, r.err, "Wait(-1) interrupted by a signal: EINTR is not an error, wait again")
			assert.Equal(t, []Event{{Fd: a, Events: unix.EPOLLIN}}, r.events, "Wait(-1) interrupted by a signal, then woken by a write: an untimed wait interrupted by EINTR must wait again, not return with no events")
		case <-time.After(patience):
			t.Fatalf("Wait(-1) did not return within %v of the socket becoming readable", patience)
		}
	})

	t.Run("a signal that interrupts a timed epoll_wait ends Wait as a timeout would", func(t *testing.T) {
		// Waiting the full timeout again after each signal would move the
		// deadline with every signal: under a steady stream of them, a
		// Wait(1h) might never return. So Wait returns no events, and the
		// caller, which knows its deadline, works out what is left.
		a, _ := socketPair(t)
		p := newPoller(t)
		require.NoError(t, p.Add(a, unix.EPOLLIN), "Add")

		done := interruptWait(t, p, time.Hour)
		// Nothing will become ready: only the signal can end this Wait
		// within the hour.
		select {
		case r := <-done:
			require.NoError(t, r.err, "Wait(1h) interrupted by a signal: EINTR is not an error, return as a timeout would")
			assert.Empty(t, r.events, "Wait(1h) interrupted by a signal, with nothing ready")
		case <-time.After(patience):
			assert.Fail(t, "Wait(1h) interrupted by a signal did not return",
				"still waiting %v after the signal: a timed wait interrupted by EINTR must not restart with its full timeout; it returns no events, as a timeout would", patience)
		}
	})

	t.Run("timeouts become epoll_wait's milliseconds, rounded up", func(t *testing.T) {
		for _, c := range []struct {
			timeout time.Duration
			want    int
		}{
			{-time.Second, -1},
			{-1, -1},
			{0, 0},
			{1, 1},
			{time.Millisecond, 1},
			{1500 * time.Microsecond, 2},
			{2 * time.Second, 2000},
			{1000 * time.Hour, 1e9},
		} {
			assert.Equal(t, c.want, waitMillis(c.timeout), "waitMillis(%v)", c.timeout)
		}
	})
}

// patience bounds every wait in these tests. The Waits here need
// microseconds, or 10ms for the timeout test; ten seconds is far beyond that
// even on a loaded machine, yet a Wait that ignores its timeout still fails in
// seconds instead of hanging the run.
const patience = 10 * time.Second

type waitResult struct {
	events []Event
	err    error
}

// waitWithin calls p.Wait(timeout) on another goroutine and returns its
// events, failing the test if Wait errs or has not returned within
// patience.
func waitWithin(t *testing.T, p *Poller, timeout time.Duration) []Event {
	t.Helper()
	done := make(chan waitResult, 1)
	go func() {
		events, err := p.Wait(timeout)
		done <- waitResult{events, err}
	}()
	select {
	case r := <-done:
		require.NoError(t, r.err, "Wait(%v)", timeout)
		return r.events
	case <-time.After(patience):
		require.FailNow(t, "Wait did not return", "Wait(%v) still blocked after %v", timeout, patience)
		return nil
	}
}

// interruptWait calls p.Wait(timeout) on a thread of its own, waits until
// that thread is asleep in the kernel, and sends it SIGURG, the signal Go's
// runtime uses to preempt goroutines. It returns once the signal has been
// delivered, which made epoll_wait fail with EINTR, and hands back the
// channel on which Wait's result will come. It skips the test where /proc
// cannot show which system call a thread is in.
func interruptWait(t *testing.T, p *Poller, timeout time.Duration) <-chan waitResult {
	t.Helper()
	tids := make(chan int, 1)
	done := make(chan waitResult, 1)
	go func() {
		// Stay on one OS thread, so the thread id we hand over is the
		// thread that sleeps in epoll_wait.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tids <- unix.Gettid()
		events, err := p.Wait(timeout)
		done <- waitResult{events, err}
	}()
	tid := <-tids
	task := fmt.Sprintf("/proc/self/task/%d/", tid)
	if _, err := os.Stat(task + "syscall"); err != nil {
		t.Skipf("cannot see which system call a thread is in: %v", err)
	}

	// Let the thread fall asleep in the kernel, then interrupt it.
	deadline := time.Now().Add(patience)
	for !asleepInSyscall(t, task) {
		require.Empty(t, done, "Wait(%v) returned before anything was ready or any signal was sent", timeout)
		require.True(t, time.Now().Before(deadline), "the thread calling Wait(%v) never fell asleep in epoll_wait", timeout)
		runtime.Gosched()
	}
	require.NoError(t, unix.Tgkill(unix.Getpid(), tid, unix.SIGURG), "tgkill SIGURG")
	// Once the signal is no longer pending it has been delivered, and
	// delivery made epoll_wait return EINTR.
	for signalPending(t, task, unix.SIGURG) {
		require.True(t, time.Now().Before(deadline), "the signal was never delivered")
		runtime.Gosched()
	}
	return done
}

// newPoller returns a Poller that is closed when the test ends.
func newPoller(t *testing.T) *Poller {
	t.Helper()
	p, err := New()
	require.NoError(t, err, "New")
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// assertSyscall checks that err is an *os.SyscallError for the named call.
func assertSyscall(t *testing.T, name string, err error) {
	t.Helper()
	var se *os.SyscallError
	if assert.ErrorAs(t, err, &se, "error type: wrap with os.NewSyscallError") {
		assert.Equal(t, name, se.Syscall, "system call named in the error")
	}
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

// openFDs lists this process's open descriptors, number to what each refers
// to, from /proc/self/fd.
func openFDs(t *testing.T) map[string]string {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err, "read /proc/self/fd")
	fds := make(map[string]string)
	for _, e := range entries {
		// The descriptor ReadDir used for the listing is closed by now, so
		// Readlink fails for it and it is left out.
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil {
			fds[e.Name()] = target
		}
	}
	return fds
}

// asleepInSyscall reports whether the thread whose /proc directory is task
// is asleep inside a system call other than the ones Go's runtime parks and
// spins in. The kernel writes the call's number first in task/syscall while
// the thread is off the CPU inside it, "running" while it runs, and -1 while
// it is outside the kernel.
func asleepInSyscall(t *testing.T, task string) bool {
	t.Helper()
	b, err := os.ReadFile(task + "syscall")
	require.NoError(t, err, "read %ssyscall", task)
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return false
	}
	nr, err := strconv.Atoi(fields[0])
	if err != nil || nr < 0 {
		return false
	}
	switch nr {
	case unix.SYS_FUTEX, unix.SYS_NANOSLEEP, unix.SYS_SCHED_YIELD:
		return false // the runtime's own waiting, not Wait's
	}
	return true
}

// signalPending reports whether sig is pending for the thread whose /proc
// directory is task: raised, but not yet delivered to a handler.
func signalPending(t *testing.T, task string, sig unix.Signal) bool {
	t.Helper()
	b, err := os.ReadFile(task + "status")
	require.NoError(t, err, "read %sstatus", task)
	for line := range strings.Lines(string(b)) {
		// SigPnd is the thread's own set of pending signals, a hex mask
		// with bit n-1 for signal n.
		if mask, ok := strings.CutPrefix(line, "SigPnd:"); ok {
			bits, err := strconv.ParseUint(strings.TrimSpace(mask), 16, 64)
			require.NoError(t, err, "parse SigPnd %q", mask)
			return bits&(1<<(uint(sig)-1)) != 0
		}
	}
	require.FailNow(t, "no SigPnd line in "+task+"status")
	return false
}
