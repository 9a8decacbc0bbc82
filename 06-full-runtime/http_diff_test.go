//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The differential test: the same raw bytes, over a real socket, to
// chapter 06's HTTP server and to net/http's, serving the same resources.
// Where they answer with a different status class (2xx, 4xx, 5xx) or
// disagree on whether the connection stays open, one of them is wrong,
// unless the RFCs leave the choice open or net/http is the one at fault;
// each such row says why, with the section.

// startReferenceServer starts net/http on a loopback port, with a handler
// that serves what ours serves, and returns its address. It is closed
// when the test ends, before our server's descriptor count (so start it
// after ours).
func startReferenceServer(t testing.TB) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(referenceHandler))
	srv.Config.MaxHeaderBytes = maxHead            // net/http adds 4 KiB of slack: the cases stay clear of both limits
	srv.Config.DisableGeneralOptionsHandler = true // OPTIONS * goes to the handler, as it does in ours
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// referenceHandler answers as our server does: GET and HEAD on /plaintext
// and /, 404 for another path, 405 for another method. It routes on the
// path as sent (EscapedPath), as ours does, and takes an empty path for
// / (an absolute-form target with no path: RFC 9110 §4.2.3).
func referenceHandler(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	switch {
	case r.Method != "GET" && r.Method != "HEAD":
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
	case path == "/plaintext" || path == "/":
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", strconv.Itoa(len(helloBody)))
		io.WriteString(w, helloBody)
	default:
		http.Error(w, "Not Found", http.StatusNotFound)
	}
}

// probe follows every request sent: if the connection is still open
// after them, it is answered with a 200, so "stays open" is an answer
// one can see, not a silence one would have to time.
const probe = "GET /plaintext HTTP/1.1\r\nHost: probe\r\n\r\n"

// answer is one response as the client saw it.
type answer struct {
	code int
	body string // what came after the head, up to the next response: a refusal of ours names its rule there
}

// exchange connects to addr, writes each piece in a write of its own,
// then the probe, then half-closes (so a request cut short meets EOF, not
// a wait), and reads until the server closes. A write or read that fails
// because the server reset the connection is no error: the answers that
// came before it say why.
func exchange(t testing.TB, addr string, pieces ...string) []answer {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err, "dial")
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)), "deadline")
	for _, p := range append(pieces, probe) {
		if _, err := io.WriteString(c, p); err != nil {
			break
		}
	}
	c.(*net.TCPConn).CloseWrite()
	raw, err := io.ReadAll(c)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server neither answered nor closed within 20 s")
	return parseAnswers(raw)
}

// parseAnswers splits what a server sent into its responses. Every
// response starts with a status line, "HTTP/1.x NNN " (net/http answers
// HTTP/1.0 requests with HTTP/1.0; we answer 1.1, as RFC 9110 §6.2
// advises), and no body either server sends contains one, so it finds
// responses without knowing which requests they answer (an answer to
// HEAD has no body).
func parseAnswers(raw []byte) []answer {
	var answers []answer
	starts := statusLine.FindAllIndex(raw, -1)
	for i, s := range starts {
		end := len(raw)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		resp := raw[s[0]:end]
		code, _ := strconv.Atoi(string(resp[len("HTTP/1.1 "):][:3]))
		var body string
		if i := bytes.Index(resp, []byte("\r\n\r\n")); i >= 0 {
			body = string(resp[i+4:])
		}
		answers = append(answers, answer{code: code, body: body})
	}
	return answers
}

var statusLine = regexp.MustCompile(`HTTP/1\.[01] [0-9]{3} `)

func (a answer) String() string { return fmt.Sprintf("%d %q", a.code, a.body) }

func codes(answers []answer) []int {
	var c []int
	for _, a := range answers {
		c = append(c, a.code)
	}
	return c
}

func classes(answers []answer) string {
	var s strings.Builder
	for _, a := range answers {
		fmt.Fprintf(&s, "%dxx ", a.code/100)
	}
	return strings.TrimSpace(s.String())
}

