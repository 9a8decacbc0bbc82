// Executor serves echo clients with one task per connection, run by an
// executor: a FIFO run queue of tasks to poll, and, when none can run, a
// sleep in epoll_wait on the reactor from chapter 02.
//
// The cpu: line is back near zero: the thread sleeps while clients are
// idle. But the executor cannot tell which task an event is for, so after
// every epoll_wait it polls every parked task again. Its polls: line per
// message grows with the number of clients:
//
//	go run ./04-executor
//	go run ./04-executor -clients 200
//	go run ./04-executor -trace -clients 2 -messages 2 -pause 50ms
//
// The prose that walks through this program is chapters/04-executor.md.
package main

// program names this chapter in messages.
const program = "04-executor"
