//go:build linux

package main

import (
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
		h.in = append(h.in[:0], batch...)
		h.out = h.out[:0]
		h.respond(now)
	}
}
