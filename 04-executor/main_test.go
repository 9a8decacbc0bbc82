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
		for _, label := range []string{"connections:", "messages:", "wall:", "cpu:", "epoll_wait calls:", "polls:", "wasted polls:"} {
			assert.Regexp(t, regexp.MustCompile(`(?m)^`+label+` +\S`), out.String(), "summary line %s", label)
		}
		assert.Contains(t, out.String(), "connections:      3 accepted, 3 closed", "connections line")
		assert.Contains(t, out.String(), "messages:         12 echoed and checked", "messages line")
	})

	t.Run("-trace prints every poll, every epoll_wait and every re-queueing", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := run([]string{"-trace", "-clients", "1", "-messages", "1", "-pause", "1ms"}, &out, &errOut)
		assert.Equal(t, 0, code, "exit code; stderr: %s", errOut.String())
		for _, line := range []string{
			`(?m)^poll task 1 \(accept\): Pending$`,
			`(?m)^epoll_wait returned 1: fd \d+ IN$`,
			`(?m)^epoll_wait returned: re-queueing all 2 parked tasks$`,
			`(?m)^accept: fd \d+$`,
			`(?m)^poll task 2 \(echo fd \d+\): Pending$`,
			`(?m)^session: echoed 27 bytes, then EOF; closed$`,
			`(?m)^poll task 2 \(echo fd \d+\): Ready$`,
			`(?m)^task 2 finished: re-queueing all 1 parked tasks$`,
			`(?m)^poll task 1 \(accept\): Ready$`,
			`(?m)^accept: shut down, stopping$`,
		} {
			assert.Regexp(t, regexp.MustCompile(line), errOut.String(), "trace line")
		}
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
