//go:build linux

package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs passed in, so tests can call it.
// It returns the process's exit code.
func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet(program, flag.ContinueOnError)
	flags.SetOutput(stderr)
	listen := flags.String("listen", "", "serve on `ADDR` (say 127.0.0.1:7000) until Ctrl-C, instead of the demo")
	clients := flags.Int("clients", 5, "demo: how many clients are connected to the server at the same time")
	messages := flags.Int("messages", 10, "demo: how many lines each client sends")
	pause := flags.Duration("pause", 250*time.Millisecond, "demo: how long each client stays idle before each line")
	trace := flags.Bool("trace", false, "print every poll and its result, one line each, to stderr (millions: use with -pause 1ms)")
	if err := flags.Parse(args); err != nil {
		return 2
	}

	addr := "127.0.0.1:0" // loopback, and a port the kernel picks
	if *listen != "" {
		addr = *listen
	}
	var traceTo io.Writer
	if *trace {
		traceTo = stderr
	}
	srv, err := newServer(addr, traceTo)
	if err != nil {
		fmt.Fprintln(stderr, program+":", err)
		return 1
	}
	start := time.Now()
	done := startServer(srv)

	var echoed int
	var clientErr error
	if *listen != "" {
		fmt.Fprintf(stdout, "listening on %s; try: nc %s %d (Ctrl-C stops)\n", srv.addr, srv.addr.Addr(), srv.addr.Port())
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
		<-stop
		signal.Stop(stop)
	} else {
		echoed, clientErr = runClients(srv.addr.String(), *clients, *messages, *pause)
	}
	srv.shutdown()
	res := <-done

	summary{stats: srv.stats, messages: echoed, wall: time.Since(start), cpu: res.cpu, listen: *listen != ""}.print(stdout)
	if res.err != nil {
		fmt.Fprintln(stderr, program+": server:", res.err)
		return 1
	}
	if clientErr != nil {
		fmt.Fprintln(stderr, program+": check failed:", clientErr)
		return 1
	}
	return 0
}

// served is how serve ended and what it cost.
type served struct {
	err error
	cpu time.Duration // CPU time the event-loop thread used while serving
}

// startServer runs srv's event loop on a goroutine of its own, locked to
// its OS thread: the loop is one thread, as in any reactor, and its CPU
// time can be read for that thread alone. The channel delivers the end.
func startServer(srv *server) <-chan served {
	done := make(chan served, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		before := threadCPU()
		err := srv.serve()
		done <- served{err: err, cpu: threadCPU() - before}
	}()
	return done
}
