//go:build linux

package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

// The baselines: what a Go programmer would write without any of this
// tutorial. A goroutine per connection on the net package (which is Go's
// own netpoller underneath), and net/http. Run with GOMAXPROCS=1 so that
// they get one core, like the single-threaded servers they are compared
// with.

// serveNetEcho echoes every byte on every connection, a goroutine each.
func serveNetEcho(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 4<<10) // a usual size; io.Copy would splice through a pipe instead
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

// serveNetHTTP answers /plaintext as chapter 06's -http does.
func serveNetHTTP(ln net.Listener) error {
	body := []byte("Hello, World!")
	mux := http.NewServeMux()
	mux.HandleFunc("/plaintext", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "net/http")
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})
	return http.Serve(ln, mux)
}

// serveMain runs one baseline server on addr until SIGTERM.
func serveMain(kind, addr string, stdout, stderr io.Writer) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 1
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	go func() { <-stop; ln.Close() }()
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
	switch kind {
	case "net-echo":
		serveNetEcho(ln)
	case "net-http":
		serveNetHTTP(ln)
	default:
		fmt.Fprintln(stderr, "serve: unknown server", kind)
		return 2
	}
	return 0
}
