//go:build linux

package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Microbenchmarks of the HTTP application's hot path (the runtime's own
// are in async/bench_test.go):
//
//	go test -run '^$' -bench . -benchmem ./06-full-runtime/...
//
// They measure; no test asserts a speed.

// BenchmarkHTTPParseAndAnswer answers 16 pipelined requests per
// iteration; divide ns/op by 16 for one request.
func BenchmarkHTTPParseAndAnswer16(b *testing.B) {
	h := newBareHTTPSession()
	batch := []byte(strings.Repeat(get, 16))
	now := time.Now()
	b.SetBytes(int64(len(batch)))
	for b.Loop() {
		h.in, h.off = append(h.in[:0], batch...), 0
		h.out = h.out[:0]
		h.respond(now)
	}
}

// BenchmarkHTTPPipelinedBatch answers a batch of pipelined requests, of
// 1 KiB and of 64 KiB. Its ns/request is the same for both only if the
// cost of a request does not grow with the requests after it in the
// buffer: the session consumes its input from an offset and moves the
// rest to the front once per read, not once per request (which made a
// 64 KiB batch cost several times more per request than a 1 KiB one).
func BenchmarkHTTPPipelinedBatch(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			n := size / len(get)
			batch := []byte(strings.Repeat(get, n))
			h := newBareHTTPSession()
			now := time.Now()
			b.SetBytes(int64(len(batch)))
			for b.Loop() {
				h.in, h.off = append(h.in[:0], batch...), 0
				for h.off < len(h.in) {
					h.out = h.out[:0] // written
					h.respond(now)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/request")
		})
	}
}
