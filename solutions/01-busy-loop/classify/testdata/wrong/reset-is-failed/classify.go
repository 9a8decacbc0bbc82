//go:build linux

// Package classify turns the result of one read on a non-blocking socket into
// the decision an event loop must make about that connection.
//
// The busy loop of chapter 01 calls unix.Read on every socket, again and
// again. Each call ends in one of five ways, and each asks for something
// different: use the bytes, come back later, or close this connection (and
// only this one). The classic bug of non-blocking code is to mix two of them
// up: an empty socket (n == -1, EAGAIN) taken for a closed one (n == 0), so
// that a healthy but quiet client is hung up on.
package classify

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Result is what one read on a non-blocking socket told us, and so what the
// event loop should do with the connection next.
type Result int

// The outcomes of a read. Only Data and WouldBlock keep the connection open.
const (
	Data       Result = iota // n > 0 bytes arrived: use them, then read again
	WouldBlock               // no bytes yet (EAGAIN), or a signal cut the call short (EINTR): keep the connection, try later
	EOF                      // n == 0 and no error: the peer has finished sending, and we have read everything it sent
	Reset                    // ECONNRESET: the peer aborted the connection; close it, and only it
	Failed                   // any other error: the descriptor is unusable; close it and report the error
)

// String returns the constant's name, so that messages read "EOF", not "2".
func (r Result) String() string {
	switch r {
	case Data:
		return "Data"
	case WouldBlock:
		return "WouldBlock"
	case EOF:
		return "EOF"
	case Reset:
		return "Reset"
	case Failed:
		return "Failed"
	}
	return fmt.Sprintf("Result(%d)", int(r))
}

// Classify reports what a read on a non-blocking socket returned. Pass n and
// err exactly as unix.Read gave them (on an error unix.Read returns n == -1).
// The buffer given to the read must not be empty, or n == 0 would not mean
// EOF. Errors wrapped with %w or os.NewSyscallError are recognised.
func Classify(n int, err error) Result {
	// Look at err before n. On an error n is not a count: unix.Read gives -1,
	// and wrappers such as os.File.Read give 0, which would pass for EOF.
	// errors.Is compares the errno inside any wrapping.
	switch {
	case err == nil && n > 0:
		return Data
	case err == nil:
		// read(2) on a stream socket returns 0 only after the peer shut down
		// its sending side (close or shutdown) and we have read every byte
		// that came before. Nothing more will ever arrive.
		return EOF
	case errors.Is(err, unix.EAGAIN):
		// The receive queue is empty and the socket is non-blocking, so the
		// kernel refuses to wait. On Linux EWOULDBLOCK is the same errno, so
		// this case covers both names.
		return WouldBlock
	case errors.Is(err, unix.EINTR):
		// A signal arrived before any byte was copied. Nothing happened to
		// the connection; reading again is the whole cure.
		return WouldBlock
	// WRONG: no case for ECONNRESET, so it falls to Failed.
	default:
		return Failed
	}
}
