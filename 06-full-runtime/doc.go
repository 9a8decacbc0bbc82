// Wakers serves echo clients with one task per connection, as chapter 04
// did, but now every task has a Waker. A task that must wait hands its
// waker to whatever it waits for: the reactor, for a socket, which keeps
// it per descriptor and direction and calls it when epoll_wait reports
// that socket ready. So an event polls exactly the task it is for, and the
// polls: line per message stays flat however many clients there are:
//
//	go run ./06-full-runtime
//	go run ./06-full-runtime -clients 1000
//	go run ./06-full-runtime -trace -clients 1 -messages 2 -pause 50ms
//
// A waker may be called from any goroutine. When the loop is asleep in
// epoll_wait, such a wake writes to an eventfd in the epoll set to wake
// it; the demo's shutdown takes that path, and -trace shows it.
//
// The prose that walks through this program is chapters/06-full-runtime.md.
package main

// program names this chapter in messages.
const program = "06-full-runtime"
