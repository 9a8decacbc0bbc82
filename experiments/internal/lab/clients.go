package lab

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"slices"
	"sync"
	"time"
)

// Idlers opens n connections to addr that will send nothing.
func Idlers(addr string, n int) ([]net.Conn, error) {
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return nil, fmt.Errorf("dial %s after %d connections: %w", addr, len(conns), err)
		}
		conns = append(conns, c)
	}
	return conns, nil
}

// Endings reads each connection until the server closes it (or limit
// passes), closes it, and prints how many ended each way: "closed by the
// server after 0 bytes", with the bytes if there were any, or the error.
func Endings(out io.Writer, conns []net.Conn, limit time.Duration) {
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		ended = map[string]int{}
	)
	end := time.Now().Add(limit)
	for _, c := range conns {
		wg.Go(func() {
			defer c.Close()
			c.SetReadDeadline(end)
			b, err := io.ReadAll(c)
			what := fmt.Sprintf("closed by the server after %d bytes", len(b))
			if len(b) > 0 {
				what += fmt.Sprintf(" (%q)", b)
			}
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				what = fmt.Sprintf("still open after %v, %d bytes received", limit, len(b))
			case err != nil:
				what += ", then " + err.Error()
			}
			mu.Lock()
			ended[what]++
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, what := range slices.Sorted(maps.Keys(ended)) {
		fmt.Fprintf(out, "%d %s\n", ended[what], what)
	}
}
