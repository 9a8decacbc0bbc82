// Futures serves echo clients with one future per connection: each
// client's session is a state machine with a Poll method, written by hand
// the way a Rust compiler writes an async fn, and a loop drives them all.
//
// The futures compose (Map, Then, Join and Select are here too), but the
// loop that drives them is the simplest one possible: it polls every
// future in turn, forever. Its summary shows the flaw: nearly every poll
// returns Pending, and the cpu: line is back at a whole core.
//
//	go run ./03-futures
//	go run ./03-futures -trace -clients 1 -messages 2 -pause 1ms 2>&1 | head -40
//
// The prose that walks through this program is chapters/03-futures.md.
package main

// program names this chapter in messages.
const program = "03-futures"
