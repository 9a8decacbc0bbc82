// Flood shows what one client that never stops sending does to the
// others on chapter 06's one thread. It starts the echo server, times the
// echo of a ping (a client that connects, sends one line and waits for it
// to come back) twice on its own, then starts a flood, a client that
// sends lines as fast as it can for -for while another goroutine reads
// its echoes and throws them away, and times -pings more pings beside it.
// Then the flood's totals and the server's summary.
//
//	go run ./experiments/flood
//	go run ./experiments/flood -io-budget -1
//
// -io-budget is passed to the server: -1 runs it without an I/O budget,
// as it was before chapter 06 added one.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/asyncio-go/tutorial/experiments/internal/lab"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	flags := flag.NewFlagSet("flood", flag.ContinueOnError)
	length := flags.Duration("for", 5*time.Second, "how long the flood sends")
	pings := flags.Int("pings", 5, "pings beside the flood")
	every := flags.Duration("every", 500*time.Millisecond, "the pause after each ping")
	budget := flags.Int("io-budget", 0, "passed to the server: 0 its default, -1 no I/O budget")
	if err := flags.Parse(args); err != nil {
		return err
	}
	bin, cleanup, err := lab.Build("06-full-runtime")
	if err != nil {
		return err
	}
	defer cleanup()
	var serverArgs []string
	if *budget != 0 {
		serverArgs = []string{"-io-budget", strconv.Itoa(*budget)}
	}
	fmt.Fprintln(out, strings.TrimSpace("server: 06-full-runtime -listen 127.0.0.1:0 "+strings.Join(serverArgs, " ")))
	srv, err := lab.Start(bin, serverArgs...)
	if err != nil {
		return err
	}
	defer srv.Kill()

	fmt.Fprintln(out, "pings alone:")
	if err := ping(out, srv.Addr, 2, 100*time.Millisecond); err != nil {
		return err
	}
	done := make(chan string, 1)
	go func() { done <- flood(srv.Addr, *length) }()
	time.Sleep(min(time.Second, *length/5)) // the flood is under way
	fmt.Fprintln(out, "pings beside the flood:")
	if err := ping(out, srv.Addr, *pings, *every); err != nil {
		return err
	}
	fmt.Fprint(out, <-done)
	summary, err := srv.Stop(syscall.SIGTERM)
	fmt.Fprint(out, summary)
	return err
}

// ping connects to addr n times, every apart, sends one line each time,
// and prints how long its echo took to come back.
func ping(out io.Writer, addr string, n int, every time.Duration) error {
	for i := range n {
		start := time.Now()
		c, err := net.DialTimeout("tcp", addr, 30*time.Second)
		if err != nil {
			return err
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		fmt.Fprintf(c, "ping %d\n", i)
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil {
			return fmt.Errorf("ping %d: %w", i, err)
		}
		fmt.Fprintf(out, "ping %d: echo %q after %v\n", i, line, time.Since(start).Round(time.Microsecond))
		time.Sleep(every)
	}
	return nil
}

// flood sends lines to addr as fast as it can for d, in 1 MiB writes of
// 64-byte lines, while a goroutine reads the echoes and throws them away;
// then it half-closes, waits for the last echo, and says how much went
// each way.
func flood(addr string, d time.Duration) string {
	c, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return "flood: " + err.Error() + "\n"
	}
	defer c.Close()
	got := make(chan int64, 1)
	go func() { n, _ := io.Copy(io.Discard, c); got <- n }()
	buf := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq\n"), 16384)
	var sent int64
	for end := time.Now().Add(d); time.Now().Before(end); {
		n, err := c.Write(buf)
		sent += int64(n)
		if err != nil {
			return fmt.Sprintf("flood: sent %d MiB, then %v\n", sent>>20, err)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	return fmt.Sprintf("flood: sent %d MiB in %v, got %d MiB back\n", sent>>20, d, <-got>>20)
}
