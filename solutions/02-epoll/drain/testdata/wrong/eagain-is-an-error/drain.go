//go:build linux

// Package drain empties a non-blocking socket, as an edge-triggered epoll
// registration requires.
//
// Level-triggered epoll (the default) reports a socket on every epoll_wait
// for as long as it holds unread bytes. Edge-triggered epoll (EPOLLET)
// reports a change instead: new bytes arrived. If the event loop reads once
// and leaves bytes behind, no new change happens, so epoll_wait says nothing
// more about that socket until the peer sends again, which may be never if
// the peer is waiting for our reply. After an edge-triggered event we must
// therefore read until the kernel answers EAGAIN: empty, for now.
package drain

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// read is the system call Drain makes, unix.Read. Drain calls read, never
// unix.Read directly: the tests replace it to make answers that a real
// socket gives too rarely to test (EINTR, a short read with bytes still
// waiting) happen on cue.
var read = unix.Read

// Drain reads the non-blocking socket fd into buf until the kernel has
// nothing more to give, and passes each chunk read to sink. It returns
// eof == true when the peer has finished sending (a read returned 0); every
// byte the peer sent has gone to sink by then. It returns eof == false and a
// nil error when the socket is empty for now (EAGAIN): wait for the next
// edge. Other errors are returned, wrapped in an *os.SyscallError.
//
// sink receives buf[:n] and the next read overwrites it: sink must copy
// whatever it keeps. buf must not be empty.
func Drain(fd int, buf []byte, sink func([]byte)) (eof bool, err error) {
	// A production loop may stop early after some bytes, so one busy
	// connection cannot starve the others; with EPOLLET it must then
	// remember to come back on its own, since no new edge will tell it to.
	for {
		n, err := read(fd, buf)
		switch {
		case errors.Is(err, unix.EINTR):
			// A signal arrived before any byte was copied; read again.
			continue
		// WRONG: no case for EAGAIN, so an empty socket is an error.
		case err != nil:
			return false, os.NewSyscallError("read", err)
		case n == 0:
			// The peer shut down its sending side and we have read all it
			// sent before that.
			return true, nil
		}
		// A short read (n < len(buf)) says nothing about what is left:
		// only EAGAIN says the socket is empty, so read again.
		sink(buf[:n])
	}
}
