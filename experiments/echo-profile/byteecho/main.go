//go:build linux

// Command byteecho serves echo on chapter 06's runtime the way the
// benchmark's peers do: every byte a client sends is written back as it
// came, with no lines, no limits and no deadlines. It is chapter 06's
// echo without its application, so that experiments/echo-profile can set
// the runtime beside tokio's like with like (bench/peers/tokio echoes
// bytes too).
//
//	byteecho 127.0.0.1:0
//
// It prints "listening on ADDR" once it is ready, and serves until SIGINT
// or SIGTERM; then it closes every connection and exits.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"

	"github.com/asyncio-go/tutorial/06-full-runtime/async"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: byteecho ADDR")
		os.Exit(2)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	err := serve(os.Args[1], func(addr string) { fmt.Println("listening on", addr) }, stop)
	if err != nil {
		fmt.Fprintln(os.Stderr, "byteecho:", err)
		os.Exit(1)
	}
}

// serve runs the runtime on this goroutine, locked to its thread as
// chapter 06's server runs it, and calls ready with the address it
// listens on. It returns once stop delivers, with every connection
// closed.
func serve[T any](addr string, ready func(addr string), stop <-chan T) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rt, err := async.NewRuntime(async.Config{HoldProcessor: true})
	if err != nil {
		return err
	}
	defer rt.Close() // drops the connections' tasks: each closes its connection
	ln, err := rt.Listen(addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	ready(ln.Addr().String())
	a := &acceptLoop{rt: rt, ln: ln}
	go func() {
		<-stop
		// The mirror of chapter 05's order: say so, then look for the
		// waker. The loop stores its waker, then looks at stopping; so
		// either it sees stopping, or we see its waker and wake it.
		a.stopping.Store(true)
		if w := a.waker.Load(); w != nil {
			w.Wake()
		}
	}()
	_, err = async.BlockOn(rt, "accept", a)
	return err
}

// acceptLoop accepts connections, and spawns a task for each, until it
// is told to stop.
type acceptLoop struct {
	rt       *async.Runtime
	ln       *async.Listener
	waker    atomic.Pointer[async.Waker] // this task's, for the goroutine that stops it
	stopping atomic.Bool
}

func (a *acceptLoop) Poll(cx *async.Context) async.Poll[struct{}] {
	a.waker.Store(cx.Waker)
	for !a.stopping.Load() {
		r, ok := a.ln.PollAccept(cx).Value()
		switch {
		case !ok:
			return async.Pending[struct{}]()
		case errors.Is(r.Err, async.ErrClosed):
			return async.Ready(struct{}{})
		case r.Err != nil:
			continue // EMFILE and the like: the listener backs off by itself
		}
		async.Spawn(a.rt, "echo", &byteEcho{rt: a.rt, c: r.Value})
	}
	return async.Ready(struct{}{})
}

// byteEcho reads what has arrived into a buffer borrowed from the
// runtime's pool, writes it all back, and returns the buffer: a
// connection between reads holds none, as chapter 06's echo session.
type byteEcho struct {
	rt  *async.Runtime
	c   *async.Conn
	buf []byte // borrowed while an echo is being written
	out []byte // what is left of it to write
}

func (e *byteEcho) Poll(cx *async.Context) async.Poll[struct{}] {
	for {
		if len(e.out) == 0 {
			if e.buf == nil {
				e.buf = e.rt.Buffers().Get()
			}
			r, ok := e.c.PollRead(cx, e.buf[:cap(e.buf)]).Value()
			if !ok {
				e.rt.Buffers().Put(e.buf)
				e.buf = nil
				return async.Pending[struct{}]()
			}
			if r.Err != nil {
				return e.finish() // EOF, or a reset: nothing more to echo
			}
			e.out = e.buf[:r.Value]
		}
		w, ok := e.c.PollWrite(cx, e.out).Value()
		if !ok {
			return async.Pending[struct{}]() // a slow reader: it holds only its own buffer
		}
		if w.Err != nil {
			return e.finish()
		}
		e.out = e.out[w.Value:]
	}
}

func (e *byteEcho) finish() async.Poll[struct{}] {
	e.rt.Buffers().Put(e.buf)
	e.buf, e.out = nil, nil
	e.c.Close()
	return async.Ready(struct{}{})
}

// Drop closes the connection of a task dropped unfinished (the runtime
// closing, at the end).
func (e *byteEcho) Drop() { e.c.Close() }
