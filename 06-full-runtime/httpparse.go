//go:build linux

package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
)

// The HTTP application's request parser: the smallest we could write that
// does what RFC 9112 (HTTP/1.1's syntax) and RFC 9110 (HTTP's semantics)
// say a server MUST, and refuses what it does not serve instead of
// guessing. A request is either served or refused; a refusal names the
// rule that was broken, in its body, and closes the connection, because
// after a request we could not read we cannot know where the next one
// starts.
//
// Where the RFCs leave a choice, we made these (each has a row in the
// differential test against net/http, http_diff_test.go):
//
//   - A bare LF ends a line as CRLF does (RFC 9112 §2.2 allows it, and
//     net/http does the same); a CR anywhere but before an LF is refused.
//     Since every LF ends a line, no field can hide another in its value.
//   - Obsolete line folding (a field line that starts with a space or a
//     tab) is refused with 400; RFC 9112 §5.2 allows that or unfolding.
//   - No transfer coding is implemented: a Transfer-Encoding is 501, as
//     RFC 9112 §6.1 advises for a coding a server does not understand.
//     This falls short of §7.1, which asks every recipient to parse
//     chunked; we answer every request before its body and never read a
//     body, so decoding chunked would only serve to find the next request,
//     and chunked framing is where request smuggling has lived. 501 and a
//     close never guess the framing.
//   - Content-Length and Transfer-Encoding together: 400 and close (RFC
//     9112 §6.3 allows rejecting it, and requires the close).
//   - Expect: 100-continue gets no 100 (Continue): we answer at once,
//     before the body. A client that waits for the 100 may then never send
//     the body it announced, so we cannot tell where its next request
//     starts: after such an answer the connection closes, as net/http's
//     does. Any other expectation is 417 (RFC 9110 §10.1.1).

// httpRequest is what we need of a request head. Its slices point into
// the session's input buffer: valid until the request has been answered.
type httpRequest struct {
	method    []byte
	path      []byte // the target's path, without the query (see parseTarget)
	http10    bool   // an HTTP/1.0 request: a kept-alive answer must say so
	keepAlive bool   // the connection stays open after the answer
	bodyLen   int    // bytes of body after the head (Content-Length), to skip
}

// A refusal is the answer to a request we will not serve: its status and
// a body saying which rule the request broke, and where the RFC says so.
// After it the connection closes.
type refusal struct {
	code int
	why  string
}

// The refusals, one per rule. Their text is the answer's body (in ASCII:
// the answer does not name a charset), and it is also how the
// differential test tells which rule refused a request.
var (
	errEmptyLine     = refusal{400, "an empty line or a CR where the request line should start (RFC 9112 section 2.2)\n"}
	errBareCR        = refusal{400, "a CR not followed by LF (RFC 9112 section 2.2)\n"}
	errRequestLine   = refusal{400, "malformed request line (RFC 9112 section 3)\n"}
	errVersion       = refusal{400, "malformed HTTP version (RFC 9112 section 2.3)\n"}
	errVersionMajor  = refusal{505, "only HTTP/1.x is served here (RFC 9110 section 6.2)\n"}
	errTargetForm    = refusal{400, "the target is not origin-form, absolute-form with http or https, or * (RFC 9112 section 3.2)\n"}
	errTargetByte    = refusal{400, "a control byte or a malformed %-escape in the target (RFC 9112 section 3.2, RFC 3986 section 2.1)\n"}
	errAuthority     = refusal{400, "the target's authority has no host, has userinfo, or is malformed (RFC 9110 section 4.2)\n"}
	errObsFold       = refusal{400, "obsolete line folding is not accepted (RFC 9112 section 5.2)\n"}
	errFieldLine     = refusal{400, "malformed field line: a name is a token followed by a colon (RFC 9112 section 5.1)\n"}
	errFieldValue    = refusal{400, "a control byte in a field value (RFC 9110 section 5.5)\n"}
	errHostMissing   = refusal{400, "no Host, which a request of version 1.1 must have (RFC 9112 section 3.2)\n"}
	errHostRepeated  = refusal{400, "more than one Host (RFC 9112 section 3.2)\n"}
	errHostInvalid   = refusal{400, "Host is not a host and optional port (RFC 9112 section 3.2, RFC 3986 section 3.2.2)\n"}
	errLength        = refusal{400, "Content-Length is not one decimal number (RFC 9112 section 6.3)\n"}
	errLengthAndTE   = refusal{400, "both Content-Length and Transfer-Encoding (RFC 9112 section 6.3)\n"}
	errEncoding10    = refusal{400, "Transfer-Encoding in a request of version 1.0 (RFC 9112 section 6.1)\n"}
	errEncoding      = refusal{501, "no transfer coding is implemented here (RFC 9112 section 6.1)\n"}
	errExpectation   = refusal{417, "the only expectation met here is 100-continue (RFC 9110 section 10.1.1)\n"}
	errHeadTooLarge  = refusal{431, fmt.Sprintf("the request head is over %d KiB (RFC 6585 section 5)\n", maxHead>>10)}
	errIncompleteEOF = refusal{400, "the connection was closed in the middle of a request head (RFC 9112 section 8)\n"}
)

