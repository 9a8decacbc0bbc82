//go:build linux

package async

import (
	"io"
	"os"
	"time"
)

// Runtime is a reactor, an executor and timers on one thread: chapters 02
// to 05 behind one value. It runs on the goroutine that calls BlockOn or
// Run, which should be locked to its OS thread (runtime.LockOSThread).
// Only a Waker may be used from other goroutines.
type Runtime struct {
	reactor *reactor
	ex      *executor
	timers  *timers
	trace   tracer
	scratch []byte     // where ReadLine's and a lingering close's reads land; one per runtime
	buffers BufferPool // where the bytes are kept: buffers lent to connections, and to applications
	accepts int64      // connections accepted
	pauses  int64      // accepts that failed for lack of descriptors or memory, each followed by a pause
	closed  bool       // Close has run
}

// Config is what NewRuntime may be told. The zero Config is a quiet
// runtime that reports a panicking task on standard error.
type Config struct {
	// Trace, if not nil, receives the life of the loop, one step a line,
	// each with the time since the runtime was made: tasks polled and
	// what they returned, each epoll_wait with its timeout and why, the
	// events it reported and whom they woke, timers fired.
	Trace io.Writer

	// Log receives the report of a task that panicked (the task ends,
	// and its JoinHandle yields the panic as an error; the loop goes
	// on). Nil means standard error.
	Log io.Writer

	// OnPark, if not nil, runs on the loop's goroutine each time the
	// loop is about to sleep in epoll_wait: after it has looked for
	// woken tasks one last time, and found none. A Wake called from it
	// is not lost: the sleep returns at once. Tokio's runtime builder
	// has the same hook (on_thread_park). Tests use it to act at the
	// moment the loop has nothing left to do.
	OnPark func()

	// IOBudget is how many reads, writes and accepts one poll of a task
	// may make before the task must yield; 0 means the default, 128.
	// Negative means no budget at all: a flooding client can then keep
	// the loop inside one poll for as long as its data lasts. Only for
	// showing what the budget is for (chapters/reliability.md).
	IOBudget int

	// HoldProcessor makes the loop keep its goroutine's processor (P)
	// through the first millisecond of each sleep in epoll_wait, instead
	// of giving it up to Go's scheduler at once: for a process whose
	// other goroutines have little to do (a server, at GOMAXPROCS=1
	// above all), it spares the loop the scheduler's monitor taking the
	// processor away at each sleep. Another goroutine that wants the
	// processor may wait for it: a millisecond, or, under steady load,
	// until the scheduler preempts the loop (10 to 20 ms); see
	// reactor.holdThenSleep.
	HoldProcessor bool
}

// NewRuntime makes a runtime: an epoll instance with an eventfd in it, an
// empty run queue and no timers. Close releases it.
func NewRuntime(cfg Config) (*Runtime, error) {
	trace := tracer{w: cfg.Trace, start: time.Now()}
	log := cfg.Log
	if log == nil {
		log = os.Stderr
	}
	reactor, err := newReactor(trace)
	if err != nil {
		return nil, err
	}
	reactor.hold = cfg.HoldProcessor
	timers := &timers{trace: trace}
	ex := newExecutor(reactor, timers, trace, log, cfg.OnPark)
	ex.setNow(trace.start)
	if cfg.IOBudget != 0 {
		ex.ioMax, ex.ioLeft = cfg.IOBudget, cfg.IOBudget
	}
	return &Runtime{
		reactor: reactor,
		ex:      ex,
		timers:  timers,
		trace:   trace,
		scratch: make([]byte, readSize),
	}, nil
}

// readSize is how much one read by ReadLine may take: 64 KiB, so that a
// client sending in bulk is served in few system calls. The buffer is the
// runtime's, shared by every connection; a connection keeps only the bytes
// it has not returned yet.
const readSize = 64 << 10

// Now is the time the loop last woke from epoll_wait: a clock read once
// per turn of the loop, not once per call. It is behind the real time by
// at most one turn (a few hundred microseconds under load), which an idle
// limit of seconds does not notice, and a busy session that moves its
// Deadline after every line saves a clock read each time. (nginx keeps a
// cached time for the same reason.) Before the loop first waits it is the
// time the runtime was made.
func (rt *Runtime) Now() time.Time { return rt.ex.now }

// Buffers is the runtime's pool of buffers, for an application to borrow
// from on the loop's goroutine: a buffer held only while it holds bytes
// is memory a connection does not keep while it is idle.
func (rt *Runtime) Buffers() *BufferPool { return &rt.buffers }

// Run runs every task until none is left (or the reactor fails).
func (rt *Runtime) Run() error {
	return rt.ex.loop(func() bool { return false })
}

// Close drops every task that has not finished (each closes what it
// holds), then closes the epoll instance and its eventfd. Listeners and
// connections that no task holds must be closed by their owner first.
// Closing twice is harmless.
func (rt *Runtime) Close() error {
	if rt.closed {
		return nil // the numbers of the epoll instance and eventfd may be someone else's by now
	}
	rt.closed = true
	rt.ex.close()
	return rt.reactor.close()
}

// Stats are the runtime's counters since it was made. They say what the
// loop did, not how fast: every figure is a count.
type Stats struct {
	EpollWaits    int64 // epoll_wait calls that returned (a sleep held by Config.HoldProcessor past its first millisecond, two calls, counts once)
	ReadyEvents   int64 // ready descriptors they reported (the eventfd not counted)
	Polls         int64 // polls of tasks
	EmptyPolls    int64 // ... that returned Pending having moved no byte and accepted no connection
	Wakes         int64 // Wake calls that put a task back on the run queue
	RemoteWakes   int64 // ... that found the loop asleep: made by other goroutines
	EventfdWrites int64 // eventfd writes those wakes made (a burst costs one)
	TimersArmed   int64 // timers put in the heap
	TimersFired   int64 // timers whose deadline passed
	Panics        int64 // tasks that panicked
	Accepts       int64 // connections accepted
	AcceptPauses  int64 // accepts that failed for lack of descriptors or memory, each followed by a pause
}

// Stats returns the counters. Call it on the loop's goroutine (from a
// task, or after Run or BlockOn has returned).
func (rt *Runtime) Stats() Stats {
	return Stats{
		EpollWaits:    rt.reactor.waits,
		ReadyEvents:   rt.reactor.nready,
		Polls:         rt.ex.polls,
		EmptyPolls:    rt.ex.empty,
		Wakes:         rt.ex.wakes.Load() + rt.ex.wakesHere,
		RemoteWakes:   rt.ex.remote.Load(),
		EventfdWrites: rt.reactor.notifies.Load(),
		TimersArmed:   rt.timers.added,
		TimersFired:   rt.timers.fires,
		Panics:        rt.ex.panics,
		Accepts:       rt.accepts,
		AcceptPauses:  rt.pauses,
	}
}
