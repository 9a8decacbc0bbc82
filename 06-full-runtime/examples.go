//go:build linux

package main

// fetchData is the article's first async fn, written as the state machine
// a compiler would make of it:
//
//	async fn fetch_data() -> String {
//	    "Hello".to_string()
//	}
//
// The body never awaits, so there is nothing to wait for: the first Poll
// runs it to the end and returns Ready.
type fetchData struct {
	done bool // Ready was returned; polling again is a bug
}

func (f *fetchData) Poll(*Context) Poll[string] {
	if f.done {
		panic("fetchData: polled after it returned Ready")
	}
	f.done = true
	return Ready("Hello")
}

// countdown is a future that is not ready until it has been polled n
// times: Pending, Pending, ..., then Ready(n). It stands for any work that
// needs several turns, and lets us count how often a driver polls. Nothing
// outside will ever wake it, so before each Pending it wakes its own task:
// "poll me again, after the others" (Rust's yield_now does this).
type countdown struct {
	left  int // Pending answers still to give
	n     int
	polls int // times Poll was called
}

func newCountdown(n int) *countdown { return &countdown{left: n, n: n} }

func (c *countdown) Poll(cx *Context) Poll[int] {
	c.polls++
	if c.left < 0 {
		panic("countdown: polled after it returned Ready")
	}
	if c.left > 0 {
		c.left--
		cx.Waker.Wake()
		return Pending[int]()
	}
	c.left = -1 // finished
	return Ready(c.n)
}
