//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
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
			ok, err := runClient(addr, id, messages, pause)
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
