//go:build linux

package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// plainHeads are heads fastHead must take: if it left them all to
// parseHead, it would agree with parseHead everywhere and save nothing.
var plainHeads = []string{
	get,
	"GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n",                                                    // the load generator's (bench/load.go)
	"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:7999\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n", // curl's, as curl 7.88.1 sent it
	"GET / HTTP/1.1\nHost: a\n\n",
	"HEAD /plaintext?x=1&y=?2 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
	"GET /p HTTP/1.0\r\n\r\n",
	"GET /p HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
	"GET / HTTP/1.1\r\nhost:a  \r\nUser-Agent: \t x/1 (\x80\xff)\t\r\nAccept: */*\r\nX-Empty:\r\n\r\n",
	"PURGE /a/b/c HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",
}

// fastHeadInputs is the plain heads and the differential table's, the
// same with each line end made LF, and each plain head with a byte
// changed at every position to each of the bytes that decide something.
// (Mutating the table's heads too would make the test take seconds under
// -race; FuzzFastHead goes further when it is run with -fuzz.)
func fastHeadInputs() []string {
	inputs := append([]string{}, plainHeads...)
	for _, tc := range diffCases {
		inputs = append(inputs, tc.request)
	}
	for _, in := range inputs[:len(inputs):len(inputs)] {
		inputs = append(inputs, strings.ReplaceAll(in, "\r\n", "\n"))
	}
	var mutated []string
	for _, in := range plainHeads {
		for i := range in {
			for _, c := range []byte(" \t\r\n:%?/\x00\x7f\x80aH1") {
				b := []byte(in)
				b[i] = c
				mutated = append(mutated, string(b))
			}
		}
	}
	return append(inputs, mutated...)
}

// agree checks fastHead against parseHead on in and on every prefix of
// it: where fastHead takes a head, parseHead must take the same head
// and find the same request in it.
func agree(t *testing.T, in string) {
	for end := 0; end <= len(in); end++ {
		b := []byte(in[:end])
		var fast httpRequest
		n, ok := fast.fastHead(b)
		if !ok {
			continue
		}
		slow, slowN, bad := parseHead(b)
		require.Nil(t, bad, "fastHead took a head parseHead refuses: %q", b)
		require.Equal(t, slowN, n, "head length of %q", b)
		require.Equal(t, describe(slow), describe(fast), "request in %q", b)
	}
}

func describe(r httpRequest) string {
	return fmt.Sprintf("method %q path %q http10 %v keepAlive %v bodyLen %d", r.method, r.path, r.http10, r.keepAlive, r.bodyLen)
}

func TestFastHeadAgrees(t *testing.T) {
	t.Run("fastHead takes the plain heads", func(t *testing.T) {
		for _, in := range plainHeads {
			var req httpRequest
			n, ok := req.fastHead([]byte(in + "GET / HTTP/1.1\r\n"))
			assert.True(t, ok, "fastHead left a plain head to parseHead: %q", in)
			assert.Equal(t, len(in), n, "head length of %q", in)
		}
	})
	t.Run("where fastHead takes a head, parseHead finds the same request in it", func(t *testing.T) {
		for _, in := range fastHeadInputs() {
			agree(t, in)
		}
	})
	t.Run("a head over maxHead is left to the careful route, and refused with 431", func(t *testing.T) {
		long := "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("x", maxHead) + "\r\n\r\n"
		var req httpRequest
		_, ok := req.fastHead([]byte(long))
		assert.False(t, ok, "fastHead took a head over maxHead")
		answers := parseAnswers(feed(newBareHTTPSession(), []byte(long), time.Now()))
		require.Len(t, answers, 1, "answers to a head over maxHead")
		assert.Equal(t, 431, answers[0].code, "the answer to a head over maxHead")
		assert.Contains(t, answers[0].body, fmt.Sprintf("over %d KiB", maxHead>>10), "the 431 names the limit there is")
	})
}

// FuzzFastHead checks that fastHead and parseHead agree on any input (see
// agree). Its seeds are the heads of TestFastHeadAgrees.
func FuzzFastHead(f *testing.F) {
	for _, in := range plainHeads {
		f.Add([]byte(in))
	}
	for _, tc := range diffCases {
		f.Add([]byte(tc.request))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		agree(t, string(data))
	})
}

func TestIsName(t *testing.T) {
	for name, want := range map[string]bool{
		"host": true, "Host": true, "HOST": true, "hOsT": true,
		"hos": false, "hosts": false, "Hosx": false, "": false,
		"Content-Length": true, "content-length": true, "CONTENT-LENGTH": true,
		"Content_Length": false, "Content-Lengthy": false, "ContentXLength": false,
	} {
		lower := "host"
		if strings.Contains(strings.ToLower(name), "content") {
			lower = "content-length"
		}
		assert.Equal(t, want, isName([]byte(name), lower), "isName(%q, %q)", name, lower)
	}
}
