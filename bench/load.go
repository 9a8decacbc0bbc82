//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The load generator: one thread, raw epoll, like the servers it drives,
// so that it costs as little as the kernel allows and the same for every
// server. Closed loop: each of c connections keeps d requests in flight
// and sends the next as soon as an answer is complete. Open loop (rate >
// 0): requests leave at a fixed total rate whatever the answers do, and
// latency counts from the moment each was meant to leave, so that a slow
// server cannot hide its queueing (coordinated omission).

// loadConfig is one run of the load generator.
type loadConfig struct {
	Addr     string        `json:"addr"`
	Mode     string        `json:"mode"`     // "echo" or "http"
	Conns    int           `json:"conns"`    // connections
	Size     int           `json:"size"`     // echo: message size, newline included
	Depth    int           `json:"depth"`    // closed loop: requests in flight per connection
	Rate     float64       `json:"rate"`     // open loop: requests per second in all; 0 for closed loop
	Idle     bool          `json:"idle"`     // one round trip per connection, then silence: for memory per idle connection
	Warmup   time.Duration `json:"warmup"`   // load before measuring starts
	Duration time.Duration `json:"duration"` // measured time
}

// loadResult is what one run measured.
type loadResult struct {
	Responses int64   `json:"responses"`
	Seconds   float64 `json:"seconds"`
	P50us     float64 `json:"p50_us"`
	P99us     float64 `json:"p99_us"`
	Errors    int64   `json:"errors"`   // bad answers; connections that failed
	LoadCPU   float64 `json:"load_cpu"` // the load generator's CPU time in the window, as a share of its one core
}

// loadConn is one client connection.
type loadConn struct {
	fd    int
	out   []byte          // bytes to send, not yet taken by the kernel
	in    []byte          // bytes received, not yet a whole answer
	sent  []time.Duration // when each request in flight left (or was meant to), as time since the run's start
	armed bool            // EPOLLOUT requested
}

