// Package async is a small asynchronous runtime on one thread, built from
// the pieces of chapters 02 to 05: a reactor (epoll, edge-triggered, a
// waker per descriptor and direction), an executor (a run queue fed by
// wakers, an eventfd for wakes from other goroutines) and timers (a heap
// whose earliest deadline is epoll_wait's timeout). On top of them:
// futures and their combinators, sleeps and timeouts, and async TCP.
//
// It is Linux-only, since it uses epoll, and it is a teaching runtime:
// every part is small enough to read, and says where a production runtime
// (tokio, Go's own netpoller) does more.
//
// # The contract
//
// A Runtime runs on the goroutine that calls BlockOn or Run, which should
// be locked to its OS thread. Everything in this package belongs to that
// goroutine, except Waker.Wake, which any goroutine may call at any time.
//
//	NewRuntime(cfg)              the reactor, the executor and the timers; Close releases them.
//	Spawn(rt, name, f)           runs f as a task of its own; returns its JoinHandle (a future).
//	BlockOn(rt, name, f)         runs f, and every other task meanwhile, until f finishes.
//	rt.Run()                     runs every task until none is left.
//	rt.Sleep(d)                  a future that is Ready d from now.
//	Timeout(rt, d, f)            f's result, or ErrTimeout after d (then f is dropped).
//	Deadline                     a deadline to keep in a future and move at will (an idle limit).
//	Map, Then, Join, Select      futures made of futures.
//	rt.Listen(addr)              a listening TCP socket; Accept gives Conns.
//	Conn                         Read, ReadLine, ReadLines, Write, WriteAll, Linger, Close;
//	                             PollRead and PollWrite for futures written by hand.
//	rt.Stats()                   what the loop did: polls, wakes, epoll_wait calls, timers.
//
// A future is a value with a Poll method (see Future). Poll never blocks:
// it does what it can and returns Ready with a result, or Pending after
// handing the task's Waker (in the Context) to whatever it waits for.
// Go has no async fn, so an application writes its futures as state
// machines by hand, or composes the ones here. A future that holds
// something it must give back if abandoned (a waker left with the reactor,
// a timer) implements Dropper; whoever abandons a future calls Drop.
//
// The prose that walks through this package is chapters/06-full-runtime.md.
package async