// documented are our refusals where net/http may rightly do otherwise,
// each with why; the table has a row for each but the head limit (its
// rows stay clear of both servers' limits, which are counted
// differently). After one of them, the fuzz target does not compare what
// comes next.
var documented = map[string]string{
	errObsFold.why:      "net/http unfolds obs-fold; RFC 9112 §5.2 lets a server refuse it with 400 instead",
	errTargetForm.why:   "net/http takes any URI (CONNECT's authority-form, other schemes, opaque URIs) and leaves the rest to the handler; we serve only origin-form, absolute-form with http or https, and * (RFC 9112 §3.2)",
	errAuthority.why:    "net/http accepts userinfo and an empty host in an absolute-form target; RFC 9110 §4.2.4 says treat userinfo as an error, §4.2.1 says an empty host MUST be rejected",
	errHostInvalid.why:  "net/http checks only that each byte of Host may appear in a host; we check the grammar (RFC 9112 §3.2: an invalid Host MUST be 400)",
	errLengthAndTE.why:  "net/http lets Transfer-Encoding win and keeps the connection open; RFC 9112 §6.3 says the server MUST close after such a request",
	errEncoding.why:     "net/http decodes chunked; we implement no transfer coding and answer 501 (RFC 9112 §6.1)",
	errEncoding10.why:   "net/http ignores Transfer-Encoding in HTTP/1.0; RFC 9112 §6.1 says to treat the framing as faulty and close",
	errExpectation.why:  "net/http reads only the first Expect field, and only looks for 100-continue in it; RFC 9110 §10.1.1 lets a server refuse any other expectation with 417",
	errEmptyLine.why:    "net/http skips up to 4 CR or LF bytes before a request line, only after a POST; RFC 9112 §2.2 says a server SHOULD skip an empty line there; we refuse it",
	errHeadTooLarge.why: "net/http allows 4 KiB over MaxHeaderBytes, and counts differently",
}

// quirks are net/http's behaviours that differ from ours where ours is
// not a refusal, so disagreement cannot see them in our answers: the
// fuzz target skips an input that may show one (it looks only at the
// input's bytes, so it skips more than it must). Each has a row in the
// table.
var quirks = []struct {
	why   string
	shows func(input []byte) bool
}{
	{"net/http keeps an HTTP/1.0 connection open when Connection lists keep-alive, even if it lists close too; RFC 9112 §9.3: with close, the connection does not persist",
		func(input []byte) bool {
			return bytes.Contains(input, []byte("HTTP/1.0")) &&
				connectionLists("keep-alive").Match(input) && connectionLists("close").Match(input)
		}},
}

// connectionLists matches a Connection field line whose value holds
// option, in any case.
func connectionLists(option string) *regexp.Regexp {
	return regexp.MustCompile(`(?im)^connection:[^\n]*` + regexp.QuoteMeta(option))
}

// knownQuirk returns why net/http may answer input otherwise than we do
// where we do not refuse it, or "".
func knownQuirk(input []byte) string {
	for _, q := range quirks {
		if q.shows(input) {
			return q.why
		}
	}
	return ""
}

// disagreement compares what the two servers answered to the same bytes,
// and returns why they disagree, or "" if they agree. They agree if they
// answered with the same status classes, in the same order, and so left
// the connection open after the same request (the probe's answer is in
// the list). Two differences are not disagreements: one of our refusals
// that the table documents, after which net/http may do anything; and a
// request both refused, closing, with a different status: when a request
// breaks several rules, no RFC says which to report first.
func disagreement(ours, theirs []answer) string {
	k := 0
	for k < len(ours) && k < len(theirs) && ours[k].code/100 == theirs[k].code/100 {
		k++
	}
	if k == len(ours) && k == len(theirs) {
		return ""
	}
	if len(ours) > 0 && len(ours)-1 <= k && documented[ours[len(ours)-1].body] != "" {
		return ""
	}
	if k < len(ours) && k < len(theirs) && len(ours) == k+1 && len(theirs) == k+1 && ours[k].code >= 400 && theirs[k].code >= 400 {
		return ""
	}
	return fmt.Sprintf("ours %v, net/http's %v: they part at answer %d", codes(ours), codes(theirs), k+1)
}

// diffCase is one row of the differential table.
type diffCase struct {
	name    string
	request string
	want    []int  // our answers to request's requests
	open    bool   // after them the connection is still open (the probe is answered too)
	differs string // why net/http rightly answers otherwise, and where the RFC says so; "" if it must agree
}