// runLoad connects, warms up, measures, and returns what it measured. It
// prints "measuring" to progress when the measured window starts, so the
// caller can sample the server at the same moment.
func runLoad(cfg loadConfig, progress io.Writer) (loadResult, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ap, err := netip.ParseAddrPort(cfg.Addr)
	if err != nil {
		return loadResult{}, err
	}
	request := makeRequest(cfg)
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return loadResult{}, os.NewSyscallError("epoll_create1", err)
	}
	defer unix.Close(epfd)
	conns := make([]*loadConn, 0, cfg.Conns)
	defer func() {
		for _, c := range conns {
			unix.Close(c.fd)
		}
	}()
	for range cfg.Conns {
		c, err := dialLoad(ap, epfd)
		if err != nil {
			return loadResult{}, fmt.Errorf("connection %d: %w", len(conns), err)
		}
		conns = append(conns, c)
	}
	byFD := make([]*loadConn, 0) // indexed by descriptor: no map lookup per event
	for _, c := range conns {
		byFD = append(byFD, make([]*loadConn, max(c.fd+1-len(byFD), 0))...)
		byFD[c.fd] = c
	}

	var res loadResult
	var latencies latencyHistogram
	var cpuFrom time.Duration // the load generator's CPU time when measuring began
	answered := 0             // idle: connections whose one round trip is done
	measuring := false
	// Times are Durations since start: 8 bytes with no pointer, compared
	// and subtracted as integers (a time.Time is 24 bytes holding a
	// pointer, and its methods check two clocks).
	start := time.Now()
	measureFrom := cfg.Warmup
	end := measureFrom + cfg.Duration

	send := func(c *loadConn, at time.Duration) {
		c.out = append(c.out, request...)
		c.sent = append(c.sent, at)
	}
	var interval time.Duration
	nextSend, rr := time.Duration(0), 0
	if cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) / cfg.Rate)
	} else {
		for _, c := range conns {
			for range cfg.Depth {
				send(c, 0)
			}
		}
	}
	for _, c := range conns {
		if err := flushLoad(c, epfd); err != nil {
			return res, err
		}
	}

	answers := newAnswerReader(cfg)
	events := make([]unix.EpollEvent, 256)
	for {
		now := time.Since(start)
		if !measuring && now >= measureFrom && (!cfg.Idle || answered == len(conns)) {
			measuring = true
			res = loadResult{}
			latencies.reset()
			cpuFrom = threadCPU()
			measureFrom, end = now, now+cfg.Duration
			fmt.Fprintln(progress, "measuring")
		}
		if measuring && now >= end {
			break
		}
		timeout := end - now
		if !measuring {
			timeout = max(measureFrom-now, 0)
			if cfg.Idle && answered < len(conns) {
				timeout = time.Second // waiting for the last answers: an event will come
			}
		}
		if cfg.Rate > 0 {
			for nextSend <= now { // open loop: everything due leaves now
				c := conns[rr%len(conns)]
				rr++
				send(c, nextSend)
				if err := flushLoad(c, epfd); err != nil {
					return res, err
				}
				nextSend += interval
			}
			timeout = min(timeout, nextSend-now)
		}
		msec := int((timeout + time.Millisecond - 1) / time.Millisecond)
		n, err := unix.EpollWait(epfd, events, msec)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return res, os.NewSyscallError("epoll_wait", err)
		}
		for _, ev := range events[:n] {
			c := byFD[ev.Fd]
			if ev.Events&unix.EPOLLOUT != 0 {
				if err := flushLoad(c, epfd); err != nil {
					return res, err
				}
			}
			if ev.Events&(unix.EPOLLIN|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
				continue
			}
			got, err := readLoad(c)
			if err != nil {
				return res, err
			}
			if !got {
				continue
			}
			now := time.Since(start)
			// Take every whole answer, then move what is left to the
			// front once: a batch of 16 answers costs one copy, not 16.
			at, first := 0, 0
			for {
				complete, ok := answers.length(c.in[at:])
				if !ok {
					res.Errors++
					return res, fmt.Errorf("bad answer: %q", trim(c.in[at:]))
				}
				if complete == 0 {
					break
				}
				at += complete
				if first == len(c.sent) {
					return res, errors.New("an answer to no request")
				}
				sentAt := c.sent[first]
				first++
				if measuring && sentAt >= measureFrom {
					res.Responses++
					latencies.record(now - sentAt)
				}
				switch {
				case cfg.Idle:
					answered++ // and silence from now on
				case cfg.Rate == 0:
					send(c, now)
				}
			}
			c.in = c.in[:copy(c.in, c.in[at:])]
			c.sent = c.sent[:copy(c.sent, c.sent[first:])]
			if err := flushLoad(c, epfd); err != nil {
				return res, err
			}
		}
	}
	res.Seconds = (time.Since(start) - measureFrom).Seconds()
	res.LoadCPU = (threadCPU() - cpuFrom).Seconds() / res.Seconds
	if cfg.Idle {
		// Hold the connections open until the caller has sampled the
		// server's memory (it answers on stdin; with none, EOF at once).
		fmt.Fprintln(progress, "idle window over")
		bufio.NewReader(os.Stdin).ReadString('\n')
	}
	res.P50us, res.P99us = latencies.quantile(0.50), latencies.quantile(0.99)
	return res, nil
}

// latencyHistogram counts latencies in buckets, for their median and 99th
// percentile: memory of a fixed size, whatever the number of answers (a
// slice of every latency grew to 80 MB in a 3 s echo run, and its growth,
// page faults and final sort were the load generator's to pay). Below
// 1,024 µs a bucket is one microsecond wide; above, each doubling of the
// latency is cut into 512 buckets, so a quantile is exact to 0.2%.
type latencyHistogram struct {
	counts [latencyBuckets]uint32
	n      int64
}

const (
	latencyLinear  = 1024                              // one bucket per microsecond below this
	latencyPerStep = 512                               // buckets per doubling above it
	latencyBuckets = latencyLinear + 54*latencyPerStep // up to 2^64 µs: every Duration fits
)

func (h *latencyHistogram) reset() { *h = latencyHistogram{} }

func (h *latencyHistogram) record(d time.Duration) {
	h.counts[latencyBucket(uint64(max(d, 0)/time.Microsecond))]++
	h.n++
}

