// Idle measures what idle connections cost chapter 06's server in CPU: it
// starts the server with -listen and a long idle limit, opens -n
// connections that send nothing, and reads the server's CPU time (from
// /proc/PID/stat, in ticks of 10 ms) when they are connected and -wait
// later; it lists the server's threads and the kernel function each one
// sleeps in; one more client sends a line, to show the server still
// serves; then SIGTERM, and the server's summary:
//
//	go run ./experiments/idle -n 5000 -wait 20s
//
// Memory per idle connection is measured in chapters/benchmarks.md, with
// the care it needs (go run ./bench -only idle).
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/asyncio-go/tutorial/experiments/internal/lab"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "idle:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	flags := flag.NewFlagSet("idle", flag.ContinueOnError)
	n := flags.Int("n", 5000, "idle connections to open")
	wait := flags.Duration("wait", 20*time.Second, "how long to leave them idle before looking again")
	if err := flags.Parse(args); err != nil {
		return err
	}
	bin, cleanup, err := lab.Build("06-full-runtime")
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Fprintln(out, "server: 06-full-runtime -listen 127.0.0.1:0 -idle 10m")
	srv, err := lab.Start(bin, "-idle", "10m") // nobody is closed for idling during the experiment
	if err != nil {
		return err
	}
	defer srv.Kill()

	look := func(when string) error {
		ticks, err := lab.CPUTicks(srv.PID)
		if err != nil {
			return err
		}
		fds, err := lab.OpenFDs(srv.PID)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-22s cpu %d ticks, %d descriptors open\n", when+":", ticks, fds)
		return nil
	}
	if err := look("before"); err != nil {
		return err
	}
	idlers, err := lab.Idlers(srv.Addr, *n)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d idle connections open\n", len(idlers))
	time.Sleep(time.Second) // let the server accept the last of them
	if err := look("connected, 1 s later"); err != nil {
		return err
	}
	time.Sleep(*wait)
	if err := look(fmt.Sprintf("%v later", *wait)); err != nil {
		return err
	}
	fmt.Fprintln(out, "threads of the server, and where each one sleeps in the kernel:")
	if err := lab.PrintThreads(out, srv.PID); err != nil {
		return err
	}
	echo, err := oneLine(srv.Addr, "hello\n")
	if err != nil {
		return fmt.Errorf("one more client: %w", err)
	}
	fmt.Fprintf(out, "one more client sent %q, half-closed, and got back %q before the server closed\n", "hello\n", echo)
	if err := look("after that client"); err != nil {
		return err
	}

	fmt.Fprintln(out, "SIGTERM, and how the idle connections ended:")
	if err := srv.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	lab.Endings(out, idlers, 30*time.Second)
	summary, err := srv.Wait()
	fmt.Fprint(out, summary)
	return err
}

// oneLine sends line to addr, half-closes, and returns what came back
// before the server closed: the session has ended when it returns.
func oneLine(addr, line string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, line); err != nil {
		return "", err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return "", err
	}
	got, err := io.ReadAll(c)
	return string(got), err
}
