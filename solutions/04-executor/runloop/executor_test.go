package runloop

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests run the loop on probes, futures that write each answer they give
// to a log, and on a fake sleep that writes "sleep" to the same log and then
// delivers the next event the test scripted: it sets a flag that a probe
// checks, as a socket becomes readable. So each test compares the whole
// conversation between the loop and its tasks, in order.

func TestRunLoop(t *testing.T) {
	t.Run("it runs tasks in the order they were spawned", func(t *testing.T) {
		ex, s := newScript()
		for _, name := range []string{"a", "b", "c"} {
			Spawn(ex, name, s.probe(name, nil))
		}

		err := within(t, "Run", s.run)
		assert.NoError(t, err, "Run")
		assert.Equal(t, []string{"a: Ready", "b: Ready", "c: Ready"}, s.log,
			"what happened, in order: first in, first out, the oldest task first")
		assert.Equal(t, 0, s.sleeps, "calls of sleep, with every task Ready at its first poll")
	})

	t.Run("a task spawned by a running task queues behind those already there", func(t *testing.T) {
		ex, s := newScript()
		parent := s.probe("parent", nil)
		parent.atFirstPoll = func() { Spawn(ex, "child", s.probe("child", nil)) }
		Spawn(ex, "parent", parent)
		Spawn(ex, "sibling", s.probe("sibling", nil))

		err := within(t, "Run", s.run)
		assert.NoError(t, err, "Run")
		assert.Equal(t, []string{"parent: Ready", "sibling: Ready", "child: Ready"}, s.log,
			"what happened, in order: a task spawned now queues behind those waiting already")
	})

	t.Run("a task that answers Pending is parked, and not polled again until the loop has slept", func(t *testing.T) {
		var aReady bool
		ex, s := newScript(set(&aReady))
		Spawn(ex, "a", s.probe("a", when(&aReady)))
		Spawn(ex, "b", s.probe("b", nil))
		Spawn(ex, "c", s.probe("c", nil))

		err := within(t, "Run", s.run)
		assert.NoError(t, err, "Run")
		assert.Equal(t, []string{"a: Pending", "b: Ready", "c: Ready", "sleep", "a: Ready"}, s.log,
			"what happened, in order: a waits in the parked list until the loop has slept")
		assert.Equal(t, 1, s.sleeps, "calls of sleep")
	})

	t.Run("after each sleep every parked task is polled again, in the order they parked, even those it was not for", func(t *testing.T) {
		var aReady, bReady, cReady bool
		ex, s := newScript(set(&bReady), set(&cReady, &aReady))
		a, b, c := s.probe("a", when(&aReady)), s.probe("b", when(&bReady)), s.probe("c", when(&cReady))
		Spawn(ex, "a", a)
		Spawn(ex, "b", b)
		Spawn(ex, "c", c)

		err := within(t, "Run", s.run)
		assert.NoError(t, err, "Run")
		want := []string{
			"a: Pending", "b: Pending", "c: Pending",
			"sleep", // delivers b's event
			"a: Pending", "b: Ready", "c: Pending",
			"sleep", // delivers c's event, then a's
			"a: Ready", "c: Ready",
		}
		assert.Equal(t, want, s.log,
			"what happened, in order: after each sleep the parked tasks go back on the queue, all of them, in the order they parked")
		assert.Equal(t, 3, a.polls, "polls of a, which was Pending twice")
		assert.Equal(t, 2, b.polls, "polls of b, which was Pending once")
		assert.Equal(t, 3, c.polls, "polls of c, which was Pending twice")
		assert.Equal(t, 2, s.sleeps, "calls of sleep")
	})

	t.Run("it never sleeps while a task is runnable, even one that a parking task has just spawned", func(t *testing.T) {
		var aReady bool
		ex, s := newScript(set(&aReady))
		a := s.probe("a", when(&aReady))
		a.atFirstPoll = func() { Spawn(ex, "b", s.probe("b", nil)) }
		Spawn(ex, "a", a)

		err := within(t, "Run", s.run)
		assert.NoError(t, err, "Run")
		assert.Equal(t, []string{"a: Pending", "b: Ready", "sleep", "a: Ready"}, s.log,
			"what happened, in order: b was runnable, so no sleep before it ran")
	})

	t.Run("BlockOn returns once its task is done, though another task is still parked", func(t *testing.T) {
		var mainReady bool
		ex, s := newScript(set(&mainReady))
		Spawn(ex, "other", s.probe("other", never))

		var v string
		err := within(t, "BlockOn", func() (err error) {
			v, err = BlockOn(ex, "main", s.probe("main", when(&mainReady)))
			return err
		})
		assert.NoError(t, err, "BlockOn")
		assert.Equal(t, "main", v, "what BlockOn returned")
		assert.Equal(t, []string{"other: Pending", "main: Pending", "sleep", "other: Pending", "main: Ready"}, s.log,
			"what happened, in order")
		assert.Equal(t, []string{"other"}, names(ex.parked), "tasks left parked after BlockOn")
	})

	t.Run("BlockOn returns before it polls the tasks queued behind its own, and Run picks them up later", func(t *testing.T) {
		ex, s := newScript()
		mainTask := s.probe("main", nil)
		mainTask.atFirstPoll = func() { Spawn(ex, "child", s.probe("child", nil)) }

		var v string
		err := within(t, "BlockOn", func() (err error) {
			v, err = BlockOn(ex, "main", mainTask)
			return err
		})
		assert.NoError(t, err, "BlockOn")
		assert.Equal(t, "main", v, "what BlockOn returned")
		assert.Equal(t, []string{"main: Ready"}, s.log,
			"what happened in BlockOn: it returns as soon as main is Ready, so done() is asked before every task, not only when the queue is empty")
		assert.Equal(t, []string{"child"}, names(ex.queue), "tasks left queued after BlockOn")

		err = within(t, "Run after BlockOn", s.run)
		assert.NoError(t, err, "Run after BlockOn")
		assert.Equal(t, []string{"main: Ready", "child: Ready"}, s.log, "what happened in BlockOn, then in Run")
	})

	t.Run("with no task at all, Run returns at once without sleeping", func(t *testing.T) {
		_, s := newScript()

		err := within(t, "Run", s.run)
		assert.NoError(t, err, "Run with no task")
		assert.Equal(t, 0, s.sleeps, "calls of sleep")
	})

	t.Run("when every task is parked and sleep says nothing can wake them, Run returns that error instead of hanging", func(t *testing.T) {
		ex, s := newScript(stuck)
		Spawn(ex, "a", s.probe("a", never))
		Spawn(ex, "b", s.probe("b", never))

		err := within(t, "Run", s.run)
		assert.ErrorIs(t, err, ErrStuck, "Run, after sleep returned ErrStuck: sleep's error ends the loop, and Run returns it")
		assert.Equal(t, []string{"a: Pending", "b: Pending", "sleep"}, s.log, "what happened, in order")
	})

	t.Run("BlockOn returns sleep's error too, for a task that can never finish", func(t *testing.T) {
		ex, s := newScript(stuck)

		err := within(t, "BlockOn", func() error {
			_, err := BlockOn(ex, "main", s.probe("main", never))
			return err
		})
		assert.ErrorIs(t, err, ErrStuck, "BlockOn, after sleep returned ErrStuck")
		assert.Equal(t, []string{"main: Pending", "sleep"}, s.log, "what happened, in order")
	})
}

