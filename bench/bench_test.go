//go:build linux

package main

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadGenerator(t *testing.T) {
	for _, mode := range []string{"echo", "http"} {
		t.Run(mode+": the closed loop gets answers and measures their latency", func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err, "listen")
			defer ln.Close()
			if mode == "echo" {
				go serveNetEcho(ln)
			} else {
				go serveNetHTTP(ln)
			}
			res, err := runLoad(loadConfig{Addr: ln.Addr().String(), Mode: mode, Conns: 4, Size: 64, Depth: 2,
				Warmup: 20 * time.Millisecond, Duration: 100 * time.Millisecond}, io.Discard)
			require.NoError(t, err, "runLoad")
			assert.Positive(t, res.Responses, "answers")
			assert.Positive(t, res.P50us, "p50")
			assert.GreaterOrEqual(t, res.P99us, res.P50us, "p99 >= p50")
			assert.Zero(t, res.Errors, "bad answers")
		})
	}

	t.Run("the open loop sends at the rate asked, whatever the answers do", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err, "listen")
		defer ln.Close()
		go serveNetEcho(ln)
		res, err := runLoad(loadConfig{Addr: ln.Addr().String(), Mode: "echo", Conns: 2, Size: 16, Rate: 2000,
			Duration: 200 * time.Millisecond}, io.Discard)
		require.NoError(t, err, "runLoad")
		assert.InDelta(t, 400, res.Responses, 100, "answers to 2000/s for 0.2 s")
	})
}

func TestAnswerLength(t *testing.T) {
	http := loadConfig{Mode: "http"}
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nServer: x\r\n\r\nHello, World!"
	for in, want := range map[string]int{
		resp:                         len(resp),
		resp + "HTTP/1.1 200 OK\r\n": len(resp),
		resp[:20]:                    0,
		resp[:len(resp)-1]:           0,
	} {
		n, ok := answerLength(http, []byte(in))
		assert.True(t, ok, "a good answer: %q", in)
		assert.Equal(t, want, n, "length of %q", in)
	}
	_, ok := answerLength(http, []byte("HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"))
	assert.False(t, ok, "a 500 is a bad answer")
	n, ok := answerLength(loadConfig{Mode: "echo", Size: 4}, []byte("abcdef"))
	assert.True(t, ok && n == 4, "echo answers are Size bytes")
}

func TestAnswerReader(t *testing.T) {
	a := answerReader{cfg: loadConfig{Mode: "http"}}
	one := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nDate: 1\r\n\r\nhi"
	two := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDate: 2\r\n\r\nhello"
	for _, step := range []struct {
		in   string
		want int
	}{
		{one + two, len(one)},
		{one, len(one)},       // the head remembered
		{one[:len(one)-1], 0}, // the same head, its body not all here
		{one[:10], 0},         // not even the head
		{two + one, len(two)}, // a new head is parsed, not taken for the last one
		{two, len(two)},
		{"HTTP/1.1 500 Oops\r\n\r\n", -1}, // and checked
	} {
		n, ok := a.length([]byte(step.in))
		if step.want < 0 {
			assert.False(t, ok, "a bad answer: %q", step.in)
			continue
		}
		assert.True(t, ok, "a good answer: %q", step.in)
		assert.Equal(t, step.want, n, "length of the first answer in %q", step.in)
	}
}

func TestStatOf(t *testing.T) {
	assert.Equal(t, stat{med: 3, min: 1, max: 9}, statOf([]float64{9, 1, 3, 2, 5}), "median of five")
	assert.Equal(t, "1,234,568", thousands(1234567.8), "thousands")
	assert.Equal(t, "1.5 KiB", bytesText(1536), "bytes")
}
