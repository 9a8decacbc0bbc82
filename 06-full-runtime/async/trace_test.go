//go:build linux

package async

import (
	"bytes"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestTrace(t *testing.T) {
	t.Run("the trace shows polls, each epoll_wait with its timeout and why, timers and the application's own lines", func(t *testing.T) {
		var trace bytes.Buffer
		rt := newTestRuntime(t, Config{Trace: &trace})
		rt.Tracef("starting %s", "now")
		_, err := BlockOn(rt, "sleep", rt.Sleep(20*time.Millisecond))
		require.NoError(t, err, "BlockOn")
		for _, want := range []string{
			`^ *[0-9.]+ ?ms +starting now$`, // stamped like the runtime's own lines
			`poll task 1 \(sleep\): Pending$`,
			`epoll_wait, timeout .* \(\d+ ms\): the earliest of 1 timer\(s\) is due then$`,
			`timer fired \(.* late\): wake task 1 \(sleep\)$`,
			`poll task 1 \(sleep\): Ready$`,
		} {
			assert.Regexp(t, regexp.MustCompile(`(?m)`+want), trace.String(), "trace")
		}
	})

	t.Run("an event names its descriptor, its bits and what became of each direction", func(t *testing.T) {
		var trace bytes.Buffer
		rt := newTestRuntime(t, Config{Trace: &trace})
		c, peer := connPair(t, rt)
		write(t, peer, "x")
		require.NoError(t, unix.Shutdown(peer, unix.SHUT_WR), "shutdown")
		_, err := rt.reactor.wait(-1)
		require.NoError(t, err, "wait")
		assert.Contains(t, trace.String(), fmt.Sprintf("fd %d IN|OUT|RDHUP; read: nobody waits, marked ready; write: nobody waits, marked ready", c.fd()), "trace")
	})

	t.Run("epoll bits are named", func(t *testing.T) {
		assert.Equal(t, "IN|RDHUP", epollEvents(unix.EPOLLIN|unix.EPOLLRDHUP).String(), "IN|RDHUP")
		assert.Equal(t, "OUT|HUP|ERR", epollEvents(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR).String(), "OUT|HUP|ERR")
		assert.Equal(t, "none", epollEvents(0).String(), "no bits")
	})
}