// script is the test's side of the conversation: the log that the probes
// and the fake sleep write to, and the events that sleep delivers.
type script struct {
	ex     *Executor      // the executor that sleeps here, to check when it does
	log    []string       // what happened, in order: "a: Pending", "b: Ready", "sleep"
	events []func() error // what each call of sleep does, in turn
	sleeps int            // calls of sleep
	failed error          // what the last sleep returned, if it failed
	idle   int            // calls of done since the last poll or sleep
}

// newScript returns an executor that sleeps in a new script, and the
// script, whose sleep delivers events, one per call.
func newScript(events ...func() error) (*Executor, *script) {
	s := &script{events: events}
	s.ex = NewExecutor(s.sleep)
	return s.ex, s
}

// sleep is the fake epoll_wait. It checks that the loop had every reason to
// call it, and panics when not, rather than return an error, so that even a
// loop that ignores errors stops, with a message that names its mistake.
func (s *script) sleep() error {
	s.sleeps++
	s.idle = 0
	s.log = append(s.log, "sleep")
	switch {
	case s.failed != nil:
		panic(fmt.Sprintf("sleep called again after it returned %q: an error from sleep ends the loop; log so far: %q",
			s.failed, s.log))
	case len(s.ex.queue) > 0:
		panic(fmt.Sprintf("sleep called while task %s is on the run queue: sleep only when no task can run; log so far: %q",
			s.ex.queue[0].name, s.log))
	case len(s.ex.parked) == 0:
		panic(fmt.Sprintf("sleep called with no task parked: every task had finished, and in the chapter this epoll_wait "+
			"would never return; return nil instead; log so far: %q", s.log))
	}
	for i, t := range s.ex.parked {
		for _, u := range s.ex.parked[:i] {
			if t == u {
				panic(fmt.Sprintf("task %s is parked twice: once the parked tasks are back on the queue, "+
					"empty the parked list; log so far: %q", t.name, s.log))
			}
		}
	}
	if s.sleeps > len(s.events) {
		panic(fmt.Sprintf("sleep called %d time(s), but the test scripted only %d event(s) to deliver; log so far: %q",
			s.sleeps, len(s.events), s.log))
	}
	s.failed = s.events[s.sleeps-1]()
	return s.failed
}

