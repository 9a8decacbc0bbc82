//go:build !linux

package main

import (
	"fmt"
	"os"
)

// epoll is a Linux system call; BSD and macOS have kqueue and Windows has
// IOCP instead, so elsewhere this chapter only explains itself.
func main() {
	fmt.Fprintln(os.Stderr, program+" uses epoll, which only Linux has, so it runs only on Linux; "+
		"on macOS or Windows run it in a Linux VM or container, for example: "+
		`docker run --rm -it -v "$PWD":/src -w /src golang:1.26 go run ./`+program)
	os.Exit(1)
}
