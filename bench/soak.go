//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The soak: for a while, thousands of clients that each connect, send
// lines of random length (some longer than a read, a few in pieces),
// check every echo byte for byte, and then leave in one of three ways:
// politely (half-close, read to EOF), abruptly (a reset with data in
// flight), or by simply closing. The server is chapter 06 in a process of
// its own; before and after, we count its descriptors and its memory.

// soakStats are the clients' counts, printed by the client process.
type soakStats struct {
	sent, verified, resets, halfCloses, closes, connections, failures int64
}

func runSoak(argv []string, duration time.Duration, clients int, stdout, stderr io.Writer) int {
	srv, err := startServer(append(append([]string{}, argv...), "-idle", "10s"), false)
	if err != nil {
		fmt.Fprintln(stderr, "soak:", err)
		return 1
	}
	pid := srv.cmd.Process.Pid
	fds0, socks0, rss0 := countFDs(pid), countSockets(pid), readRSS(pid)
	fmt.Fprintf(stdout, "soak: %d clients for %v against chapter 06 (pid %d)\n", clients, duration, pid)
	fmt.Fprintf(stdout, "server at start: %d open descriptors (%d sockets), %.1f MiB RSS\n", fds0, socks0, float64(rss0)/(1<<20))

	self, _ := os.Executable()
	cmd := exec.Command(self, "-soak-process", srv.addr, strconv.Itoa(clients), duration.String())
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		fmt.Fprintln(stderr, "soak: clients:", err)
		srv.stop()
		return 1
	}
	var st soakStats
	fmt.Sscanf(string(out), "%d %d %d %d %d %d %d", &st.sent, &st.verified, &st.resets, &st.halfCloses, &st.closes, &st.connections, &st.failures)

	// The clients are gone; the server closes its side as it notices.
	// Wait for its sockets to come back down to the listener, then read
	// the figures. (Sockets are what a leak would be. The descriptor
	// total may also grow by two, once: Go's own netpoller, an epoll and
	// an eventfd, which the runtime opens the first time anything in the
	// process asks for it, and keeps.)
	var socks1 int
	for range 100 {
		if socks1 = countSockets(pid); socks1 <= socks0 {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling another process: there is nothing to wait on
	}
	fds1 := countFDs(pid)
	rss1, peak := readRSS(pid), readHWM(pid)
	fmt.Fprintf(stdout, "clients: %d connections; %d left politely (half-close), %d reset mid-stream, %d just closed\n",
		st.connections, st.halfCloses, st.resets, st.closes)
	fmt.Fprintf(stdout, "messages: %d sent, %d echoed back and verified byte for byte (the rest were in flight when their client reset)\n",
		st.sent, st.verified)
	fmt.Fprintf(stdout, "client failures: %d\n", st.failures)
	fmt.Fprintf(stdout, "server at end: %d open descriptors (%d sockets), %.1f MiB RSS (peak %.1f MiB)\n",
		fds1, socks1, float64(rss1)/(1<<20), float64(peak)/(1<<20))

	srv.cmd.Process.Signal(syscall.SIGTERM)
	err = srv.cmd.Wait()
	ok := err == nil && st.failures == 0 && socks1 == socks0 && fds1 <= fds0+2
	fmt.Fprintf(stdout, "server exit: %v\n", exitText(err))
	if !ok {
		fmt.Fprintln(stdout, "soak: FAILED")
		return 1
	}
	fmt.Fprintln(stdout, "soak: nothing lost, nothing leaked")
	return 0
}

func exitText(err error) string {
	if err == nil {
		return "0"
	}
	return err.Error()
}

func countFDs(pid int) int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(entries)
}

// countSockets counts the sockets among a process's descriptors.
func countSockets(pid int) int {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return -1
	}
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink(dir + "/" + e.Name()); err == nil && strings.HasPrefix(target, "socket:") {
			n++
		}
	}
	return n
}

func readHWM(pid int) int64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kib << 10
		}
	}
	return 0
}

// soakClientsMain runs the clients (in a process of their own, so that
// their descriptors do not count against the server's) and prints their
// counts.
func soakClientsMain(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("soak clients", flag.ContinueOnError)
	if err := flags.Parse(args); err != nil || flags.NArg() != 3 {
		fmt.Fprintln(stderr, "soak clients: want ADDR N DURATION")
		return 2
	}
	addr := flags.Arg(0)
	n, _ := strconv.Atoi(flags.Arg(1))
	d, _ := time.ParseDuration(flags.Arg(2))
	var st soakStats
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for id := range n {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(id), 42))
			for time.Now().Before(deadline) {
				if err := soakClient(addr, rng, &st); err != nil {
					atomic.AddInt64(&st.failures, 1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		fmt.Fprintln(stderr, "soak clients: first failure:", err)
	}
	fmt.Fprintf(stdout, "%d %d %d %d %d %d %d\n", st.sent, st.verified, st.resets, st.halfCloses, st.closes, st.connections, st.failures)
	return 0
}

// soakClient is one connection's life.
func soakClient(addr string, rng *rand.Rand, st *soakStats) error {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	tc := c.(*net.TCPConn)
	defer tc.Close()
	atomic.AddInt64(&st.connections, 1)
	tc.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(tc)
	for range 1 + rng.IntN(20) {
		line := randomLine(rng)
		atomic.AddInt64(&st.sent, 1)
		if rng.IntN(10) == 0 { // in two pieces, a pause apart
			cut := rng.IntN(len(line))
			if _, err := tc.Write(line[:cut]); err != nil {
				return err
			}
			time.Sleep(time.Millisecond)
			line2 := line[cut:]
			if _, err := tc.Write(line2); err != nil {
				return err
			}
		} else if _, err := tc.Write(line); err != nil {
			return err
		}
		if rng.IntN(50) == 0 { // reset with the echo in flight
			tc.SetLinger(0)
			atomic.AddInt64(&st.resets, 1)
			return nil
		}
		got := make([]byte, len(line))
		if _, err := io.ReadFull(r, got); err != nil {
			return fmt.Errorf("reading an echo of %d bytes: %w", len(line), err)
		}
		if !bytes.Equal(got, line) {
			return errors.New("an echo differs from what was sent")
		}
		atomic.AddInt64(&st.verified, 1)
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond) // a client that thinks between lines
	}
	if rng.IntN(2) == 0 {
		atomic.AddInt64(&st.closes, 1)
		return nil
	}
	atomic.AddInt64(&st.halfCloses, 1)
	if err := tc.CloseWrite(); err != nil {
		return err
	}
	rest, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("waiting for EOF after half-close: %w", err)
	}
	if len(rest) > 0 {
		return fmt.Errorf("%d stray bytes after the last echo", len(rest))
	}
	return nil
}

// randomLine is a line of 1 byte to 16 KiB, mostly short.
func randomLine(rng *rand.Rand) []byte {
	n := 1 + rng.IntN(64)
	if rng.IntN(20) == 0 {
		n = 1 + rng.IntN(16<<10)
	}
	b := make([]byte, n)
	for i := range b[:n-1] {
		b[i] = byte('a' + rng.IntN(26))
	}
	b[n-1] = '\n'
	return b
}