const host = "Host: a\r\n"

var diffCases = []diffCase{
	// What any client sends.
	{"a GET", "GET /plaintext HTTP/1.1\r\n" + host + "\r\n", []int{200}, true, ""},
	{"HEAD, then GET: HEAD's answer has no body, and the GET's is not taken for it", "HEAD /plaintext HTTP/1.1\r\n" + host + "\r\nGET / HTTP/1.1\r\n" + host + "\r\n", []int{200, 200}, true, ""},
	{"HEAD with Connection: close", "HEAD / HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", []int{200}, false, ""},
	{"an unknown path is 404, and the connection stays open", "GET /nope HTTP/1.1\r\n" + host + "\r\n", []int{404}, true, ""},
	{"POST is 405; its body is skipped, and the request after it answered", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n" + host + "\r\n", []int{405, 200}, true, ""},
	{"a method is case-sensitive: get is 405", "get / HTTP/1.1\r\n" + host + "\r\n", []int{405}, true, ""},
	{"a method that is not a token is 400", "G(T / HTTP/1.1\r\n" + host + "\r\n", []int{400}, false, ""},

	// The target.
	{"the query is not part of the path", "GET /plaintext?x=1 HTTP/1.1\r\n" + host + "\r\n", []int{200}, true, ""},
	{"a query on /", "GET /?a=b&c HTTP/1.1\r\n" + host + "\r\n", []int{200}, true, ""},
	{"the path is matched as sent: %70 is not decoded", "GET /%70laintext HTTP/1.1\r\n" + host + "\r\n", []int{404}, true, ""},
	{"a malformed %-escape is 400", "GET /a%zz HTTP/1.1\r\n" + host + "\r\n", []int{400}, false, ""},
	{"a control byte in the target is 400, then close", "GET /\x01 HTTP/1.1\r\n" + host + "\r\n", []int{400}, false, ""},
	{"DEL in the target is 400", "GET /\x7f HTTP/1.1\r\n" + host + "\r\n", []int{400}, false, ""},
	{"a space in the target is 400", "GET /a b HTTP/1.1\r\n" + host + "\r\n", []int{400}, false, ""},
	{"absolute-form is served (RFC 9112 §3.2.2)", "GET http://a/plaintext HTTP/1.1\r\n" + host + "\r\n", []int{200}, true, ""},
	{"absolute-form: its authority overrides Host", "GET http://b/plaintext?q HTTP/1.1\r\n" + host + "\r\n", []int{200}, true, ""},
	{"absolute-form: the scheme is case-insensitive", "GET HTTP://a/plaintext HTTP/1.1\r\n" + host + "\r\n", []int{200}, true, ""},
	{"absolute-form without a path is /", "GET http://a HTTP/1.1\r\n" + host + "\r\n", []int{200}, true, ""},
	{"absolute-form with an IPv6 host and a port", "GET https://[::1]:8080/ HTTP/1.1\r\n" + host + "\r\n", []int{200}, true, ""},
	{"absolute-form with a port that is not a number is 400", "GET http://a:b/ HTTP/1.1\r\n" + host + "\r\n", []int{400}, false, ""},
	{"absolute-form with userinfo is 400", "GET http://u@a/plaintext HTTP/1.1\r\n" + host + "\r\n", []int{400}, false, documented[errAuthority.why]},
	{"absolute-form with an empty host is 400", "GET http:///plaintext HTTP/1.1\r\n" + host + "\r\n", []int{400}, false, documented[errAuthority.why]},
	{"absolute-form with another scheme is 400", "GET ftp://a/plaintext HTTP/1.1\r\n" + host + "\r\n", []int{400}, false, documented[errTargetForm.why]},
	{"CONNECT's authority-form is 400: we are not a proxy", "CONNECT a:443 HTTP/1.1\r\n" + host + "\r\n", []int{400}, false, documented[errTargetForm.why]},
	{"OPTIONS * is 405", "OPTIONS * HTTP/1.1\r\n" + host + "\r\n", []int{405}, true, ""},
	{"GET * names nothing: 404", "GET * HTTP/1.1\r\n" + host + "\r\n", []int{404}, true, ""},

	// Host.
	{"HTTP/1.1 without Host is 400 (RFC 9112 §3.2)", "GET / HTTP/1.1\r\n\r\n", []int{400}, false, ""},
	{"two Hosts are 400", "GET / HTTP/1.1\r\n" + host + host + "\r\n", []int{400}, false, ""},
	{"a Host with a space is 400", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", []int{400}, false, ""},
	{"an empty Host is valid (a target without authority)", "GET / HTTP/1.1\r\nHost:\r\n\r\n", []int{200}, true, ""},
	{"an IPv6 Host with a port", "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", []int{200}, true, ""},
	{"a Host whose port is not a number is 400", "GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", []int{400}, false, documented[errHostInvalid.why]},
	{"a Host with brackets around no IPv6 address is 400", "GET / HTTP/1.1\r\nHost: [zz]\r\n\r\n", []int{400}, false, documented[errHostInvalid.why]},
	{"HTTP/1.0 needs no Host", "GET / HTTP/1.0\r\n\r\n", []int{200}, false, ""},

	// Connection, and versions.
	{"HTTP/1.0 closes by default", "GET / HTTP/1.0\r\n" + host + "\r\n", []int{200}, false, ""},
	{"HTTP/1.0 with keep-alive stays open", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", []int{200}, true, ""},
	{"HTTP/1.0 with keep-alive and close closes", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", []int{200}, false, quirks[0].why},
	{"HTTP/1.0 with keep-alive, then close in a second field, closes", "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", []int{200}, false, quirks[0].why},
	{"Connection: keep-alive, close closes (RFC 9112 §9.6)", "GET / HTTP/1.1\r\n" + host + "Connection: keep-alive, close\r\n\r\n", []int{200}, false, ""},
	{"Connection: close, TE closes", "GET / HTTP/1.1\r\n" + host + "Connection: close, TE\r\n\r\n", []int{200}, false, ""},
	{"close in the first Connection field, keep-alive in the second: close", "GET / HTTP/1.1\r\n" + host + "Connection: close\r\nConnection: keep-alive\r\n\r\n", []int{200}, false, ""},
	{"CLOSE: options are case-insensitive", "GET / HTTP/1.1\r\n" + host + "Connection: CLOSE\r\n\r\n", []int{200}, false, ""},
	{"closed is not close", "GET / HTTP/1.1\r\n" + host + "Connection: closed\r\n\r\n", []int{200}, true, ""},
	{"HTTP/1.2 is served as 1.1 (RFC 9110 §6.2)", "GET / HTTP/1.2\r\n" + host + "\r\n", []int{200}, true, ""},
	{"HTTP/2.0 is 505", "GET / HTTP/2.0\r\n" + host + "\r\n", []int{505}, false, ""},
	{"HTTP/0.9 is 505", "GET / HTTP/0.9\r\n" + host + "\r\n", []int{505}, false, ""},
	{"HTTP/1.10 is malformed: 400", "GET / HTTP/1.10\r\n" + host + "\r\n", []int{400}, false, ""},
	{"http/1.1 is malformed: the name is case-sensitive", "GET / http/1.1\r\n" + host + "\r\n", []int{400}, false, ""},
	{"a request line without a version is 400", "GET /\r\n\r\n", []int{400}, false, ""},
	{"two spaces in the request line are 400", "GET  / HTTP/1.1\r\n" + host + "\r\n", []int{400}, false, ""},

	// Line ends and bytes in fields.
	{"bare LF line ends are accepted (RFC 9112 §2.2)", "GET / HTTP/1.1\nHost: a\n\n", []int{200}, true, ""},
	{"two requests with bare LF", "GET / HTTP/1.1\nHost: a\n\nGET /plaintext HTTP/1.1\nHost: a\n\n", []int{200, 200}, true, ""},
	{"CRLF and LF mixed", "GET / HTTP/1.1\r\nHost: a\n\r\n", []int{200}, true, ""},
	{"an LF inside a value ends the line: the Content-Length after it is a field, and its body is skipped",
		"GET / HTTP/1.1\r\n" + host + "X: a\nContent-Length: 5\r\n\r\nhelloGET /smuggled HTTP/1.1\r\n" + host + "\r\n", []int{200, 404}, true, ""},
	{"a bare CR inside a value is 400", "GET / HTTP/1.1\r\n" + host + "X: a\rb\r\n\r\n", []int{400}, false, ""},
	{"a bare CR at the end of a field line is 400", "GET / HTTP/1.1\r\n" + host + "X: a\r\r\n\r\n", []int{400}, false, ""},
	{"NUL in a value is 400", "GET / HTTP/1.1\r\n" + host + "X: a\x00b\r\n\r\n", []int{400}, false, ""},
	{"another control byte in a value is 400", "GET / HTTP/1.1\r\n" + host + "X: a\x01b\r\n\r\n", []int{400}, false, ""},
	{"obs-fold is 400 (RFC 9112 §5.2)", "GET / HTTP/1.1\r\n" + host + "X: a\r\n b\r\n\r\n", []int{400}, false, documented[errObsFold.why]},
	{"a space before the first field line is 400", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", []int{400}, false, ""},
	{"a space before the colon is 400 (RFC 9112 §5.1)", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", []int{400}, false, ""},
	{"a field name that is not a token is 400", "GET / HTTP/1.1\r\n" + host + "X@Y: a\r\n\r\n", []int{400}, false, ""},
	{"a field line without a colon is 400", "GET / HTTP/1.1\r\n" + host + "NoColon\r\n\r\n", []int{400}, false, ""},
	{"an empty line before the request line is 400", "\r\nGET / HTTP/1.1\r\n" + host + "\r\n", []int{400}, false, ""},
	{"an empty line after a POST's body is 400", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\n\r\nhello\r\nGET / HTTP/1.1\r\n" + host + "\r\n", []int{405, 400}, false, documented[errEmptyLine.why]},

	// Framing: Content-Length and Transfer-Encoding, the smuggling cases.
	{"the same Content-Length twice is one", "GET / HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", []int{200}, true, ""},
	{"two different Content-Lengths are 400", "GET / HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", []int{400}, false, ""},
	{"a Content-Length list is 400", "GET / HTTP/1.1\r\n" + host + "Content-Length: 5, 5\r\n\r\nhello", []int{400}, false, ""},
	{"a signed Content-Length is 400", "GET / HTTP/1.1\r\n" + host + "Content-Length: +5\r\n\r\nhello", []int{400}, false, ""},
	{"a hex Content-Length is 400", "GET / HTTP/1.1\r\n" + host + "Content-Length: 0x5\r\n\r\nhello", []int{400}, false, ""},
	{"a Content-Length over 2^63 is 400", "GET / HTTP/1.1\r\n" + host + "Content-Length: 99999999999999999999\r\n\r\n", []int{400}, false, ""},
	{"leading zeros in Content-Length are fine", "GET / HTTP/1.1\r\n" + host + "Content-Length: 005\r\n\r\nhello", []int{200}, true, ""},
	{"CL.TE: Content-Length and Transfer-Encoding are 400, and close (RFC 9112 §6.3)",
		"POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n" + host + "\r\n", []int{400}, false, documented[errLengthAndTE.why]},
	{"TE.CL: the same in the other order", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", []int{400}, false, documented[errLengthAndTE.why]},
	{"chunked is 501 (RFC 9112 §6.1)", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", []int{501}, false, documented[errEncoding.why]},
	{"gzip is 501", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n", []int{501}, false, ""},
	{"an obfuscated coding is 501", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: xchunked\r\n\r\n", []int{501}, false, ""},
	{"Transfer-Encoding in HTTP/1.0 is 400: its chunked body is not a request", "POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", []int{400}, false, documented[errEncoding10.why]},

	// Expect.
	{"Expect: 100-continue with a body: answered at once, then close", "POST / HTTP/1.1\r\n" + host + "Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello", []int{405}, false, ""},
	{"Expect: 100-continue without a body stays open", "GET / HTTP/1.1\r\n" + host + "Expect: 100-continue\r\n\r\n", []int{200}, true, ""},
	{"Expect: 100-continue in HTTP/1.0 is ignored (RFC 9110 §10.1.1)", "POST / HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello", []int{405}, true, ""},
	{"another expectation is 417", "GET / HTTP/1.1\r\n" + host + "Expect: foo\r\n\r\n", []int{417}, false, ""},
	{"100-continue listed with another is 417", "GET / HTTP/1.1\r\n" + host + "Expect: 100-continue, foo\r\n\r\n", []int{417}, false, documented[errExpectation.why]},

	// Limits.
	{"a 4 KiB head is fine", "GET / HTTP/1.1\r\n" + host + "X: " + strings.Repeat("a", 4<<10) + "\r\n\r\n", []int{200}, true, ""},
	{"a 16 KiB head is 431", "GET / HTTP/1.1\r\n" + host + "X: " + strings.Repeat("a", 16<<10) + "\r\n\r\n", []int{431}, false, ""},
}

func TestHTTPDifferential(t *testing.T) {
	ours := startHTTPServer(t).addr.String()
	theirs := startReferenceServer(t)
	require.GreaterOrEqual(t, len(diffCases), 40, "rows")
	for _, tc := range diffCases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if tc.open {
				want = append(want[:len(want):len(want)], 200) // the probe's answer
			}
			got, ref := exchange(t, ours, tc.request), exchange(t, theirs, tc.request)
			assert.Equal(t, want, codes(got), "our answers (the last is the probe's if the connection stayed open): %v", got)
			if tc.differs == "" {
				assert.Equal(t, classes(got), classes(ref), "net/http answered %v, we %v", codes(ref), codes(got))
			} else {
				assert.NotEqual(t, classes(got), classes(ref),
					"net/http answers like us now (%v): the row's reason, %q, no longer holds", codes(ref), tc.differs)
				assert.True(t, disagreement(got, ref) == "" || knownQuirk([]byte(tc.request)) != "",
					"the fuzz target must accept a documented difference: %s", disagreement(got, ref))
			}
		})
	}
}

func TestHTTPSplitRequests(t *testing.T) {
	// A pipelined pair with every kind of line end, and a body.
	pair := "POST /plaintext?a=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" +
		"HEAD / HTTP/1.1\nHost: a\nConnection: close\n\n"
	want := []int{405, 200}

	t.Run("the session gives the same answers to a pair cut at every byte, and to one byte at a time", func(t *testing.T) {
		now := time.Now()
		require.Equal(t, want, codes(parseAnswers(feed(newBareHTTPSession(), []byte(pair), now))), "the pair in one piece")
		for cut := range len(pair) {
			h := newBareHTTPSession()
			out := append(feed(h, []byte(pair[:cut]), now), feed(h, []byte(pair[cut:]), now)...)
			assert.Equal(t, want, codes(parseAnswers(out)), "cut at %d", cut)
		}
		assert.Equal(t, want, codes(parseAnswers(feedByteAtATime(newBareHTTPSession(), pair))), "a byte at a time")
	})

	ours := startHTTPServer(t).addr.String()
	theirs := startReferenceServer(t)
	for _, server := range []struct{ name, addr string }{{"ours", ours}, {"net/http", theirs}} {
		t.Run(server.name+": the pair in two writes, cut at every byte, gets the same answers", func(t *testing.T) {
			for cut := 1; cut < len(pair); cut++ {
				assert.Equal(t, want, codes(exchange(t, server.addr, pair[:cut], pair[cut:])), "cut at %d", cut)
			}
		})
		t.Run(server.name+": the pair a byte at a time gets the same answers", func(t *testing.T) {
			pieces := strings.Split(pair, "")
			assert.Equal(t, want, codes(exchange(t, server.addr, pieces...)), "a byte a write")
		})
	}
}

// FuzzHTTPDifferential sends the same bytes to both servers, and fails
// where they disagree in a way the table does not document (see
// disagreement). Its seeds are the table's rows.
func FuzzHTTPDifferential(f *testing.F) {
	for _, tc := range diffCases {
		f.Add([]byte(tc.request))
	}
	ours := startHTTPServer(f).addr.String()
	theirs := startReferenceServer(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if why := knownQuirk(data); why != "" {
			t.Skip(why)
		}
		got, ref := exchange(t, ours, string(data)), exchange(t, theirs, string(data))
		if why := disagreement(got, ref); why != "" {
			t.Errorf("%s\nrequest:  %q\nours:     %v\nnet/http: %v", why, data, got, ref)
		}
	})
}
