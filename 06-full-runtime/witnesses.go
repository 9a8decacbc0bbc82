//go:build linux

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// The demo's two witnesses: clients that show what this chapter adds to
// chapter 05, each checking what it saw.
//
//   - The idler connects and says nothing. The server's idle timer must
//     close it, the echo server with a one-line reason first (the HTTP
//     server closes without a word, as HTTP servers do).
//   - The stayer makes one round trip, then stays connected while the
//     demo ends. Shutdown must drain it: its session finishes on its own,
//     the stayer reads the end of the stream (EOF, not a reset), and the
//     summary counts one session drained.
//
// Both start before the demo's other clients, the stayer first. The demo shuts down once
// its clients are done and the idler has been closed, then waits for the
// stayer.
type witnesses struct {
	idler   chan error    // closed by the timer, as it should be, or why not
	stayer  chan error    // drained by shutdown, as it should be, or why not
	quiet   chan struct{} // closed when the stayer should stop talking: shutdown is next
	quieted chan error    // the stayer has stopped talking (or why its talk failed)
}

// startWitnesses connects the idler and the stayer to addr. In http mode
// they speak HTTP.
func startWitnesses(addr string, idle time.Duration, httpMode bool) *witnesses {
	w := &witnesses{idler: make(chan error, 1), stayer: make(chan error, 1),
		quiet: make(chan struct{}), quieted: make(chan error, 1)}
	ready := make(chan error, 1)
	go func() { w.stayer <- runStayer(addr, idle, httpMode, ready, w.quieted, w.quiet) }()
	if err := <-ready; err != nil { // its first round trip is done before the demo goes on
		w.stayer <- err
		close(w.quiet)
	}
	connected := make(chan struct{})
	go func() { w.idler <- runIdler(addr, idle, httpMode, connected) }()
	<-connected // the idler's session is task 3, after the stayer's 2, before any client's
	return w
}

// idlerDone waits for the idler's end: the demo shuts down only after
// the idle timer has had its chance to fire.
func (w *witnesses) idlerDone() error {
	return wrap("idler", <-w.idler)
}

// quietStayer tells the stayer to stop talking, and waits until it has:
// shutdown finds it waiting, not in the middle of a round trip.
func (w *witnesses) quietStayer() error {
	select {
	case <-w.quiet: // closed already: the stayer failed at the start
		return nil
	default:
	}
	close(w.quiet)
	return wrap("stayer", <-w.quieted)
}

// stayerDone waits, up to limit, for the stayer's end (call it after
// shutdown has begun).
func (w *witnesses) stayerDone(limit time.Duration) error {
	select {
	case err := <-w.stayer:
		return wrap("stayer", err)
	case <-time.After(limit):
		return fmt.Errorf("stayer: still connected %v after shutdown began", limit)
	}
}

func wrap(who string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", who, err)
}

// runIdler connects (and says so on connected), sends nothing, and
// expects to be closed after the idle limit, not before.
func runIdler(addr string, idle time.Duration, httpMode bool, connected chan<- struct{}) error {
	// The clock starts before the dial: the server's idle limit starts
	// once it has accepted, so no earlier. Started after, it could start
	// late, if this goroutine were slow to run again once connected, and
	// find the close "early".
	start := time.Now()
	c, err := net.DialTimeout("tcp", addr, clientTimeout)
	close(connected)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(start.Add(idle + clientTimeout))
	got, err := io.ReadAll(c)
	waited := time.Since(start)
	switch {
	case err != nil:
		return fmt.Errorf("waiting to be closed: %w", err)
	case waited < idle:
		return fmt.Errorf("closed after %v, before the idle limit of %v", waited, idle)
	case httpMode && len(got) > 0:
		return fmt.Errorf("an idle HTTP connection closes without a word, but got %q", got)
	case !httpMode && !bytes.HasPrefix(got, []byte("error: no whole line within")):
		return fmt.Errorf("expected the idle limit's reason before the close, got %q", got)
	}
	return nil
}

// runStayer makes a round trip at once, says so on ready, and another
// every third of the idle limit, so that the timer leaves it alone; when
// quiet closes it stops, says so on quieted, and waits for the server to
// end the connection at shutdown: a clean EOF, nothing else.
func runStayer(addr string, idle time.Duration, httpMode bool, ready, quieted chan<- error, quiet <-chan struct{}) error {
	c, err := net.DialTimeout("tcp", addr, clientTimeout)
	if err != nil {
		ready <- err
		return nil
	}
	defer c.Close()
	r := bufio.NewReader(c)
	ready <- stayerRoundTrip(c, r, httpMode)
	for {
		select {
		case <-quiet:
			quieted <- nil
			rest, err := io.ReadAll(r) // the demo bounds this wait (stayerDone)
			switch {
			case err != nil:
				return fmt.Errorf("at shutdown: %w (a drained session ends with EOF, not an error)", err)
			case len(rest) > 0:
				return fmt.Errorf("at shutdown: unexpected bytes %q", rest)
			}
			return nil
		case <-time.After(idle / 3):
			if err := stayerRoundTrip(c, r, httpMode); err != nil {
				<-quiet
				quieted <- err
				return nil
			}
		}
	}
}

// stayerRoundTrip sends one line (or one GET) and checks the answer.
func stayerRoundTrip(c net.Conn, r *bufio.Reader, httpMode bool) error {
	c.SetDeadline(time.Now().Add(clientTimeout))
	defer c.SetDeadline(time.Time{})
	if httpMode {
		if _, err := io.WriteString(c, "GET /plaintext HTTP/1.1\r\nHost: demo\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return err
	}
	const line = "I will stay until the end\n"
	if _, err := io.WriteString(c, line); err != nil {
		return err
	}
	got, err := r.ReadString('\n')
	if err == nil && got != line {
		err = fmt.Errorf("sent %q, got back %q", line, got)
	}
	return err
}