// parseHead parses the request head at the front of b. It returns the
// head's length n, through the empty line that ends it, or 0 if that line
// has not come yet; and, once it has, the request, or the refusal for the
// first rule the head breaks: first the syntax (request line, target,
// field lines), then what the fields say (framing, Host, expectations).
//
// Lines end with LF, with or without a CR before it (see nextLine), so the
// head ends at the first empty line after the request line. The lines are
// found in one scan and each is parsed as it is found (no separate pass
// for the head's end), and a batch of pipelined requests is scanned once
// in all, not once per request. A
// refusal waits for the end of the head, as an answer does: a head that
// never ends is refused for its length, or for the connection's end.
func parseHead(b []byte) (req httpRequest, n int, bad *refusal) {
	line, n, ok := nextLine(b, 0)
	if !ok {
		return req, 0, nil
	}
	bad = req.parseFirstLine(line)
	var f headFields
	for {
		line, n, ok = nextLine(b, n)
		if !ok {
			return req, 0, nil
		}
		if len(line) == 0 {
			break // the empty line that ends the head
		}
		if bad == nil {
			if bad = f.add(line); bad != nil {
				bad = bareCROr(line, bad)
			}
		}
	}
	if bad == nil {
		bad = req.apply(&f)
	}
	return req, n, bad
}

