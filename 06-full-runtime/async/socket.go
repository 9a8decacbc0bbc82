//go:build linux

package async

import (
	"fmt"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// listenBacklog is how many finished handshakes the kernel may queue for us
// before we accept them. Linux silently caps it at net.core.somaxconn (4096
// since Linux 5.4); Go's net package reads that sysctl, we simply ask for
// the usual cap. A burst of a thousand demo clients fits.
const listenBacklog = 4096

// listenTCP opens a non-blocking listening socket on addr ("127.0.0.1:0"
// picks a free port) and returns its descriptor and the address it got.
// It is what net.Listen does inside, minus the netpoller: socket, setsockopt,
// bind, listen, each a system call we can see.
func listenTCP(addr string) (int, netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return -1, netip.AddrPort{}, fmt.Errorf("listen address %q: %w", addr, err)
	}
	family := unix.AF_INET
	if ap.Addr().Is6() {
		family = unix.AF_INET6
	}
	// SOCK_NONBLOCK: every call on this socket returns EAGAIN instead of
	// sleeping. SOCK_CLOEXEC: a child process does not inherit it.
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, netip.AddrPort{}, os.NewSyscallError("socket", err)
	}
	bound, err := bindAndListen(fd, ap)
	if err != nil {
		unix.Close(fd)
		return -1, netip.AddrPort{}, err
	}
	return fd, bound, nil
}

// bindAndListen does the steps of listenTCP that can fail after the socket
// exists, so that listenTCP has one place that closes it.
func bindAndListen(fd int, ap netip.AddrPort) (netip.AddrPort, error) {
	// SO_REUSEADDR lets a restarted server bind a port whose old
	// connections still linger in TIME_WAIT; net.Listen sets it too.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return netip.AddrPort{}, os.NewSyscallError("setsockopt", err)
	}
	if err := unix.Bind(fd, sockaddr(ap)); err != nil {
		return netip.AddrPort{}, os.NewSyscallError("bind", err)
	}
	if err := unix.Listen(fd, listenBacklog); err != nil {
		return netip.AddrPort{}, os.NewSyscallError("listen", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, os.NewSyscallError("getsockname", err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)), nil
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port)), nil
	}
	return netip.AddrPort{}, fmt.Errorf("getsockname: unexpected address %T", sa)
}

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is6() {
		return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
}

// accept takes one finished connection off the listener's queue, already
// non-blocking and close-on-exec (accept4 sets both in the same call, so
// there is no window in which the new fd blocks or leaks into a child).
// It returns EAGAIN as it is, unwrapped, when nobody is waiting: that is
// the common case, and wrapping it would allocate every time.
//
// Unlike chapters 01 to 05, it calls accept4 itself, with no room for the
// peer's address: unix.Accept4 decodes that address into a new Sockaddr,
// about 200 bytes of garbage per connection that nobody here reads, and
// garbage is what a burst of ten thousand connections turns into resident
// memory (see chapters/benchmarks.md).
func accept(lfd int) (int, error) {
	for {
		fd, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(lfd), 0, 0,
			unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		switch {
		case errno == unix.EINTR:
			continue // a signal interrupted the call; nothing happened, ask again
		case errno == unix.ECONNABORTED:
			continue // the client reset before we got to it; take the next one
		case errno == unix.EAGAIN:
			return -1, errno
		case errno != 0:
			return -1, os.NewSyscallError("accept4", errno)
		}
		return int(fd), nil
	}
}
