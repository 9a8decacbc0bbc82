package readline

import (
	"errors"
	"io"
)

// ErrLineTooLong is ReadLine's error for a line longer than its limit.
var ErrLineTooLong = errors.New("line too long")

// Result is a value or an error: what a fallible future finishes with,
// since Go has no tuple to put in Poll[T].
type Result[T any] struct {
	Value T
	Err   error
}

// readSize is how much one read may take: 64 KiB, as in the chapter,
// where it is the size of the runtime's scratch buffer, which every read
// of every connection lands in.
const readSize = 64 << 10

// source is where a Conn's bytes come from. In the chapter it is a
// non-blocking socket, read(2) into the runtime's scratch buffer; here it
// is a script that the tests write (helpers_test.go). Its read keeps the
// contract of the chapter's Conn.read:
//
//	p, nil        up to readSize bytes. p is the source's buffer, reused by the
//	              next read: copy what you need to keep.
//	nil, nil      EAGAIN: nothing to read now. Read again only after the waker
//	              you handed over has been called: with edge-triggered epoll,
//	              the kernel says "readable" once, when data arrives.
//	nil, io.EOF   the peer shut its write side: nothing more will come.
//	nil, err      anything else: the connection is broken.
type source interface {
	read() ([]byte, error)
}

// Conn is one connection. It keeps the bytes read but not yet returned as
// a line; nothing else, so an idle connection costs a few dozen bytes.
// There is nothing to change in this file.
type Conn struct {
	src    source
	in     []byte // read from the source, not yet returned by ReadLine
	eof    bool   // the peer shut its write side
	reader *Waker // the task waiting for bytes, handed over by wakeOn
}

// read makes one read from the source, as described there, and notes in
// c.eof when it has said io.EOF.
func (c *Conn) read() ([]byte, error) {
	data, err := c.src.read()
	if err == io.EOF {
		c.eof = true
	}
	return data, err
}

// wakeOn hands w over to be woken when the connection is next readable.
// In the chapter this is c.rt.reactor.WakeOn(c.fd, Readable, w): the
// reactor keeps w and calls it when epoll_wait reports the socket. Call it
// only after read said EAGAIN, then return Pending.
func (c *Conn) wakeOn(w *Waker) {
	c.reader = w
}