// latencyBucket is the bucket of a latency of us microseconds.
func latencyBucket(us uint64) int {
	if us < latencyLinear {
		return int(us)
	}
	shift := bits.Len64(us) - 10 // us>>shift is in [512, 1024)
	return latencyLinear + (shift-1)*latencyPerStep + int(us>>shift) - latencyPerStep
}

// latencyFloor is the smallest latency, in microseconds, in bucket i.
func latencyFloor(i int) uint64 {
	if i < latencyLinear {
		return uint64(i)
	}
	i -= latencyLinear
	shift := i/latencyPerStep + 1
	return uint64(latencyPerStep+i%latencyPerStep) << shift
}

// quantile is the latency, in microseconds, below which a fraction q of
// those recorded fell: the floor of the bucket that holds it, as a sorted
// list's element number n*q would be (0 with none recorded).
func (h *latencyHistogram) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := int64(float64(h.n) * q) // the element a sorted list would give, counting from 0
	seen := int64(0)
	for i, c := range h.counts {
		seen += int64(c)
		if seen > rank {
			return float64(latencyFloor(i))
		}
	}
	return float64(latencyFloor(latencyBuckets - 1))
}

// threadCPU is the CPU time, user and system, of the calling thread (the
// load generator's loop is locked to its thread). If the load generator's
// share of its core is near 1, it, not the server, may be what sets the
// pace, and the table says so.
func threadCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// makeRequest is the bytes of one request: an echo line of cfg.Size bytes
// ending in a newline (chapter 06 echoes lines), or an HTTP GET.
func makeRequest(cfg loadConfig) []byte {
	if cfg.Mode == "http" {
		return []byte("GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n")
	}
	b := bytes.Repeat([]byte("x"), max(cfg.Size-1, 0))
	return append(b, '\n')
}

// answerReader finds where answers end. It remembers the last HTTP head
// it parsed: a server sends the same head again and again (its Date
// changes once a second), and an answer that starts with the same bytes
// as one already parsed is as long as that one; only a new head is
// parsed. At two million answers a second, parsing every head took a
// quarter of the load generator's time, and the load generator must not
// be what sets the pace.
//
// An echo answer is as long as the request: that is settled once, not
// asked of the config for every answer.
type answerReader struct {
	cfg  loadConfig
	http bool   // cfg.Mode == "http"
	echo int    // !http: the length of every answer
	head []byte // the last HTTP head parsed, through its empty line
	size int    // the length of the whole answer that had that head
}

func newAnswerReader(cfg loadConfig) *answerReader {
	return &answerReader{cfg: cfg, http: cfg.Mode == "http", echo: cfg.Size}
}

func (a *answerReader) length(in []byte) (int, bool) {
	if !a.http {
		if len(in) < a.echo {
			return 0, true
		}
		return a.echo, true
	}
	if len(a.head) > 0 && bytes.HasPrefix(in, a.head) {
		if len(in) < a.size {
			return 0, true
		}
		return a.size, true
	}
	n, ok := answerLength(a.cfg, in)
	if n > 0 {
		a.head = append(a.head[:0], in[:bytes.Index(in, crlfcrlf)+len(crlfcrlf)]...)
		a.size = n
	}
	return n, ok
}

// answerLength says how long the first answer in in is: 0 if it is not
// complete yet; false if it cannot be an answer.
func answerLength(cfg loadConfig, in []byte) (int, bool) {
	if cfg.Mode != "http" {
		if len(in) < cfg.Size {
			return 0, true
		}
		return cfg.Size, true
	}
	end := bytes.Index(in, crlfcrlf)
	if end < 0 {
		return 0, len(in) < 64<<10
	}
	if !bytes.HasPrefix(in, status200) {
		return 0, false
	}
	n, ok := contentLength(in[:end+2])
	if !ok {
		return 0, false
	}
	total := end + 4 + n
	if len(in) < total {
		return 0, true
	}
	return total, true
}

var (
	crlfcrlf          = []byte("\r\n\r\n")
	status200         = []byte("HTTP/1.1 200 ")
	contentLengthName = []byte("content-length")
)

