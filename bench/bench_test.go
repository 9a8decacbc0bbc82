//go:build linux

package main

import (
	"io"
	"math"
	"math/rand/v2"
	"net"
	"slices"
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
			assert.Positive(t, res.LoadCPU, "the load generator's share of its core")
			assert.LessOrEqual(t, res.LoadCPU, 1.05, "one thread uses at most one core")
		})
	}

	t.Run("answers longer than a read's room come whole, over several reads", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err, "listen")
		defer ln.Close()
		go serveNetEcho(ln)
		res, err := runLoad(loadConfig{Addr: ln.Addr().String(), Mode: "echo", Conns: 2, Size: 3*loadReadSize + 100, Depth: 2,
			Warmup: 20 * time.Millisecond, Duration: 100 * time.Millisecond}, io.Discard)
		require.NoError(t, err, "runLoad")
		assert.Positive(t, res.Responses, "answers")
		assert.Zero(t, res.Errors, "bad answers")
	})

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
	a := newAnswerReader(loadConfig{Mode: "http"})
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

func TestLatencyHistogram(t *testing.T) {
	t.Run("every latency falls in the bucket whose floor is at most it, and the next bucket's floor is above it", func(t *testing.T) {
		for _, us := range []uint64{0, 1, 511, 1023, 1024, 1025, 2047, 2048, 3000, 1 << 20, 123456789, 1<<63 + 5, math.MaxUint64} {
			i := latencyBucket(us)
			require.Less(t, i, latencyBuckets, "bucket of %d µs", us)
			assert.LessOrEqual(t, latencyFloor(i), us, "floor of the bucket of %d µs", us)
			if i+1 < latencyBuckets {
				assert.Greater(t, latencyFloor(i+1), us, "floor of the bucket after that of %d µs", us)
			}
		}
		for i := 1; i < latencyBuckets; i++ {
			require.Greater(t, latencyFloor(i), latencyFloor(i-1), "floors rise, bucket %d", i)
			require.Equal(t, i, latencyBucket(latencyFloor(i)), "a floor is in its own bucket, bucket %d", i)
		}
	})

	t.Run("quantiles are a sorted list's, exact below 1,024 µs and to 0.2% above", func(t *testing.T) {
		var h latencyHistogram
		assert.Zero(t, h.quantile(0.5), "nothing recorded")
		rng := rand.New(rand.NewPCG(1, 2))
		var all []time.Duration
		for range 100_000 {
			d := time.Duration(rng.ExpFloat64() * float64(300*time.Microsecond))
			if rng.IntN(50) == 0 {
				d *= 100 // a tail, in the slow buckets
			}
			all = append(all, d)
			h.record(d)
		}
		slices.Sort(all)
		for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999} {
			exact := float64(all[int(float64(len(all))*q)] / time.Microsecond)
			got := h.quantile(q)
			assert.LessOrEqual(t, got, exact, "q=%v", q)
			assert.InDelta(t, exact, got, max(exact*0.002, 0), "q=%v", q)
		}
		h.reset()
		assert.Zero(t, h.quantile(0.99), "after reset")
	})
}

func TestStatOf(t *testing.T) {
	assert.Equal(t, stat{med: 3, min: 1, max: 9}, statOf([]float64{9, 1, 3, 2, 5}), "median of five")
	assert.Equal(t, "1,234,568", thousands(1234567.8), "thousands")
	assert.Equal(t, "1.5 KiB", bytesText(1536), "bytes")
	assert.Equal(t, "1.03", figure(1.0312, 1), "two decimals where they tell the figure from the limit")
	assert.Equal(t, "0.999", figure(0.9986, 1), "more where two would print the limit")
	assert.Equal(t, "1.003", figure(1.0034, 1), "above it too")
	assert.Equal(t, "1.00", figure(1, 1), "the limit itself")
	assert.Equal(t, "0.50", figure(0.5, 0.5), "the limit itself, at its own decimals")
	for _, c := range []struct {
		v    float64
		n    int
		want string
	}{
		{0.2583, 3, "0.258"}, {4.049, 3, "4.05"}, {38.54, 3, "38.5"}, {5, 3, "5.00"}, {0.32, 3, "0.320"},
		{0.0213, 2, "0.021"}, {6.6, 2, "6.6"}, {4, 2, "4.0"}, {1234.4, 3, "1234"}, {9.996, 3, "10.0"},
		{0.09996, 3, "0.100"}, {999.6, 3, "1000"}, {-0.2583, 3, "-0.258"}, {0, 3, "0"},
	} {
		assert.Equal(t, c.want, significant(c.v, c.n), "%v to %d significant figures", c.v, c.n)
	}
}
