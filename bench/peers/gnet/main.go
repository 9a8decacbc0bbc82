//go:build linux

// Gnet-peer serves the benchmark's two loads with gnet, one event loop on
// one thread, written the way gnet's own examples are:
//
//	gnet-peer echo 127.0.0.1:0    echo every byte back
//	gnet-peer http 127.0.0.1:0    answer GET /plaintext, kept alive; every complete
//	                              pipelined request of a read answered in one write
//
// It prints "listening on ADDR" once it is ready (the port the kernel
// chose), as every server go run ./bench starts does, and serves until
// SIGTERM or SIGINT.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "echo" && os.Args[1] != "http") {
		fmt.Fprintln(os.Stderr, "usage: gnet-peer echo|http ADDR")
		os.Exit(2)
	}
	s := &server{http: os.Args[1] == "http"}
	err := gnet.Run(s, "tcp://"+os.Args[2],
		gnet.WithMulticore(false), gnet.WithNumEventLoop(1), // one event loop, like every server in the table
		gnet.WithLockOSThread(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithReuseAddr(true),
		gnet.WithLogger(stderrLogger{})) // gnet logs to stdout by default, where we say where we listen
	if err != nil {
		fmt.Fprintln(os.Stderr, "gnet-peer:", err)
		os.Exit(1)
	}
}

// stderrLogger sends gnet's warnings and errors to standard error, and
// drops its informational lines.
type stderrLogger struct{}

func (stderrLogger) Debugf(string, ...any) {}
func (stderrLogger) Infof(string, ...any)  {}
func (stderrLogger) Warnf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "gnet: "+format+"\n", a...)
}
func (stderrLogger) Errorf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "gnet: "+format+"\n", a...)
}
func (stderrLogger) Fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "gnet: "+format+"\n", a...)
	os.Exit(1)
}

type server struct {
	gnet.BuiltinEventEngine
	http bool
	out  []byte // the answers to one read's requests, reused
	date []byte // the Date header's value, formatted at most once a second
	sec  int64
}

// OnBoot says where the engine listens, and stops it on SIGTERM.
func (s *server) OnBoot(eng gnet.Engine) gnet.Action {
	fd, err := eng.Dup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gnet-peer: dup:", err)
		return gnet.Shutdown
	}
	sa, err := unix.Getsockname(fd)
	unix.Close(fd)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gnet-peer: getsockname:", err)
		return gnet.Shutdown
	}
	in4, ok := sa.(*unix.SockaddrInet4)
	if !ok {
		fmt.Fprintln(os.Stderr, "gnet-peer: not an IPv4 listener")
		return gnet.Shutdown
	}
	fmt.Printf("listening on %d.%d.%d.%d:%d\n", in4.Addr[0], in4.Addr[1], in4.Addr[2], in4.Addr[3], in4.Port)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-stop
		eng.Stop(context.Background())
	}()
	return gnet.None
}

// OnTraffic runs on the event loop whenever a connection has bytes.
func (s *server) OnTraffic(c gnet.Conn) gnet.Action {
	if !s.http {
		buf, _ := c.Next(-1) // every byte read so far, valid until we return
		c.Write(buf)
		return gnet.None
	}
	buf, _ := c.Peek(-1)
	s.out = s.out[:0]
	used := 0
	for {
		end := bytes.Index(buf[used:], crlfcrlf)
		if end < 0 {
			break // the rest of a request is still to come
		}
		s.out = s.answer(s.out)
		used += end + 4
	}
	if len(buf)-used > 8<<10 {
		return gnet.Close // a head too large: what our server answers 431 to
	}
	c.Discard(used)
	if len(s.out) > 0 {
		c.Write(s.out)
	}
	return gnet.None
}

var (
	crlfcrlf = []byte("\r\n\r\n")
	body     = []byte("Hello, World!")
)

// answer appends the answer chapter 06 gives to GET /plaintext.
func (s *server) answer(o []byte) []byte {
	now := time.Now()
	if sec := now.Unix(); sec != s.sec {
		s.sec, s.date = sec, now.UTC().AppendFormat(s.date[:0], "Mon, 02 Jan 2006 15:04:05 GMT")
	}
	o = append(o, "HTTP/1.1 200 OK\r\nServer: gnet\r\nDate: "...)
	o = append(o, s.date...)
	o = append(o, "\r\nContent-Type: text/plain\r\nContent-Length: "...)
	o = strconv.AppendInt(o, int64(len(body)), 10)
	o = append(o, "\r\n\r\n"...)
	return append(o, body...)
}
