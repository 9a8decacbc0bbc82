// Misbehave runs chapter 06's echo server with a short idle limit and a
// trace, and three clients at once: one that sends a line every -every
// (a good client), one that says nothing, and one that sends a line one
// byte longer than the server accepts. It prints what each client got
// back, two lines of the server's summary after SIGTERM (the connections
// and the timers), and the lines of the trace
// that show the timers: each sleep's timeout, each timer that fired, and
// each session's end.
//
//	go run ./experiments/misbehave
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/asyncio-go/tutorial/experiments/internal/lab"
)

// maxLine is the echo server's limit (06-full-runtime/session.go).
const maxLine = 64 << 10

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "misbehave:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	flags := flag.NewFlagSet("misbehave", flag.ContinueOnError)
	idle := flags.Duration("idle", 2*time.Second, "the server's idle limit")
	lines := flags.Int("lines", 5, "how many lines the good client sends")
	every := flags.Duration("every", time.Second, "the good client's pause before each line")
	if err := flags.Parse(args); err != nil {
		return err
	}
	bin, cleanup, err := lab.Build("06-full-runtime")
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Fprintf(out, "server: 06-full-runtime -listen 127.0.0.1:0 -idle %v -trace\n", *idle)
	srv, err := lab.Start(bin, "-idle", idle.String(), "-trace")
	if err != nil {
		return err
	}
	defer srv.Kill()

	good := make(chan string, 1)
	go func() {
		var sent bytes.Buffer
		for i := range *lines {
			fmt.Fprintf(&sent, "line %d\n", i+1)
		}
		good <- talk(srv.Addr, func(c net.Conn) error {
			for line := range strings.Lines(sent.String()) {
				time.Sleep(*every)
				if _, err := io.WriteString(c, line); err != nil {
					return err
				}
			}
			return c.(*net.TCPConn).CloseWrite()
		})
	}()
	time.Sleep(300 * time.Millisecond)
	silent := make(chan string, 1)
	go func() { silent <- talk(srv.Addr, func(net.Conn) error { return nil }) }()
	time.Sleep(300 * time.Millisecond)
	long := make(chan string, 1)
	go func() {
		long <- talk(srv.Addr, func(c net.Conn) error {
			_, err := c.Write(bytes.Repeat([]byte("a"), maxLine+1)) // no newline
			return err
		})
	}()
	fmt.Fprintf(out, "the good client got back:\n%s", <-good)
	fmt.Fprintf(out, "the silent client got:\n%s", <-silent)
	fmt.Fprintf(out, "the long-line client got:\n%s", <-long)

	fmt.Fprintln(out, "SIGTERM, and the server's summary, its connections: and timers: lines:")
	summary, err := srv.Stop(syscall.SIGTERM)
	for line := range strings.Lines(summary) {
		if strings.HasPrefix(line, "connections:") || strings.HasPrefix(line, "timers:") {
			fmt.Fprint(out, line)
		}
	}
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	fmt.Fprintln(out, "the trace's sleeps, timers and session ends:")
	for line := range strings.Lines(srv.Stderr()) {
		if strings.Contains(line, "epoll_wait, timeout") || strings.Contains(line, "timer fired") || strings.Contains(line, "session:") {
			fmt.Fprint(out, line)
		}
	}
	return nil
}

// talk connects to addr, runs send, and returns everything the server
// sent until it closed the connection (or what went wrong).
func talk(addr string, send func(net.Conn) error) string {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err.Error() + "\n"
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	if err := send(c); err != nil {
		return "sending: " + err.Error() + "\n"
	}
	got, err := io.ReadAll(c)
	if err != nil {
		return string(got) + "then: " + err.Error() + "\n"
	}
	return string(got)
}