// maxIdle bounds the turns a loop may take without polling a task or
// sleeping: a loop that goes round and round with nothing queued and
// nothing parked has missed that it is done.
const maxIdle = 10_000

// run is what Run does, runUntil with a done that never says yes; this
// done also stops a loop that spins without doing anything, so that the
// test fails at once with a message, instead of after patience.
func (s *script) run() error {
	return s.ex.runUntil(func() bool {
		s.idle++
		if s.idle > maxIdle {
			panic(fmt.Sprintf("the loop asked done() %d times without polling a task or sleeping: "+
				"with nothing queued and nothing parked, runUntil returns nil; log so far: %q", maxIdle, s.log))
		}
		return false
	})
}

// set returns an event that sets each flag: what a socket becoming ready is
// to the probe that waits on it.
func set(flags ...*bool) func() error {
	return func() error {
		for _, f := range flags {
			*f = true
		}
		return nil
	}
}

// stuck is an event that reports what epoll_wait with nothing registered
// would mean: no task can ever be woken.
func stuck() error { return ErrStuck }

// when returns an until for a probe that is Ready once *flag is set.
func when(flag *bool) func() bool { return func() bool { return *flag } }

// never is an until for a probe that is never Ready.
func never() bool { return false }

// names returns the names of tasks, for messages that a person can read.
func names(tasks []*Task) []string {
	var ns []string
	for _, t := range tasks {
		ns = append(ns, t.name)
	}
	return ns
}

// maxPolls bounds the polls of one probe. No test needs more than three, so
// a probe polled this often belongs to a loop that polls a Pending task over
// and over instead of parking it.
const maxPolls = 10

// probe is a future for the tests. At each poll it writes "name: Pending" or
// "name: Ready" to the script's log; it is Ready with its name at the first
// poll at which until() is true, or at once if until is nil. atFirstPoll,
// if set, runs at the start of the first poll: a task that spawns another.
type probe struct {
	name        string
	s           *script
	until       func() bool
	atFirstPoll func()
	polls       int  // calls of Poll
	finished    bool // Ready was returned
}

func (s *script) probe(name string, until func() bool) *probe {
	return &probe{name: name, s: s, until: until}
}

func (p *probe) Poll(*Context) Poll[string] {
	p.polls++
	p.s.idle = 0
	if p.finished {
		panic(fmt.Sprintf("probe %s: polled after it returned Ready; log so far: %q", p.name, p.s.log))
	}
	if p.polls > maxPolls {
		panic(fmt.Sprintf("probe %s: polled %d times, more than any test needs: a task that answers Pending must be parked; log so far: %q",
			p.name, p.polls, p.s.log))
	}
	if p.polls == 1 && p.atFirstPoll != nil {
		p.atFirstPoll()
	}
	if p.until == nil || p.until() {
		p.finished = true
		p.s.log = append(p.s.log, p.name+": Ready")
		return Ready(p.name)
	}
	p.s.log = append(p.s.log, p.name+": Pending")
	return Pending[string]()
}

// patience bounds every run of the loop. The loops here need microseconds,
// so two seconds is far beyond that even on a loaded machine, and a loop that
// spins without polling a probe or calling sleep (which would catch it
// sooner) fails in seconds instead of hanging the run.
const patience = 2 * time.Second

// within calls run, the operation named what, on a goroutine of its own and
// returns its error. If run panics, or has not returned within patience, the test fails at once: the
// panic says what went wrong (the probes and sleep panic when the loop
// breaks their rules, and add the log so far), and a loop that has not
// returned is spinning.
func within(t *testing.T, what string, run func() error) error {
	t.Helper()
	type result struct {
		err      error
		panicked any
		stack    []byte // for runtime errors, such as an index out of range
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				r := result{panicked: p}
				if _, ok := p.(runtime.Error); ok {
					r.stack = debug.Stack()
				}
				done <- r
			}
		}()
		done <- result{err: run()}
	}()
	select {
	case r := <-done:
		if r.panicked != nil {
			require.FailNow(t, fmt.Sprintf("%s panicked: %v", what, r.panicked), "%s", r.stack)
		}
		return r.err
	case <-time.After(patience):
		require.FailNow(t, what+" did not return", "still running after %v: is the loop spinning?", patience)
		return nil // not reached: FailNow ends the test
	}
}
