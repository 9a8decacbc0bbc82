//go:build linux

package main

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRun(t *testing.T) {
	t.Run("the demo checks its clients' echoes and prints the labelled summary", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := run([]string{"-clients", "3", "-messages", "4", "-pause", "1ms"}, &out, &errOut)
		assert.Equal(t, 0, code, "exit code; stderr: %s", errOut.String())
		for _, label := range []string{"connections:", "messages:", "wall:", "cpu:", "epoll_wait calls:", "polls:", "wasted polls:", "wakes:"} {
			assert.Regexp(t, regexp.MustCompile(`(?m)^`+label+` +\S`), out.String(), "summary line %s", label)
		}
		assert.Contains(t, out.String(), "connections:      3 accepted, 3 closed", "connections line")
		assert.Contains(t, out.String(), "messages:         12 echoed and checked", "messages line")
	})

	t.Run("-trace prints every poll, every event and whom it woke", func(t *testing.T) {
		var out, errOut bytes.Buffer
		// Two lines a millisecond apart: the session is sure to be
		// waiting for the second when it comes.
		code := run([]string{"-trace", "-clients", "1", "-messages", "2", "-pause", "1ms"}, &out, &errOut)
		assert.Equal(t, 0, code, "exit code; stderr: %s", errOut.String())
		for _, line := range []string{
			`(?m)^poll task 1 \(accept\): Pending$`,
			`(?m)^epoll_wait returned 1$`,
			`(?m)^accept: fd \d+$`,
			`(?m)^poll task 2 \(echo fd \d+\): Pending$`,
			`(?m)^  fd \d+ [A-Z|]+; read: wake task 2 \(echo fd \d+\)`,
			`(?m)^woken: task 2 \(echo fd \d+\)$`,
			`(?m)^session: echoed 54 bytes, then EOF; closed$`,
			`(?m)^poll task 2 \(echo fd \d+\): Ready$`,
			`(?m)^accept: shutdown requested, stopping$`,
			`(?m)^poll task 1 \(accept\): Ready$`,
		} {
			assert.Regexp(t, regexp.MustCompile(line), errOut.String(), "trace line")
		}
		assert.NotContains(t, errOut.String(), "re-queueing", "chapter 04's re-queueing of every task")
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
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		assert.Equal(t, want, thousands(n), "thousands(%d)", n)
	}
}