// nextLine returns the line of b that starts at from, without its line
// end, and where the next one starts; false if its end has not come yet.
// RFC 9112 §2.2: a line ends with CRLF, and a recipient MAY take a bare LF
// as a line end too; we do. A CR left in the line is a bare CR, which the
// same section says is invalid: bareCROr refuses it.
func nextLine(b []byte, from int) (line []byte, next int, ok bool) {
	i := bytes.IndexByte(b[from:], '\n')
	if i < 0 {
		return nil, 0, false
	}
	line = b[from : from+i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, from + i + 1, true
}

// parseFirstLine parses the request line and its target.
func (req *httpRequest) parseFirstLine(line []byte) *refusal {
	if len(line) == 0 || line[0] == '\r' {
		// RFC 9112 §2.2: a server SHOULD skip at least one empty line
		// here (old clients sent a CRLF after a POST's body). We refuse
		// it, as we refuse any request line that does not start with a
		// method: a byte we do not understand ends the connection.
		return &errEmptyLine
	}
	target, bad := req.parseRequestLine(line)
	if bad == nil {
		bad = req.parseTarget(target)
	}
	if bad != nil {
		return bareCROr(line, bad)
	}
	return nil
}

// fastHead parses the head at the front of b if it has the plain shape
// that requests from curl and the load generator have (both are among
// the tests' plainHeads), in one pass over its bytes: a method, one
// space, a path that starts with / (no %-escape), one space, HTTP/1.1 or
// HTTP/1.0, and field lines "name: value" with nothing unusual in them,
// each line ending in CRLF or LF, all within maxHead. For anything else,
// and for a head that has not all come, ok is false, and parseHead
// decides: it can refuse what fastHead leaves, and fastHead only ever
// leaves things to it, never refuses. Where both accept a head, they
// return the same request (TestFastHeadAgrees and FuzzFastHead check it
// on the tests' heads). This is the optimisation "the plain head in one
// pass" on the benchmarks page: parseHead finds each line once, but then
// looks at it again for its parts and at each part for its bytes, which
// the rare head needs and the common one does not.
func (req *httpRequest) fastHead(b []byte) (n int, ok bool) {
	*req = httpRequest{}
	b = b[:min(len(b), maxHead)]
	i := 0
	for i < len(b) && tokenByte[b[i]] {
		i++
	}
	if i == 0 || i+1 >= len(b) || b[i] != ' ' || b[i+1] != '/' {
		return 0, false
	}
	req.method = b[:i]
	i++
	start := i
	for i < len(b) && pathByte[b[i]] {
		i++
	}
	req.path = b[start:i]
	if i < len(b) && b[i] == '?' { // a query, which the path does not include
		for i++; i < len(b) && (pathByte[b[i]] || b[i] == '?'); i++ {
		}
	}
	i++ // the space, if the target ended at one
	if len(b)-i < len("HTTP/1.1") || b[i-1] != ' ' || string(b[i:i+len("HTTP/1.")]) != "HTTP/1." {
		return 0, false
	}
	switch b[i+7] {
	case '1':
	case '0':
		req.http10 = true
	default:
		return 0, false
	}
	if i, ok = lineEnd(b, i+len("HTTP/1.1")); !ok {
		return 0, false
	}
	var f headFields
	for {
		if n, ok = lineEnd(b, i); ok {
			break // the empty line that ends the head
		}
		nameStart := i
		for i < len(b) && tokenByte[b[i]] {
			i++
		}
		if i == nameStart || i == len(b) || b[i] != ':' {
			return 0, false
		}
		name := b[nameStart:i]
		for i++; i < len(b) && (b[i] == ' ' || b[i] == '\t'); i++ {
		}
		valueStart := i
		for i < len(b) && valueByte[b[i]] {
			i++
		}
		value := trimSpaceTab(b[valueStart:i])
		if i, ok = lineEnd(b, i); !ok || f.field(name, value) != nil {
			return 0, false
		}
	}
	if req.apply(&f) != nil {
		return 0, false
	}
	return n, true
}

// lineEnd reports whether a line end, CRLF or LF, starts at b[i], and
// where the next line starts.
func lineEnd(b []byte, i int) (int, bool) {
	switch {
	case i < len(b) && b[i] == '\n':
		return i + 1, true
	case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
		return i + 2, true
	}
	return 0, false
}

// bareCROr is the refusal for a line that failed a check: a bare CR, if
// the line holds one, else the check's own. A CR is not a token byte, nor
// allowed in a target, a version or a field value, so a line with one
// always fails some check: looking for it only then costs the valid lines
// nothing, and refuses exactly what looking first would (RFC 9112 §2.2).
func bareCROr(line []byte, bad *refusal) *refusal {
	if bytes.IndexByte(line, '\r') >= 0 {
		return &errBareCR
	}
	return bad
}

// parseRequestLine parses "method SP target SP version" (RFC 9112 §3):
// single spaces, a method that is a token, a version "HTTP/" DIGIT "."
// DIGIT (§2.3). A later minor version is served as 1.1 (RFC 9110 §6.2);
// another major version is 505. It returns the target, not yet parsed.
func (req *httpRequest) parseRequestLine(line []byte) (target []byte, bad *refusal) {
	method, rest, ok1 := bytes.Cut(line, []byte(" "))
	target, version, ok2 := bytes.Cut(rest, []byte(" "))
	if !ok1 || !ok2 || !validToken(method) || len(target) == 0 {
		return nil, &errRequestLine
	}
	if len(version) != len("HTTP/1.1") || string(version[:5]) != "HTTP/" ||
		!isDigit(version[5]) || version[6] != '.' || !isDigit(version[7]) {
		return nil, &errVersion
	}
	if version[5] != '1' {
		return nil, &errVersionMajor
	}
	req.method, req.http10 = method, version[7] == '0'
	return target, nil
}

// parseTarget finds the path of a request target (RFC 9112 §3.2), which
// is all the routing needs: "/p?q" (origin-form) has the path /p;
// "http://host/p?q" (absolute-form, which a server MUST accept, §3.2.2)
// the path /p, or / if it has none, and its authority is checked like a
// Host (the application serves one host, so it routes on neither); "*"
// (asterisk-form) the path *, which names no resource
// here. A control byte or a space (which the request line's split
// leaves only as a second space) is refused, and so is a malformed
// %-escape in the path. The query is not part of the path.
func (req *httpRequest) parseTarget(target []byte) *refusal {
	query, escapes := len(target), false
	for i, c := range target {
		switch {
		case c <= ' ' || c == 0x7f:
			return &errTargetByte
		case c == '?' && query == len(target):
			query = i
		case c == '%':
			escapes = true
		}
	}
	path := target[:query] // the query is not part of the path
	switch {
	case target[0] == '/' || string(target) == "*":
	case hasPrefixFold(target, "http://") || hasPrefixFold(target, "https://"):
		rest := path[bytes.IndexByte(path, ':')+len("://"):]
		end := bytes.IndexByte(rest, '/')
		if end < 0 {
			end = len(rest)
		}
		authority := rest[:end]
		path = rest[end:]
		// RFC 9110 §4.2.1: an http URI with an empty host MUST be
		// rejected; §4.2.4: userinfo SHOULD be treated as an error.
		if len(authority) == 0 || authority[0] == ':' || bytes.IndexByte(authority, '@') >= 0 || !validHost(authority) {
			return &errAuthority
		}
	default:
		return &errTargetForm
	}
	if escapes && !validEscapes(path) {
		return &errTargetByte
	}
	if len(path) == 0 {
		path = []byte("/") // RFC 9110 §4.2.3: an empty path is the same as /
	}
	req.path = path
	return nil
}

// headFields collects what the field lines of one head say about how to
// answer it and where the next request starts. The other fields are
// checked for syntax and then ignored.
type headFields struct {
	hosts       int    // Host field lines
	host        []byte // the first one's value
	lengths     int    // Content-Length field lines
	length      []byte // the first one's value; any other must be the same
	encoded     bool   // a Transfer-Encoding came
	close       bool   // Connection lists close
	keepAlive   bool   // Connection lists keep-alive
	continue100 bool   // Expect lists 100-continue
	expectOther bool   // Expect lists something else
}

// add parses one field line, "name: value" (RFC 9112 §5): the name is a
// token, right before the colon; the value is trimmed of spaces and tabs
// and may hold no control byte but the tab (RFC 9110 §5.5: CR, LF and NUL
// MUST be refused; the others are invalid too).
func (f *headFields) add(line []byte) *refusal {
	if line[0] == ' ' || line[0] == '\t' {
		return &errObsFold // on the first field line, RFC 9112 §2.2 allows the same refusal
	}
	colon := 0 // the name's bytes are checked on the way to the colon
	for colon < len(line) && tokenByte[line[colon]] {
		colon++
	}
	if colon == 0 || colon == len(line) || line[colon] != ':' {
		return &errFieldLine // this includes a space before the colon, which §5.1 says MUST be 400
	}
	name, value := line[:colon], trimSpaceTab(line[colon+1:])
	for _, c := range value {
		if c < ' ' && c != '\t' || c == 0x7f {
			return &errFieldValue
		}
	}
	return f.field(name, value)
}

// field takes in what one field says, if it is one of those that decide
// how to answer and where the next request starts; the others are only
// checked for syntax (by add, or fastHead).
func (f *headFields) field(name, value []byte) *refusal {
	switch {
	case isName(name, "host"):
		if f.hosts++; f.hosts == 1 {
			f.host = value
		}
	case isName(name, "content-length"):
		if f.lengths++; f.lengths == 1 {
			f.length = value
		} else if !bytes.Equal(value, f.length) {
			return &errLength // RFC 9110 §8.6: repeated, it must repeat the same value
		}
	case isName(name, "transfer-encoding"):
		f.encoded = true
	case isName(name, "connection"):
		for list := value; len(list) > 0; {
			var option []byte
			option, list = nextListItem(list)
			f.close = f.close || bytes.EqualFold(option, []byte("close"))
			f.keepAlive = f.keepAlive || bytes.EqualFold(option, []byte("keep-alive"))
		}
	case isName(name, "expect"):
		for list := value; len(list) > 0; {
			var expectation []byte
			expectation, list = nextListItem(list)
			if bytes.EqualFold(expectation, []byte("100-continue")) {
				f.continue100 = true
			} else if len(expectation) > 0 {
				f.expectOther = true
			}
		}
	}
	return nil
}

// apply checks what the fields say, in this order, and fills in the
// request's framing and persistence.
func (req *httpRequest) apply(f *headFields) *refusal {
	// Framing first: if it is wrong, nothing after this head can be read.
	switch {
	case f.hosts > 1:
		return &errHostRepeated // RFC 9112 §3.2, whatever the version
	case f.encoded && f.lengths > 0:
		return &errLengthAndTE // RFC 9112 §6.3: MAY reject; MUST close either way
	case f.encoded && req.http10:
		return &errEncoding10 // RFC 9112 §6.1: the framing MUST be treated as faulty
	case f.encoded:
		return &errEncoding
	}
	if f.lengths > 0 {
		n, ok := parseLength(f.length)
		if !ok {
			return &errLength // RFC 9112 §6.3: MUST be 400, then close
		}
		req.bodyLen = n
	}
	// Host: exactly one in HTTP/1.1, and valid in any version (RFC 9112
	// §3.2). With an absolute-form target its authority is the host
	// (§3.2.2); parseTarget has checked it, and Host must still be valid.
	switch {
	case f.hosts == 0 && !req.http10:
		return &errHostMissing
	case f.hosts == 1 && !validHost(f.host):
		return &errHostInvalid
	}
	if f.expectOther {
		return &errExpectation
	}
	// Persistence (RFC 9112 §9.3): HTTP/1.1 stays open unless Connection
	// lists close; HTTP/1.0 closes unless it lists keep-alive.
	req.keepAlive = !f.close && (!req.http10 || f.keepAlive)
	if f.continue100 && !req.http10 && req.bodyLen > 0 {
		req.keepAlive = false // see Expect at the top of this file
	}
	return nil
}

// nextListItem splits off the first element of a comma-separated list of
// tokens (RFC 9110 §5.6.1), as Connection and Expect are; it may be
// empty, and is then ignored. A token holds no space, so spaces and tabs
// separate elements too: that changes nothing for a well-formed list, and
// reads a malformed "x close" as x and close, as net/http does (for
// Connection, closing is the safe side).
func nextListItem(list []byte) (item, rest []byte) {
	i := bytes.IndexAny(list, ", \t")
	if i < 0 {
		return list, nil
	}
	return list[:i], list[i+1:]
}

// validToken reports whether b is a non-empty token (RFC 9110 §5.6.2), as
// a method or a field name must be: letters, digits and !#$%&'*+-.^_`|~.
func validToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenByte[c] {
			return false
		}
	}
	return true
}

