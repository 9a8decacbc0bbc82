//go:build linux

package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	t.Run("the demo checks its clients' echoes and prints the labelled summary", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := run([]string{"-clients", "3", "-messages", "4", "-pause", "1ms"}, &out, &errOut)
		assert.Equal(t, 0, code, "exit code; stderr: %s", errOut.String())
		for _, label := range []string{"connections:", "messages:", "wall:", "cpu:", "epoll_wait calls:", "polls:",
			"empty polls:", "wakes:", "timers:", "shutdown:", "memory:", "threads:"} {
			assert.Regexp(t, regexp.MustCompile(`(?m)^`+label+` +\S`), out.String(), "summary line %s", label)
		}
		assert.Contains(t, out.String(), "connections:      5 accepted, 5 closed", "connections line: 3 clients and the two witnesses")
		assert.Contains(t, out.String(), "messages:         12 echoed and checked", "messages line")
		assert.Contains(t, out.String(), "(1 session closed for idling, 0 for not reading, 0 lines refused for length)",
			"timers line: the idler, closed by its timer")
		assert.Contains(t, out.String(), "shutdown:         1 session drained, 0 dropped", "shutdown line: the stayer, drained")
		assert.Contains(t, out.String(), "(server and clients: one process)", "memory line")
	})

	t.Run("the clients can run in a child process, which re-executes this program", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := run([]string{"-child-clients", "-clients", "3", "-messages", "2", "-pause", "1ms"}, &out, &errOut)
		assert.Equal(t, 0, code, "exit code; stderr: %s", errOut.String())
		assert.Contains(t, out.String(), "messages:         6 echoed and checked", "messages line")
		assert.Contains(t, out.String(), "(the server alone: its clients ran in a child process)", "memory line")
	})

	t.Run("-trace prints polls, epoll_wait's timeout and why, events, wakes, timers and shutdown, each with the time since start", func(t *testing.T) {
		var out, errOut bytes.Buffer
		// Two lines a millisecond apart: the session is sure to be
		// waiting for the second when it comes. Tasks 2 and 3 are the
		// witnesses (the stayer and the idler); task 4 is the client.
		code := run([]string{"-trace", "-clients", "1", "-messages", "2", "-pause", "1ms"}, &out, &errOut)
		assert.Equal(t, 0, code, "exit code; stderr: %s", errOut.String())
		const at = `(?m)^ *\d+\.\d{3} ms  ` // every line starts with the time since start
		for _, line := range []string{
			`poll task 1 \(serve\): Pending$`,
			`epoll_wait, timeout [0-9.]+m?s \(\d+ ms\): the earliest of \d timer\(s\) is due then$`,
			`epoll_wait returned 1$`,
			`accept: fd \d+$`,
			`poll task 4 \(echo fd \d+\): Pending$`,
			`  fd \d+ [A-Z|]+; read: wake task 4 \(echo fd \d+\)`,
			`woken: task 4 \(echo fd \d+\)$`,
			`session: wrote 54 bytes, then EOF; closed$`,
			`poll task 4 \(echo fd \d+\): Ready$`,
			`timer fired \([0-9.]+[mµ]?s late\): wake task 3 \(echo fd \d+\)$`, // the idler's
			`session: wrote 0 bytes, then no whole line within 1s: timed out: i/o timeout; closed$`,
			`shutdown: closing the listener, draining [12] session\(s\), grace 5s$`, // the stayer, and the idler if still lingering
			`session: wrote \d+ bytes, then EOF; closed$`,                           // the stayer, drained
			`shutdown: every session has finished$`,
			`poll task 1 \(serve\): Ready$`,
		} {
			assert.Regexp(t, regexp.MustCompile(at+line), errOut.String(), "trace line")
		}
		assert.NotRegexp(t, regexp.MustCompile(`(?m)^\S`), errOut.String(), "a trace line without its time")
	})

	t.Run("-listen serves until SIGTERM, then drains its sessions and exits 0", func(t *testing.T) {
		before := openFDs(t)
		outR, outW := io.Pipe()
		var errOut bytes.Buffer
		code := make(chan int, 1)
		go func() {
			code <- run([]string{"-listen", "127.0.0.1:0"}, outW, &errOut)
			outW.Close()
		}()
		lines := bufio.NewScanner(outR)
		require.True(t, lines.Scan(), "the listening line")
		m := regexp.MustCompile(`^listening on (\S+);`).FindStringSubmatch(lines.Text())
		require.NotNil(t, m, "listening line: %q", lines.Text())
		c, err := net.Dial("tcp", m[1])
		require.NoError(t, err, "dial")
		defer c.Close()
		_, err = io.WriteString(c, "hello\n")
		require.NoError(t, err, "write")
		echo := make([]byte, 6)
		_, err = io.ReadFull(c, echo)
		require.NoError(t, err, "read echo")
		assert.Equal(t, "hello\n", string(echo), "echo")

		require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM), "SIGTERM")
		var rest strings.Builder
		for lines.Scan() {
			rest.WriteString(lines.Text() + "\n")
		}
		assert.Equal(t, 0, <-code, "exit code; stderr: %s", errOut.String())
		_, err = c.Read(make([]byte, 1))
		assert.ErrorIs(t, err, io.EOF, "the idle session was closed")
		assert.Contains(t, rest.String(), "terminated: shutting down", "what it said")
		assert.Contains(t, rest.String(), "shutdown:         1 session drained, 0 dropped", "summary")
		c.Close()
		assert.Equal(t, before, openFDs(t), "open descriptors after the run")
	})

	t.Run("a bad flag is a usage error", func(t *testing.T) {
		var out, errOut bytes.Buffer
		assert.Equal(t, 2, run([]string{"-no-such-flag"}, &out, &errOut), "exit code")
		assert.Contains(t, errOut.String(), "-no-such-flag", "usage message")
	})

	t.Run("a bad listen address is reported, not panicked on", func(t *testing.T) {
		var out, errOut bytes.Buffer
		assert.Equal(t, 1, run([]string{"-listen", "not-an-address"}, &out, &errOut), "exit code")
		assert.Contains(t, errOut.String(), `listen address "not-an-address"`, "error message")
	})

	t.Run("more clients than the open-file limit allows is said in one sentence", func(t *testing.T) {
		var out, errOut bytes.Buffer
		assert.Equal(t, 1, run([]string{"-clients", "2000000000"}, &out, &errOut), "exit code")
		assert.Regexp(t, `^`+program+`: -clients 2000000000 needs about \d+ open files in the server, but this process may open \d+; raise the limit`,
			errOut.String(), "message")
	})
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		assert.Equal(t, want, thousands(n), "thousands(%d)", n)
	}
}
