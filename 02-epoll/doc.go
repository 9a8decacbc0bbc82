// Epoll serves echo clients from a reactor: one epoll instance watches
// every socket, epoll_wait puts the thread to sleep until the kernel says
// that some of them are ready, and a handler per descriptor does the work.
//
// It prints the same summary as chapter 01, and the cpu: line falls from
// a whole core to almost nothing, because the thread now sleeps while the
// clients are idle. The price is visible in the code: each connection's
// logic is cut into callbacks that the reactor calls.
//
//	go run ./02-epoll
//	go run ./02-epoll -clients 1000
//	go run ./02-epoll -trace -clients 2 -messages 2
//
// The prose that walks through this program is chapters/02-epoll.md.
package main

// program names this chapter in messages.
const program = "02-epoll"