// trimSpaceTab trims spaces and tabs from both ends of a field value
// (RFC 9110 §5.5: optional whitespace around it is not part of it).
func trimSpaceTab(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// tokenByte and hostByte say, for each byte, whether it may appear in a
// token, and in a host name or IPv4 address: a table lookup per byte
// instead of a search of the list of punctuation.
var tokenByte, hostByte = byteSet("!#$%&'*+-.^_`|~"), byteSet("-._~!$&'()*+,;=")

// valueByte says which bytes a field value may hold (RFC 9110 §5.5): any
// but the control bytes, the tab excepted.
var valueByte = func() (set [256]bool) {
	for c := range set {
		set[c] = c >= ' ' && c != 0x7f || c == '\t'
	}
	return set
}()

// pathByte says which bytes fastHead takes in a target's path without a
// second look: any visible byte but %, which starts an escape that
// parseTarget checks, and ?, which ends the path. Bytes of 0x80 and more
// are not visible ASCII, but parseTarget lets them through too.
var pathByte = func() (set [256]bool) {
	for c := range set {
		set[c] = c > ' ' && c != 0x7f && c != '%' && c != '?'
	}
	return set
}()

// byteSet is the set of letters, digits and the bytes in punct.
func byteSet(punct string) (set [256]bool) {
	for c := range set {
		set[c] = isAlnum(byte(c)) || strings.IndexByte(punct, byte(c)) >= 0
	}
	return set
}

// validHost reports whether b is a host with an optional port (RFC 9110
// §7.2, RFC 3986 §3.2.2-3): a name or IPv4 address made of letters,
// digits and -._~!$&'()*+,;= (possibly empty: RFC 9112 §3.2 has a client
// send an empty Host when the target has no authority), or an IPv6
// address in brackets; then perhaps ":" and digits. RFC 3986 also allows
// %-escapes in a name, for non-ASCII names; it asks for IDNA instead, and
// DNS names never need them, so we refuse them.
func validHost(b []byte) bool {
	if len(b) > 0 && b[0] == '[' {
		end := bytes.IndexByte(b, ']')
		if end < 0 || !validIPv6(b[1:end]) {
			return false
		}
		b = b[end+1:]
	} else {
		i := 0
		for i < len(b) && hostByte[b[i]] {
			i++
		}
		b = b[i:]
	}
	if len(b) == 0 {
		return true
	}
	if b[0] != ':' {
		return false
	}
	for _, c := range b[1:] {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// validIPv6 reports whether b is an IPv6 address, without a zone: hex
// digits, colons and dots only, then netip's parser for the grammar. The
// conversion to a string costs an allocation, only for such hosts.
func validIPv6(b []byte) bool {
	for _, c := range b {
		if !isHex(c) && c != ':' && c != '.' {
			return false
		}
	}
	addr, err := netip.ParseAddr(string(b))
	return err == nil && addr.Is6()
}

// validEscapes reports whether every % in b starts a %-escape: % and two
// hex digits (RFC 3986 §2.1).
func validEscapes(b []byte) bool {
	for i := bytes.IndexByte(b, '%'); i >= 0; i = bytes.IndexByte(b, '%') {
		if i+2 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2]) {
			return false
		}
		b = b[i+3:]
	}
	return true
}

// parseLength parses a Content-Length: one or more decimal digits
// (RFC 9110 §8.6), and a number that fits in an int.
func parseLength(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if !isDigit(c) || n > (maxInt-int(c-'0'))/10 {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

const maxInt = int(^uint(0) >> 1)

// hasPrefixFold reports whether b starts with prefix, ignoring case: a
// URI's scheme is case-insensitive (RFC 3986 §3.1).
func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}

// isName reports whether name, a token, is lower ignoring case. lower is
// lower-case letters and hyphens, so setting the 0x20 bit of each byte of
// name is enough: the only bytes it turns into a lower-case letter are
// that letter and its capital, and it turns a hyphen into itself and a CR
// into a hyphen, and a token holds no CR. The lengths are compared first,
// so a field with a name we do not act on costs one comparison. (The step
// "isName instead of bytes.EqualFold" on the benchmarks page; TestIsName.)
func isName(name []byte, lower string) bool {
	if len(name) != len(lower) {
		return false
	}
	for i := range len(lower) {
		if name[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'f' }
func isAlnum(c byte) bool { return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'z' }
