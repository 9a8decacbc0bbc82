// Emfile runs chapter 06's echo server with an open-file limit of -limit
// descriptors (ulimit -n) and an idle limit of -idle, and connects -n
// clients that say nothing: more than the server may accept. It lists the
// server's own descriptors first, then shows how many it has open and how
// much CPU it has used a second after the clients connected (accept4
// fails with EMFILE, and the server backs off instead of spinning), how
// every client's connection ended, the server's summary after SIGTERM,
// and the trace's accept lines: connections accepted (runs of them shown
// as one line) and each pause.
//
//	go run ./experiments/emfile
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/asyncio-go/tutorial/experiments/internal/lab"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "emfile:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	flags := flag.NewFlagSet("emfile", flag.ContinueOnError)
	limit := flags.Int("limit", 24, "the server's open-file limit")
	n := flags.Int("n", 30, "idle clients to connect")
	idle := flags.Duration("idle", 3*time.Second, "the server's idle limit, after which it closes a silent client")
	if err := flags.Parse(args); err != nil {
		return err
	}
	bin, cleanup, err := lab.Build("06-full-runtime")
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Fprintf(out, "server: 06-full-runtime -listen 127.0.0.1:0 -idle %v -trace, under ulimit -n %d\n", *idle, *limit)
	srv, err := lab.StartWithFileLimit(*limit, bin, "-idle", idle.String(), "-trace")
	if err != nil {
		return err
	}
	defer srv.Kill()
	fmt.Fprintln(out, "the server's descriptors before any client:")
	if err := lab.PrintFDs(out, srv.PID); err != nil {
		return err
	}

	idlers, err := lab.Idlers(srv.Addr, *n) // the backlog takes those the server cannot accept yet
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d idle clients connected\n", len(idlers))
	time.Sleep(time.Second)
	fds, err := lab.OpenFDs(srv.PID)
	if err != nil {
		return err
	}
	ticks, err := lab.CPUTicks(srv.PID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "1 s later: %d descriptors open in the server, %d ticks of CPU used\n", fds, ticks)
	fmt.Fprintln(out, "how the clients' connections ended:")
	lab.Endings(out, idlers, time.Minute)

	summary, err := srv.Stop(syscall.SIGTERM)
	fmt.Fprint(out, summary)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	fmt.Fprintln(out, "the trace's accept lines:")
	printAccepts(out, srv.Stderr())
	return nil
}

var acceptedRE = regexp.MustCompile(`^\s*([0-9.]+ ms)\s+accept: fd (\d+)$`)

// printAccepts prints the trace's accept lines, each run of accepted
// connections as one line.
func printAccepts(out io.Writer, trace string) {
	var first, last []string // the run of "accept: fd N" lines being collected
	count := 0
	flush := func() {
		switch count {
		case 0:
		case 1:
			fmt.Fprintf(out, "%s  accept: fd %s\n", first[1], first[2])
		default:
			fmt.Fprintf(out, "%s  accept: fd %s ... %s  accept: fd %s (%d connections)\n", first[1], first[2], last[1], last[2], count)
		}
		count = 0
	}
	for line := range strings.Lines(trace) {
		line = strings.TrimSuffix(line, "\n")
		if m := acceptedRE.FindStringSubmatch(line); m != nil {
			if count == 0 {
				first = m
			}
			last = m
			count++
			continue
		}
		if strings.Contains(line, "accept:") {
			flush()
			fmt.Fprintln(out, strings.TrimSpace(line))
		}
	}
	flush()
}
