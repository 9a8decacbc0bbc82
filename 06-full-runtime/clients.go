//go:build linux

package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clientTimeout bounds every client operation, so a broken server makes
// the demo fail with a message instead of hanging. Generous on purpose:
// a healthy server answers in microseconds.
const clientTimeout = 10 * time.Second

// runClients plays n concurrent clients against the server at addr, their
// starts spread over one pause.
// Each connects, then sends messages lines with an idle pause before each
// one (as a person at a keyboard would), reads every echo back and checks
// it byte for byte. It returns how many messages came back intact and the
// first problem it saw.
//
// The clients use Go's net package: they are the outside world, not the
// subject of the chapter. Only the server works on raw descriptors.
func runClients(addr string, n, messages int, pause time.Duration) (int, error) {
	return runAll(n, pause, func(id int) (int, error) { return runClient(addr, id, messages, pause) })
}

// runAll runs client(id) for n clients at once, their starts spread over
// one pause, and adds up what they report.
func runAll(n int, pause time.Duration, client func(id int) (int, error)) (int, error) {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		echoed int
		errs   []error
	)
	for id := range n {
		wg.Go(func() {
			// Spread the clients' starts over one pause, as independent
			// people would be: otherwise they all speak at the same
			// instant and every message arrives in one burst.
			time.Sleep(pause * time.Duration(id) / time.Duration(n))
			ok, err := client(id)
			mu.Lock()
			defer mu.Unlock()
			echoed += ok
			if err != nil {
				errs = append(errs, fmt.Errorf("client %d: %w", id, err))
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return echoed, fmt.Errorf("%d of %d clients failed, first: %w", len(errs), n, errs[0])
	}
	return echoed, nil
}

func runClient(addr string, id, messages int, pause time.Duration) (int, error) {
	c, err := net.DialTimeout("tcp", addr, clientTimeout)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	got := make([]byte, 0, 64)
	for m := range messages {
		time.Sleep(pause) // idle: the server has nothing to do meanwhile
		line := fmt.Appendf(nil, "client %d, message %d: hello\n", id, m)
		c.SetDeadline(time.Now().Add(clientTimeout))
		if _, err := c.Write(line); err != nil {
			return m, err
		}
		got = got[:len(line)]
		if _, err := io.ReadFull(c, got); err != nil {
			return m, fmt.Errorf("reading echo of message %d: %w", m, err)
		}
		if !bytes.Equal(line, got) {
			return m, fmt.Errorf("message %d: sent %q, got back %q", m, line, got)
		}
	}
	// Say goodbye properly: half-close, then expect the server to close
	// its side too, with no stray bytes in between.
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return messages, err
	}
	extra, err := io.ReadAll(c)
	if err != nil {
		return messages, fmt.Errorf("waiting for the server to close: %w", err)
	}
	if len(extra) > 0 {
		return messages, fmt.Errorf("after the last echo: %d unexpected bytes %q", len(extra), extra)
	}
	return messages, nil
}

// clientsEnv, when set in the environment, makes this program the demo's
// clients instead of the server: the parent re-executes itself with the
// server's address in it, so that the clients' descriptors count against
// the child's open-file limit, not the server's.
const clientsEnv = "ASYNCIO_TUTORIAL_CLIENTS_OF"

// runClientsInChild runs runClients in a copy of this program, and returns
// what it reports. The child's errors go to stderr.
func runClientsInChild(addr string, n, messages int, pause time.Duration, httpMode bool, stderr io.Writer) (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(self, "-clients", strconv.Itoa(n), "-messages", strconv.Itoa(messages), "-pause", pause.String(),
		"-http="+strconv.FormatBool(httpMode))
	cmd.Env = append(os.Environ(), clientsEnv+"="+addr)
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("client process: %w", err)
	}
	var echoed int
	if _, err := fmt.Sscanf(string(out), "echoed %d", &echoed); err != nil {
		return 0, fmt.Errorf("client process said %q: %w", out, err)
	}
	return echoed, nil
}

// clientsMain is main for the child: it runs the clients against addr and
// prints "echoed N" for the parent.
func clientsMain(addr string, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet(program+" clients", flag.ContinueOnError)
	flags.SetOutput(stderr)
	n := flags.Int("clients", 5, "")
	messages := flags.Int("messages", 10, "")
	pause := flags.Duration("pause", 250*time.Millisecond, "")
	httpMode := flags.Bool("http", false, "")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	clients := runClients
	if *httpMode {
		clients = runHTTPClients
	}
	echoed, err := clients(addr, *n, *messages, *pause)
	fmt.Fprintf(stdout, "echoed %d\n", echoed)
	if err != nil {
		fmt.Fprintln(stderr, program+" clients:", err)
		return 1
	}
	return 0
}

// runHTTPClients is runClients for -http: each client sends messages GET
// requests on one kept-alive connection, the last two pipelined in one
// write, and checks every response: status 200 and "Hello, World!".
func runHTTPClients(addr string, n, messages int, pause time.Duration) (int, error) {
	return runAll(n, pause, func(id int) (int, error) { return runHTTPClient(addr, messages, pause) })
}

func runHTTPClient(addr string, messages int, pause time.Duration) (int, error) {
	c, err := net.DialTimeout("tcp", addr, clientTimeout)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	r := bufio.NewReader(c)
	const get = "GET /plaintext HTTP/1.1\r\nHost: demo\r\n\r\n"
	for m := 0; m < messages; {
		time.Sleep(pause)
		batch := 1
		if m == messages-2 {
			batch = 2 // the last two in one write: pipelined
		}
		c.SetDeadline(time.Now().Add(clientTimeout))
		if _, err := io.WriteString(c, strings.Repeat(get, batch)); err != nil {
			return m, err
		}
		for range batch {
			resp, err := http.ReadResponse(r, nil)
			if err != nil {
				return m, fmt.Errorf("reading response %d: %w", m, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || string(body) != "Hello, World!" {
				return m, fmt.Errorf("response %d: %s %q %v", m, resp.Status, body, err)
			}
			m++
		}
	}
	// Say goodbye as the echo clients do: half-close, and expect the
	// server to close its side too, with nothing more. So the session has
	// ended before the demo shuts the server down.
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return messages, err
	}
	extra, err := io.ReadAll(r)
	if err != nil {
		return messages, fmt.Errorf("waiting for the server to close: %w", err)
	}
	if len(extra) > 0 {
		return messages, fmt.Errorf("after the last response: %d unexpected bytes %q", len(extra), extra)
	}
	return messages, nil
}
