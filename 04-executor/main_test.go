//go:build linux

package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRun(t *testing.T) {
	t.Run("the demo checks its clients' echoes and prints the labelled summary", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := run([]string{"-clients", "3", "-messages", "4", "-pause", "1ms"}, &out, &errOut)
		assert.Equal(t, 0, code, "exit code; stderr: %s", errOut.String())
		for _, label := range []string{"connections:", "messages:", "wall:", "cpu:", "epoll_wait calls:", "polls:", "empty polls:"} {
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
			`(?m)^ *\d+\.\d{3} ms  poll task 1 \(accept\): Pending(, empty)?$`,
			`(?m)^ *\d+\.\d{3} ms  epoll_wait returned 1: fd \d+ IN$`,
			`(?m)^ *\d+\.\d{3} ms  epoll_wait returned: re-queueing all 2 parked tasks$`,
			`(?m)^ *\d+\.\d{3} ms  accept: fd \d+$`,
			`(?m)^ *\d+\.\d{3} ms  poll task 2 \(echo fd \d+\): Pending(, empty)?$`,
			`(?m)^ *\d+\.\d{3} ms  session: echoed 27 bytes, then EOF; closed$`,
			`(?m)^ *\d+\.\d{3} ms  poll task 2 \(echo fd \d+\): Ready$`,
			`(?m)^ *\d+\.\d{3} ms  task 2 finished: re-queueing all 1 parked tasks$`,
			`(?m)^ *\d+\.\d{3} ms  poll task 1 \(accept\): Ready$`,
			`(?m)^ *\d+\.\d{3} ms  accept: shut down, stopping$`,
		} {
			assert.Regexp(t, regexp.MustCompile(line), errOut.String(), "trace line")
		}
		for _, line := range strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n") {
			assert.Regexp(t, `^ *\d+\.\d{3} ms  `, line, "every trace line starts with the time since the server was made")
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

func TestSummary(t *testing.T) {
	t.Run("under -listen, the messages line says why nothing was checked", func(t *testing.T) {
		var out bytes.Buffer
		summary{stats: stats{bytes: 17}, wall: time.Second, listen: true}.print(&out)
		assert.Contains(t, out.String(), "messages:         0 checked: -listen runs no built-in clients (17 bytes echoed)\n", "messages line")
	})
}

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		part, whole float64
		want        string
	}{
		{0, 8, "0.0%"}, {1, 8, "12.5%"}, {8, 8, "100.0%"}, {0, 0, "0.0%"},
		{1, 1e6, "<0.1%"},        // a few never round to none
		{999_999, 1e6, ">99.9%"}, // nor almost all to all
	} {
		assert.Equal(t, c.want, percent(c.part, c.whole), "percent(%v, %v)", c.part, c.whole)
	}
}

func TestDecimal(t *testing.T) {
	for x, want := range map[float64]string{0: "0.0", 1.25: "1.2", 999.96: "1,000.0", 46666.62: "46,666.6"} {
		assert.Equal(t, want, decimal(x), "decimal(%v)", x)
	}
}
