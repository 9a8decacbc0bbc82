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
// It prints "listening on ADDR" once it is ready, and serves until it is
// killed.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/asyncio-go/tutorial/06-full-runtime/async"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: byteecho ADDR")
		os.Exit(2)
	}
	if err := serve(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "byteecho:", err)
		os.Exit(1)
	}
}

// serve runs the runtime on this goroutine, locked to its thread as
// chapter 06's server runs it, until the listener fails.
func serve(addr string) error {
	runtime.LockOSThread()
	rt, err := async.NewRuntime(async.Config{HoldProcessor: true})
	if err != nil {
		return err
	}
	defer rt.Close()
	ln, err := rt.Listen(addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Println("listening on", ln.Addr())
	_, err = async.BlockOn(rt, "accept", &acceptLoop{rt: rt, ln: ln})
	return err
}

// acceptLoop accepts connections until the listener fails, and spawns
// a task for each.
type acceptLoop struct {
	rt *async.Runtime
	ln *async.Listener
}

func (a *acceptLoop) Poll(cx *async.Context) async.Poll[struct{}] {
	for {
		r, ok := a.ln.PollAccept(cx).Value()
		switch {
		case !ok:
			return async.Pending[struct{}]()
		case errors.Is(r.Err, async.ErrClosed):
			return async.Ready(struct{}{})
		case r.Err != nil:
			continue // the listener backs off by itself on EMFILE and the like
		}
		async.Spawn(a.rt, "echo", &byteEcho{rt: a.rt, c: r.Value})
	}
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
				return e.finish()
			}
			e.out = e.buf[:r.Value]
		}
		w, ok := e.c.PollWrite(cx, e.out).Value()
		if !ok {
			return async.Pending[struct{}]()
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
// closing).
func (e *byteEcho) Drop() { e.c.Close() }
