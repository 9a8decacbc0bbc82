// Shutdown shows chapter 06's graceful shutdown ending three sessions
// three ways. It starts the echo server with -grace 1s and a trace, and
// connects three clients: one that says nothing; a no-reader, which sends
// lines until the server stops taking them and never reads an echo; and a
// late reader, which sends lines as fast as the server takes them and
// reads nothing until shutdown has begun, then reads every echo while it
// goes on sending. When both senders are stuck (the buffers between them
// and the server are full), it sends SIGTERM, lets the late reader read,
// and prints how each client's connection ended, the server's summary,
// and the trace's shutdown and session lines.
//
//	go run ./experiments/shutdown
//	go run ./experiments/shutdown -linger=false
//
// -linger=false runs the server as it was before its lingering close: a
// session closes its socket at once when it stops reading.
package main

import (
	"bytes"
	"errors"
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

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "shutdown:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	flags := flag.NewFlagSet("shutdown", flag.ContinueOnError)
	grace := flags.Duration("grace", time.Second, "the server's grace period")
	linger := flags.Bool("linger", true, "the server closes gently; false: at once, as before the lingering close")
	if err := flags.Parse(args); err != nil {
		return err
	}
	bin, cleanup, err := lab.Build("06-full-runtime")
	if err != nil {
		return err
	}
	defer cleanup()
	serverArgs := []string{"-grace", grace.String(), "-trace"}
	if !*linger {
		serverArgs = append(serverArgs, "-linger=false")
	}
	fmt.Fprintf(out, "server: 06-full-runtime -listen 127.0.0.1:0 %s\n", strings.Join(serverArgs, " "))
	srv, err := lab.Start(bin, serverArgs...)
	if err != nil {
		return err
	}
	defer srv.Kill()

	silent := make(chan string, 1)
	go func() { silent <- silentClient(srv.Addr) }()
	stuck := make(chan string, 1)
	noReader := make(chan string, 1)
	go func() { noReader <- noReaderClient(srv.Addr, stuck) }()
	begin := make(chan struct{})
	lateReader := make(chan string, 1)
	go func() { lateReader <- lateReaderClient(srv.Addr, begin) }()

	// Once the no-reader is stuck, so is the late reader, which started
	// with it and sends the same way.
	fmt.Fprint(out, <-stuck)
	fmt.Fprintln(out, "SIGTERM; once the server says it is shutting down, the late reader starts reading")
	if err := srv.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	if err := srv.WaitFor("terminated:", 10*time.Second); err != nil {
		return err
	}
	close(begin)
	summary, err := srv.Wait()
	fmt.Fprintf(out, "the server exited (%v)\n", exitStatus(err))
	fmt.Fprint(out, <-silent, <-noReader, <-lateReader)
	fmt.Fprint(out, summary)
	for line := range strings.Lines(srv.Stderr()) {
		if strings.Contains(line, "shutdown:") || strings.Contains(line, "session:") {
			fmt.Fprint(out, line)
		}
	}
	return nil
}

func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// silentClient connects, says nothing, and reports how the server ended
// the connection.
func silentClient(addr string) string {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return "silent: " + err.Error() + "\n"
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	got, err := io.ReadAll(c)
	return fmt.Sprintf("silent: closed by the server after %d bytes%s\n", len(got), then(err, "EOF"))
}

// then says how a read or write loop ended: the error, or what a nil error
// means there.
func then(err error, ok string) string {
	if err == nil {
		return ", then " + ok
	}
	return ", then " + err.Error()
}

// lineOf is a 100-byte line of b, newline included.
func lineOf(b byte) []byte { return append(bytes.Repeat([]byte{b}, 99), '\n') }

// noReaderClient sends lines until a write has been stuck for a second
// (the server stopped reading: its echoes fill the buffers), says so on
// stuck, then goes on sending, blocked, until the server ends the
// connection; it never reads.
func noReaderClient(addr string, stuck chan<- string) string {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		stuck <- ""
		return "no-reader: " + err.Error() + "\n"
	}
	defer c.Close()
	line, sent := lineOf('x'), 0
	for {
		c.SetWriteDeadline(time.Now().Add(time.Second))
		n, err := c.Write(line)
		sent += n
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			stuck <- ""
			return fmt.Sprintf("no-reader: sent %d bytes, then %v\n", sent, err)
		}
	}
	stuck <- fmt.Sprintf("no-reader: sent %d bytes; now its writes block: the server has stopped reading\n", sent)
	c.SetWriteDeadline(time.Now().Add(time.Minute))
	for {
		if _, err := c.Write(line); err != nil {
			return fmt.Sprintf("no-reader: its blocked write ended with: %v\n", err)
		}
	}
}

// lateReaderClient sends lines as fast as the server takes them, and
// reads nothing until begin is closed; then it reads every echo until the
// server ends the connection, still sending, and reports what came back
// (whole lines, in order, or not) and how each direction ended.
func lateReaderClient(addr string, begin <-chan struct{}) string {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return "late reader: " + err.Error() + "\n"
	}
	defer c.Close()
	line := lineOf('y')
	type sent struct {
		n   int
		err error
	}
	sender := make(chan sent, 1)
	go func() {
		c.SetWriteDeadline(time.Now().Add(time.Minute))
		n := 0
		for {
			w, err := c.Write(line)
			n += w
			if err != nil {
				sender <- sent{n, err}
				return
			}
		}
	}()
	<-begin
	c.SetReadDeadline(time.Now().Add(time.Minute))
	got, whole := 0, true
	buf := make([]byte, 64<<10)
	var readErr error
	for {
		n, err := c.Read(buf)
		for i, b := range buf[:n] { // every byte where a line of y's puts it
			whole = whole && b == line[(got+i)%len(line)]
		}
		got += n
		if err != nil {
			if err != io.EOF {
				readErr = err
			}
			break
		}
	}
	shape := "each one whole and in order"
	if !whole || got%len(line) != 0 {
		shape = "NOT whole lines"
	}
	report := fmt.Sprintf("late reader: read %d bytes of echoes (%d lines, %s)%s\n", got, got/len(line), shape, then(readErr, "EOF"))
	select {
	case s := <-sender:
		report += fmt.Sprintf("late reader: sent %d bytes in all; its next write said: %v\n", s.n, s.err)
	case <-time.After(2 * time.Second):
		report += "late reader: its writes still go through, 2 s after the end of the echoes\n"
	}
	return report
}