// contentLength finds the Content-Length field in head (the status line
// and the fields, each line ending in CRLF) and reads its value. It
// allocates nothing: at a million answers a second, the load generator's
// own parsing must not be what sets the pace.
func contentLength(head []byte) (int, bool) {
	for len(head) > 0 {
		i := bytes.IndexByte(head, '\n')
		if i < 0 {
			break
		}
		line := bytes.TrimSuffix(head[:i], []byte("\r"))
		head = head[i+1:]
		name, value, found := bytes.Cut(line, []byte(":"))
		if !found || !bytes.EqualFold(name, contentLengthName) {
			continue
		}
		value = bytes.TrimSpace(value)
		if len(value) == 0 || len(value) > 9 {
			return 0, false
		}
		n := 0
		for _, d := range value {
			if d < '0' || d > '9' {
				return 0, false
			}
			n = n*10 + int(d-'0')
		}
		return n, true
	}
	return 0, false
}

func dialLoad(ap netip.AddrPort, epfd int) (*loadConn, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	c := &loadConn{fd: fd}
	sa := &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	if err := unix.Connect(fd, sa); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("connect", err)
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return c, nil
}

// flushLoad writes what c has to send, and asks for EPOLLOUT while some
// of it is left.
func flushLoad(c *loadConn, epfd int) error {
	for len(c.out) > 0 {
		n, err := rawWrite(c.fd, c.out)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			break
		}
		if err != nil {
			return os.NewSyscallError("sendto", err)
		}
		c.out = c.out[:copy(c.out, c.out[n:])]
	}
	want := len(c.out) > 0
	if want != c.armed {
		events := uint32(unix.EPOLLIN)
		if want {
			events |= unix.EPOLLOUT
		}
		ev := unix.EpollEvent{Events: events, Fd: int32(c.fd)}
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_MOD, c.fd, &ev); err != nil {
			return os.NewSyscallError("epoll_ctl", err)
		}
		c.armed = want
	}
	return nil
}

// readLoad reads what is there into c.in; it reports whether anything came.
// It reads straight into c.in's free room (at least loadReadSize bytes of
// it), not into a shared buffer to copy from: a copy of every byte saved,
// for a buffer kept per connection (40 MB at 10,000), which only the load
// generator pays for.
func readLoad(c *loadConn) (bool, error) {
	got := false
	for {
		if cap(c.in)-len(c.in) < loadReadSize {
			c.in = slices.Grow(c.in, loadReadSize)
		}
		room := c.in[len(c.in):cap(c.in)]
		n, err := rawRead(c.fd, room)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return got, nil
		case err != nil:
			return got, os.NewSyscallError("recvfrom", err)
		case n == 0:
			return got, errors.New("the server closed a connection")
		}
		c.in = c.in[:len(c.in)+n]
		got = true
		if n < len(room) {
			return true, nil
		}
	}
}

// loadReadSize is the least room a read of the load generator offers:
// more than sixteen answers of either kind, so a batch comes in one read.
const loadReadSize = 4 << 10

// rawRead and rawWrite read from and write to a socket as chapter 06
// does: raw system calls (the sockets are non-blocking, so neither call
// can sleep, and Go's scheduler need not be told: no entersyscall or
// exitsyscall), and recvfrom and sendto rather than read and write (they
// skip vfs_read and vfs_write, the checks and hooks every file gets). The
// load generator gets every saving the servers may have, so that it drives
// each of them as hard as one thread can.
func rawRead(fd int, p []byte) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func rawWrite(fd int, p []byte) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), unix.MSG_NOSIGNAL, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func trim(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

// loadMain is the load generator as a process of its own: config in JSON
// as the argument, "measuring" and then the result in JSON on stdout.
func loadMain(arg string, stdout, stderr io.Writer) int {
	var cfg loadConfig
	if err := json.Unmarshal([]byte(arg), &cfg); err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 2
	}
	res, err := runLoad(cfg, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 1
	}
	out, _ := json.Marshal(res)
	fmt.Fprintln(stdout, string(out))
	return 0
}
