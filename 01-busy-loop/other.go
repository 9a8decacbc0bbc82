//go:build !linux

package main

import (
	"fmt"
	"os"
)

// The server side of this chapter calls Linux's accept4 with SOCK_NONBLOCK
// and reads per-thread CPU time, so elsewhere it only explains itself.
func main() {
	fmt.Fprintln(os.Stderr, program+" uses Linux system calls (accept4, per-thread getrusage), so it runs only on Linux; "+
		"on macOS or Windows run it in a Linux VM or container, for example: "+
		`docker run --rm -it -v "$PWD":/src -w /src golang:1.26 go run ./`+program)
	os.Exit(1)
}
