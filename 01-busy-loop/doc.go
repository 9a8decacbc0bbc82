// Busy-loop serves echo clients by polling every socket in a tight loop:
// it tries to accept, then tries to read from and write to each connection
// in turn, forever, and never asks the kernel to wait for anything.
//
// That is correct (every byte comes back, in order) and it is the simplest
// non-blocking server there is, but it keeps one core at 100% even while
// every client is idle. Run it and read the cpu: line:
//
//	go run ./01-busy-loop
//
// To talk to it yourself, serve until Ctrl-C and connect with nc:
//
//	go run ./01-busy-loop -listen 127.0.0.1:7000
//	nc 127.0.0.1 7000
//
// The prose that walks through this program is chapters/01-busy-loop.md.
package main

// program names this chapter in messages.
const program = "01-busy-loop"
