//go:build linux

package main

import (
	"errors"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"
)

// server is an echo server that owns a listening socket and every
// connection accepted from it. All its fields but mu belong to the one
// goroutine running serve; shutdown is the only method safe to call from
// another goroutine.
type server struct {
	lfd   int            // the listening socket
	addr  netip.AddrPort // where it listens, with the port the kernel chose
	conns []*conn        // open connections, visited in this order
	buf   []byte         // the one read buffer, shared by all connections
	stats stats

	mu     sync.Mutex // guards closed, so shutdown never touches a reused fd
	closed bool       // lfd has been closed by serve
}

func newServer(addr string) (*server, error) {
	lfd, bound, err := listenTCP(addr)
	if err != nil {
		return nil, err
	}
	return &server{lfd: lfd, addr: bound, buf: make([]byte, readSize)}, nil
}

// shutdown asks serve to return. It may be called from any goroutine.
//
// shutdown(2) on a listening socket takes it out of the LISTEN state, and
// every later accept4 on it fails with EINVAL; that is how the loop learns
// to stop, without a flag it would have to check or a second descriptor.
func (s *server) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		unix.Shutdown(s.lfd, unix.SHUT_RDWR)
	}
}

// serve runs the busy loop until shutdown is called. Each iteration tries
// to accept one connection, then gives every connection a turn. Nothing in
// it ever waits: when no client has anything to say, the loop simply goes
// round again, millions of times a second.
func (s *server) serve() error {
	defer s.closeAll()
	for {
		s.stats.iterations++
		worked := false

		s.stats.tries++
		fd, err := accept(s.lfd)
		switch {
		case err == nil:
			s.conns = append(s.conns, &conn{fd: fd})
			s.stats.accepted++
			worked = true
		case errors.Is(err, unix.EAGAIN):
			s.stats.emptyTries++ // nobody is waiting to be accepted; not an error
		case errors.Is(err, unix.EINVAL):
			return nil // shutdown was called
		default:
			// EMFILE, ENFILE, ENOBUFS: out of descriptors or memory for
			// now. Keep serving the connections we have; the next
			// iteration tries again. (Chapter 06 backs off instead.)
			s.stats.acceptErrors++
		}

		for i := 0; i < len(s.conns); {
			c := s.conns[i]
			progressed, err := s.service(c)
			worked = worked || progressed
			if err != nil || c.done() {
				s.closeConn(c)
				// Order does not matter: move the last one into the gap.
				s.conns[i] = s.conns[len(s.conns)-1]
				s.conns = s.conns[:len(s.conns)-1]
				continue
			}
			i++
		}

		if worked {
			s.stats.busy++
		}
	}
}

// service gives one connection its turn: send what is pending, read if
// there is room, and send what was read at once. It reports whether
// anything happened, so the loop can count how often it went round for
// nothing.
func (s *server) service(c *conn) (progressed bool, err error) {
	n, err := c.flush()
	if err != nil {
		return true, err
	}
	progressed = n > 0
	if !c.wantsRead() {
		return progressed, nil
	}
	s.stats.tries++
	n, err = c.fill(s.buf)
	if err != nil {
		return true, err
	}
	if n == 0 && !c.eof {
		s.stats.emptyTries++ // EAGAIN: this client had nothing to say
		return progressed, nil
	}
	s.stats.bytes += int64(n)
	s.stats.peakPending = max(s.stats.peakPending, len(c.out))
	_, err = c.flush()
	return true, err
}

func (s *server) closeConn(c *conn) {
	unix.Close(c.fd)
	s.stats.closed++
}

// closeAll closes every connection and then the listener, under mu so that
// a late shutdown cannot reach a descriptor number the kernel reuses.
func (s *server) closeAll() {
	for _, c := range s.conns {
		s.closeConn(c)
	}
	s.conns = nil
	s.mu.Lock()
	defer s.mu.Unlock()
	unix.Close(s.lfd)
	s.closed = true
}
