//go:build linux

package main

import "io"

// The runtime's contract: everything chapters 02 to 05 built, behind one
// value, plus timers and sockets. It runs on the goroutine that calls
// BlockOn or Run, which should be locked to its OS thread; only Wake (and
// so a Waker) may be used from other goroutines.
//
//	NewRuntime(trace, log)    the reactor, the executor and the timers.
//	Spawn(rt, name, f)        runs f as a task of its own; returns its JoinHandle.
//	BlockOn(rt, name, f)      runs f, and every other task meanwhile, until f finishes.
//	rt.Sleep(d)               a future that is Ready d from now.
//	Timeout(rt, d, f)         f's result, or ErrTimeout after d (then f is dropped).
//	rt.Listen(addr)           a listening TCP socket; Accept, then Read, ReadLine, Write,
//	                          WriteAll on the connection (net.go).
//	rt.Close()                drops every task left, then closes the epoll instance.
//
// Join and Select from chapter 03 compose any of these futures.

// Runtime is a reactor, an executor and timers on one thread.
type Runtime struct {
	reactor *Reactor
	ex      *Executor
	timers  *Timers
	trace   tracer
	scratch []byte // where reads land before they are copied to a connection's buffer; one per runtime
}

// NewRuntime makes a runtime. trace, if not nil, receives the life of the
// loop one step a line; log receives the report of a task that panicked.
func NewRuntime(trace, log io.Writer) (*Runtime, error) {
	reactor, err := NewReactor(tracer{trace})
	if err != nil {
		return nil, err
	}
	timers := &Timers{trace: tracer{trace}}
	return &Runtime{
		reactor: reactor,
		ex:      NewExecutor(reactor, timers, tracer{trace}, log),
		timers:  timers,
		trace:   tracer{trace},
		scratch: make([]byte, readSize),
	}, nil
}

// Spawn runs f as a task of its own and returns its JoinHandle.
func Spawn[T any](rt *Runtime, name string, f Future[T]) *JoinHandle[T] {
	return spawn(rt.ex, name, f)
}

// BlockOn runs f, and every other task meanwhile, until f has finished,
// and returns its result, or an error if it panicked.
func BlockOn[T any](rt *Runtime, name string, f Future[T]) (T, error) {
	return blockOn(rt.ex, name, f)
}

// Run runs every task until none is left.
func (rt *Runtime) Run() error { return rt.ex.Run() }

// Close drops every task that has not finished (each closes what it
// holds), then closes the epoll instance and its eventfd.
func (rt *Runtime) Close() error {
	rt.ex.Close()
	return rt.reactor.Close()
}

// readSize is how much one read may take: 64 KiB, so that a client
// sending in bulk is served in few system calls. The buffer is the
// runtime's, shared by every connection; a connection keeps only the
// bytes it has not returned yet.
const readSize = 64 << 10
