//go:build linux

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if addr := os.Getenv(clientsEnv); addr != "" {
		os.Exit(clientsMain(addr, os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs passed in, so tests can call it.
// It returns the process's exit code.
func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet(program, flag.ContinueOnError)
	flags.SetOutput(stderr)
	listen := flags.String("listen", "", "serve on `ADDR` (say 127.0.0.1:7000) until Ctrl-C or SIGTERM, instead of the demo")
	nClients := flags.Int("clients", 5, "demo: how many clients are connected to the server at the same time")
	messages := flags.Int("messages", 10, "demo: how many lines each client sends")
	pause := flags.Duration("pause", 250*time.Millisecond, "demo: how long each client stays idle before each line")
	grace := flags.Duration("grace", 5*time.Second, "on shutdown, how long to wait for sessions to finish before closing them")
	httpMode := flags.Bool("http", false, "serve minimal HTTP/1.1 (GET /plaintext) instead of echo; the demo's clients send GET requests")
	idle := flags.Duration("idle", 30*time.Second, "close a client that has not sent a whole line, or read its answers, for this long "+
		"(the demo, without -listen, uses 1s or 4 pauses, whichever is longer, unless -idle is given)")
	ioBudget := flags.Int("io-budget", 0, "reads and writes one poll of a task may make before it yields; 0: the runtime's default (128); "+
		"-1: no budget, as before chapter 06 added it (to see what it is for: chapters/reliability.md)")
	linger := flags.Bool("linger", true, "close gently (shut our side, drain the client's last bytes) after a refusal and at shutdown; "+
		"-linger=false closes at once, as before chapter 06 added it, and a client still sending draws a reset")
	child := flags.Bool("child-clients", false, "demo: run the clients in a child process (automatic when one process cannot hold both ends)")
	hold := flags.Bool("hold-processor", true, "with -listen: the loop keeps its processor through the first millisecond of each sleep, "+
		"out of reach of Go's scheduler monitor (chapters/benchmarks.md); false gives it up at once, as the demo always does "+
		"(its clients are goroutines of this process, and would wait)")
	trace := flags.Bool("trace", false, "print the life of the loop, one step a line, to stderr: timers fired, each epoll_wait's timeout and why, "+
		"ready descriptors, wakers called, tasks polled and what they returned")
	if err := flags.Parse(args); err != nil {
		return 2
	}

	addr := "127.0.0.1:0" // loopback, and a port the kernel picks
	if *listen != "" {
		addr = *listen
	}
	// Every connection costs the server one descriptor, and a client in
	// the same process one more. Go raises the soft limit to the hard one
	// at start-up; if both ends do not fit, the clients run in a child.
	limit := openFileLimit()
	if *listen == "" && *nClients+reservedFDs > limit {
		fmt.Fprintf(stderr, "%s: -clients %d needs about %d open files in the server, but this process may open %d; "+
			"raise the limit (ulimit -Hn, or LimitNOFILE= for a systemd service) or ask for fewer clients\n",
			program, *nClients, *nClients+reservedFDs, limit)
		return 1
	}
	inChild := *child || 2**nClients+reservedFDs > limit

	if *listen == "" && !flagGiven(flags, "idle") {
		// Short enough that the demo's idler is closed by the timer
		// within the demo, long enough for its clients' pauses.
		*idle = max(time.Second, 4**pause)
	}
	var traceTo io.Writer
	if *trace {
		traceTo = stderr
	}
	srv, err := newServer(serverConfig{addr: addr, grace: *grace, idle: *idle, trace: traceTo, log: stderr,
		ioBudget: *ioBudget, abrupt: !*linger, hold: *listen != "" && *hold})
	if err != nil {
		fmt.Fprintln(stderr, program+":", err)
		return 1
	}
	clients := runClients
	if *httpMode {
		srv.open, clients = newHTTPSession, runHTTPClients
	}
	start := time.Now()
	done := startServer(srv)

	var echoed int
	var clientErr error
	var wit *witnesses
	if *listen == "" {
		wit = startWitnesses(srv.addr.String(), srv.idle, *httpMode)
	}
	if *listen != "" {
		// os/signal delivers SIGINT and SIGTERM on a goroutine of its
		// own; this one passes them on to the loop through shutdown,
		// that is, through a waker. Ask for them before saying we
		// listen, so that no signal can come before we are ready.
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
		fmt.Fprintf(stdout, "listening on %s; try: nc %s %d (Ctrl-C or SIGTERM stops)\n", srv.addr, srv.addr.Addr(), srv.addr.Port())
		sig := <-stop
		// From now on a second Ctrl-C kills the process at once, as it
		// would any program: a way out if draining takes too long.
		signal.Stop(stop)
		fmt.Fprintf(stdout, "%v: shutting down, up to %v for the sessions in flight\n", sig, *grace)
	} else if inChild {
		echoed, clientErr = runClientsInChild(srv.addr.String(), *nClients, *messages, *pause, *httpMode, stderr)
	} else {
		echoed, clientErr = clients(srv.addr.String(), *nClients, *messages, *pause)
	}
	if wit != nil {
		clientErr = errors.Join(clientErr, wit.idlerDone(), wit.quietStayer())
	}
	srv.shutdown() // from this goroutine: the loop hears it through the eventfd
	if wit != nil {
		clientErr = errors.Join(clientErr, wit.stayerDone(*grace+clientTimeout))
	}
	res := <-done

	summary{stats: srv.stats, messages: echoed, http: *httpMode, listen: *listen != "", wall: time.Since(start), cpu: res.cpu,
		res: readResources(clientsWhere(*listen != "", inChild))}.print(stdout)
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

// flagGiven reports whether the command line set the flag named name.
func flagGiven(flags *flag.FlagSet, name string) bool {
	given := false
	flags.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// clientsWhere says where the demo's clients ran, for readResources.
func clientsWhere(listening, inChild bool) string {
	switch {
	case listening:
		return ""
	case inChild:
		return "in a child"
	}
	return "in process"
}

// reservedFDs is what the process needs besides connections: standard
// streams, the epoll instance, the eventfd, the listener, Go's own netpoller.
const reservedFDs = 64

// openFileLimit is how many descriptors this process may have open.
func openFileLimit() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return 1 << 30
	}
	return int(rl.Cur)
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
