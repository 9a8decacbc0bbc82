// Full-runtime is the end of the road: chapters 02 to 05 put together as
// a small runtime on one thread, and two applications written on it.
//
// The Runtime is the reactor (epoll, edge-triggered, a waker per
// descriptor and direction), the executor (a run queue fed by wakers, an
// eventfd for wakes from other goroutines) and timers (a heap whose
// earliest deadline is epoll_wait's timeout). On it: Sleep and Timeout,
// and async TCP: Listen, Accept, and a Conn with Read, a bounded
// ReadLine, Write, WriteAll and Close, all futures. The echo server is
// written against that API only; so is a minimal HTTP/1.1 server.
//
//	go run ./06-full-runtime                   the echo demo, every byte checked
//	go run ./06-full-runtime -clients 10000    ten thousand connections on one thread
//	go run ./06-full-runtime -http             the HTTP demo: GET /plaintext, kept alive, pipelined
//	go run ./06-full-runtime -listen 127.0.0.1:7000   serve until Ctrl-C or SIGTERM; try nc
//	go run ./06-full-runtime -trace -clients 1 -messages 2 -pause 50ms
//
// SIGINT or SIGTERM stops accepting, lets the sessions in flight finish
// (up to -grace), and exits 0.
//
// The prose that walks through this program is chapters/06-full-runtime.md
// and the three pages after it (-2-tcp, -3-shutdown, -4-http).
package main

// program names this chapter in messages.
const program = "06-full-runtime"
