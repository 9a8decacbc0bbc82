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
		assert.Contains(t, out.String(), "connections:      3 accepted, 3 closed", "connections line")
		assert.Contains(t, out.String(), "messages:         12 echoed and checked", "messages line")
		assert.Contains(t, out.String(), "(server and clients: one process)", "memory line")
	})

	t.Run("the clients can run in a child process, which re-executes this program", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := run([]string{"-child-clients", "-clients", "3", "-messages", "2", "-pause", "1ms"}, &out, &errOut)
		assert.Equal(t, 0, code, "exit code; stderr: %s", errOut.String())
		assert.Contains(t, out.String(), "messages:         6 echoed and checked", "messages line")
		assert.Contains(t, out.String(), "(the server alone: its clients ran in a child process)", "memory line")
	})

	t.Run("-trace prints polls, epoll_wait's timeout and why, events, wakes and shutdown, each with the time since start", func(t *testing.T) {
		var out, errOut bytes.Buffer
		// Two lines a millisecond apart: the session is sure to be
		// waiting for the second when it comes.
		code := run([]string{"-trace", "-clients", "1", "-messages", "2", "-pause", "1ms"}, &out, &errOut)
		assert.Equal(t, 0, code, "exit code; stderr: %s", errOut.String())
		for _, line := range []string{
			`(?m)^ *\d+\.\d{3}ms poll task 1 \(serve\): Pending$`,
			`(?m)^ *\d+\.\d{3}ms epoll_wait, timeout [0-9.]+m?s \(\d+ ms\): the earliest of 1 timer\(s\) is due then$`,
			`(?m)^ *\d+\.\d{3}ms epoll_wait returned 1$`,
			`(?m)^ *\d+\.\d{3}ms accept: fd \d+$`,
			`(?m)^ *\d+\.\d{3}ms poll task 2 \(echo fd \d+\): Pending$`,
			`(?m)^ *\d+\.\d{3}ms   fd \d+ [A-Z|]+; read: wake task 2 \(echo fd \d+\)`,
			`(?m)^ *\d+\.\d{3}ms woken: task 2 \(echo fd \d+\)$`,
			`(?m)^ *\d+\.\d{3}ms session: wrote 54 bytes, then EOF; closed$`,
			`(?m)^ *\d+\.\d{3}ms poll task 2 \(echo fd \d+\): Ready$`,
			`(?m)^ *\d+\.\d{3}ms shutdown: closing the listener, draining 0 session\(s\), grace 5s$`,
			`(?m)^ *\d+\.\d{3}ms shutdown: every session has finished$`,
			`(?m)^ *\d+\.\d{3}ms poll task 1 \(serve\): Ready$`,
		} {
			assert.Regexp(t, regexp.MustCompile(line), errOut.String(), "trace line")
		}
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
		assert.Contains(t, rest.String(), "shutdown:         1 sessions drained, 0 dropped", "summary")
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
