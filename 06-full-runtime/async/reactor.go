//go:build linux

package async

import (
	"encoding/binary"
	"errors"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The reactor's contract. Everything the runtime knows about epoll goes
// through these calls:
//
//	newReactor()              creates the epoll instance, and an eventfd in it for notify.
//	r.register(reg, fd)       starts watching fd, for good (EPOLL_CTL_ADD, edge-triggered);
//	                          reg, the caller's, is its registration from then on.
//	reg.wakeOn(dir, w)        asks for w.Wake() when fd is next ready for dir (no system call);
//	                          or reports true if an edge came while nobody waited: try again now.
//	reg.forget(dir)           withdraws that request: the future that made it was dropped.
//	r.deregister(reg)         stops watching fd (EPOLL_CTL_DEL); call it before closing fd.
//	r.wait(timeout)           sleeps in epoll_wait until something is ready or the timeout
//	                          passes, and returns the wakers of the tasks that waited for it.
//	r.notify()                makes wait return now, from any goroutine (writes the eventfd).
//
// As in chapter 05, the reactor keeps, for each descriptor and direction,
// the waker of the task waiting there, so an event wakes that task and no
// other; and it registers every descriptor once, edge-triggered, for both
// directions. Edge-triggered means the kernel reports a change (data
// arrived, room appeared), once, not a state over and over. That puts two
// duties on us: a task may wait only after a read or write said EAGAIN
// (otherwise the edge may already have passed and will not come again),
// and an edge that arrives while nobody waits must not be forgotten: the
// direction is marked ready, and the next wakeOn says "try again".
//
// New in this chapter: the registration is a handle. Futures keep the
// *registration, not the descriptor's number, as Go's netFD keeps its
// pollDesc. Once a descriptor is closed, the kernel gives its number to
// the next socket; a late call on the old handle (a dropped future
// withdrawing its waker, say) then touches the old registration, which is
// marked closed, and never the new one.
//
// Only the goroutine that calls wait may call the methods other than
// notify.

// interest is a direction a task can wait in, named by the epoll bits
// that report it.
type interest uint32

const (
	// readable: data to read, a connection to accept, or the peer's FIN.
	readable interest = unix.EPOLLIN | unix.EPOLLRDHUP
	// writable: room in the send buffer.
	writable interest = unix.EPOLLOUT
)

// edgeTriggered is what every descriptor is registered for: both
// directions, the peer's half-close, and EPOLLET to hear each change once.
const edgeTriggered = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET

// maxEvents is how many ready descriptors one epoll_wait may return.
// More stay queued in the kernel for the next call. Go's runtime uses 128
// too: enough to amortise the system call, small enough for the stack.
const maxEvents = 128

// reactor waits for readiness on many descriptors at once, with epoll,
// and says which tasks to wake.
type reactor struct {
	epfd    int
	efd     int               // the eventfd notify writes to; in the epoll set for good
	regs    []*registration   // the live registration of each descriptor, by number; nil if none
	gen     uint32            // the generation of the last register
	events  []unix.EpollEvent // what epoll_wait fills in, reused every call
	ready   []*Waker          // what wait returns, reused every call
	trace   tracer
	hold    bool  // Config.HoldProcessor: see holdThenSleep
	heldOut int64 // held sleeps that outlasted the window and went on in the ordinary call (for tests)
	waits   int64 // epoll_wait calls that returned (not counting EINTR)
	nready  int64 // ready events they reported, not counting the eventfd's
	stale   int64 // events for a registration that no longer exists
	drained int64 // eventfd reads that found wakes from other goroutines

	notified atomic.Bool  // the eventfd has been written and not yet drained
	notifies atomic.Int64 // eventfd writes
}

// registration is one registered descriptor: for each direction, the
// task waiting there, or a note that an edge came while nobody was.
type registration struct {
	fd     int32
	gen    uint32 // tells this registration's events from an older one's on the same number
	reader direction
	writer direction
	hungUp bool // an event said the peer shut its side (RDHUP), or hung up, or an error is pending
	closed bool // deregistered: the number may be someone else's now
}

// direction is where one task may wait on one descriptor.
type direction struct {
	waker *Waker // the task waiting; nil if none
	ready bool   // an edge came while nobody waited; the next wakeOn says so
	edges uint32 // edges reported in this direction so far (wrapping is harmless: only equality is asked)
}

// newReactor creates an epoll instance with an eventfd in it. EFD_CLOEXEC
// and EPOLL_CLOEXEC keep both out of child processes, like every
// descriptor in this package.
func newReactor(trace tracer) (*reactor, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	// Level-triggered, on purpose: as long as the counter is not zero,
	// every epoll_wait returns at once. So wait must drain it, or the
	// loop would spin; and a wake can never be missed.
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(efd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, efd, &ev); err != nil {
		unix.Close(efd)
		unix.Close(epfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return &reactor{
		epfd:   epfd,
		efd:    efd,
		events: make([]unix.EpollEvent, maxEvents),
		trace:  trace,
	}, nil
}

// register starts watching fd, in both directions, until deregister, and
// fills in reg, which is the caller's: a Conn keeps its registration
// inline, so a connection costs one allocation, not two. Each
// registration gets a new generation number, which the kernel hands back
// with every event for it; an event whose generation is not that of fd's
// live registration is for a descriptor that was closed since, and is
// ignored.
func (r *reactor) register(reg *registration, fd int) error {
	r.gen++
	// The 8 bytes of epoll_data are ours to fill: the fd number in the
	// first 4, the generation in the other 4. (Go's runtime stores a
	// pointer to its pollDesc there, tagged with a sequence number.)
	ev := unix.EpollEvent{Events: edgeTriggered, Fd: int32(fd), Pad: int32(r.gen)}
	if err := unix.EpollCtl(r.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	// Descriptor numbers are small and dense (the kernel hands out the
	// lowest free one), so a slice indexed by number finds a registration
	// without hashing.
	if fd >= len(r.regs) {
		r.regs = append(r.regs, make([]*registration, fd+1-len(r.regs))...)
	}
	*reg = registration{fd: int32(fd), gen: r.gen}
	r.regs[fd] = reg
	return nil
}

// wakeOn asks the reactor to wake w when the descriptor is next ready for
// dir (readable or writable). Call it only after a read or write said
// EAGAIN. If an edge came while nobody waited in that direction (it was
// marked ready), it leaves no waker and reports true instead: the caller
// tries its system call again at once, since the EAGAIN it saw may be
// older than that edge. One waker waits per direction: a later wakeOn
// replaces an earlier one. On a closed registration it reports true: the
// caller's next try finds the connection closed.
func (reg *registration) wakeOn(dir interest, w *Waker) (tryAgain bool) {
	if reg.closed {
		return true
	}
	d := reg.side(dir)
	if d.ready {
		d.ready = false
		return true
	}
	d.waker = w
	return false
}

// forget withdraws the waker waiting for dir, if any: its future was
// dropped, and its task must not be woken for it. An edge noted as ready
// stays noted, for the next wakeOn. On a closed registration it does
// nothing: that is what makes a late forget harmless.
func (reg *registration) forget(dir interest) {
	if !reg.closed {
		reg.side(dir).waker = nil
	}
}

// quietSince reports whether nothing has been heard from the reading side
// since it had seen readEdges edges: no readable edge reported at all,
// whether it woke a task or was marked ready, and no hang-up (or error)
// ever. Then bytes that reach the socket from now on are sure to bring an
// edge of their own. Conn.pollSocket uses it to trust a short read.
func (reg *registration) quietSince(readEdges uint32) bool {
	return !reg.hungUp && reg.reader.edges == readEdges
}

func (reg *registration) side(dir interest) *direction {
	if dir == writable {
		return &reg.writer
	}
	return &reg.reader
}

// deregister stops watching the descriptor, wakes the tasks still waiting
// on it, and forgets their wakers. Call it
// before closing the descriptor: the epoll set holds the open file, not
// the number, so a descriptor closed while still registered (and shared
// with a child, say) could go on reporting events. Deregistering twice is
// harmless.
func (r *reactor) deregister(reg *registration) error {
	if reg.closed {
		return nil
	}
	reg.closed = true
	// A task still waiting on the descriptor would wait for ever: no
	// event will come for it now. Wake it, so that its next try finds
	// the descriptor closed (Go's runtime does the same when it closes
	// a pollDesc: it wakes every goroutine parked on it).
	reg.reader.waker.Wake()
	reg.writer.waker.Wake()
	reg.reader, reg.writer = direction{}, direction{}
	if r.regs[reg.fd] == reg {
		r.regs[reg.fd] = nil
	}
	// Since Linux 2.6.9 the event argument may be nil for EPOLL_CTL_DEL.
	if err := unix.EpollCtl(r.epfd, unix.EPOLL_CTL_DEL, int(reg.fd), nil); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// notify makes the wait in progress, or the next one, return at once. Any
// goroutine may call it. A burst of calls costs one write: only the call
// that finds notified false writes; wait clears it once it has drained
// the eventfd.
func (r *reactor) notify() {
	if !r.notified.CompareAndSwap(false, true) {
		return // already written and not yet drained: the loop will wake anyway
	}
	r.notifies.Add(1)
	var one [8]byte // eventfd adds the 8-byte number written to its counter
	binary.NativeEndian.PutUint64(one[:], 1)
	for {
		_, err := unix.Write(r.efd, one[:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		// EAGAIN would mean the counter is full, so the loop will wake
		// anyway; any other error cannot happen on a valid eventfd.
		return
	}
}

// wait sleeps until a watched descriptor is ready, notify is called, or
// timeout passes (a negative timeout waits as long as it takes). It
// returns the wakers of the tasks that were waiting for what became ready;
// the slice is reused by the next wait. The caller wakes them.
func (r *reactor) wait(timeout time.Duration) ([]*Waker, error) {
	msec := waitMillis(timeout)
	var n int
	for {
		var err error
		switch {
		case msec == 0:
			n, err = r.peek()
		case r.hold:
			n, err = r.holdThenSleep(msec)
		default:
			n, err = unix.EpollWait(r.epfd, r.events, msec)
		}
		if errors.Is(err, unix.EINTR) {
			// A signal arrived while we slept: Go's scheduler sends
			// SIGURG to preempt long-running goroutines, so this happens
			// in every Go program. Nothing is wrong. With no timeout we
			// simply wait again. With one, waiting the full timeout again
			// could postpone the deadline forever under a stream of
			// signals, so we return as a timeout would, and the caller
			// works out how long is left (Go's netpoll does the same).
			if msec < 0 {
				continue
			}
			n, err = 0, nil
		}
		if err != nil {
			return nil, os.NewSyscallError("epoll_wait", err)
		}
		break
	}
	r.waits++
	if r.trace.on() {
		r.trace.printf("epoll_wait returned %d", n)
	}
	r.ready = r.ready[:0]
	for _, ev := range r.events[:n] {
		r.dispatch(ev)
	}
	clear(r.events[:n]) // the Pad field is read back: never let an old value linger
	return r.ready, nil
}

// peek is epoll_wait with a zero timeout, made as a raw system call. A
// call that cannot block need not tell Go's scheduler that this thread is
// about to sleep in the kernel (entersyscall, exitsyscall); and when the
// scheduler is told, its monitor thread (sysmon) may take the processor
// away from a thread that stays in a system call, and wake every 20 µs to
// check, which on a busy loop costs more than the call. gnet makes its
// non-blocking epoll_wait the same way.
func (r *reactor) peek() (int, error) { return r.rawWait(0) }

// holdThenSleep is wait's sleep with Config.HoldProcessor: first up to
// holdMillis in a raw epoll_wait, which keeps the goroutine's processor (P)
// as a running goroutine keeps it; then, if nothing came, the rest of msec
// in an epoll_wait that tells Go's scheduler, which gives the processor
// up. The two calls are one wait: Stats.EpollWaits counts them once, and
// the trace shows one epoll_wait.
//
// Why: a thread in a system call the scheduler was told of keeps its P for
// a moment; sysmon, the scheduler's monitor thread, takes the P from it
// once it has seen the same call at two of its checks (20 µs apart when it
// is busy), if no other P is idle. At GOMAXPROCS=1 none ever is, so every
// sleep of the loop that lasts longer than that is a P taken away and
// handed back on waking, and sysmon, finding work each time, keeps
// checking every 20 µs, on the loop's own CPU when the server is pinned to
// one. A raw sleep is invisible to sysmon: a sleep that ends inside the
// window costs it nothing to watch, and it backs off to checking every
// 10 ms. chapters/benchmarks.md measures what that gives: most where the
// loop sleeps at every request (one client), nothing measurable under
// pipelined load, where it rarely sleeps.
//
// The price: while the loop holds its P, no other goroutine can have it.
// At GOMAXPROCS=1 one that becomes runnable waits for the window to end;
// and under steady load, when every sleep ends inside the window, the loop
// never gives its P up, and such a goroutine (the one that starts a
// shutdown on a signal, say) waits until sysmon preempts the loop: 10 ms
// after the loop last yielded, plus up to 10 ms of sysmon's own sleep, as
// for any busy goroutine. Hence the option, off by default: chapter 06's
// server turns it on when it only serves (-listen), and not for the demo,
// whose clients are goroutines of the same process and would wait.
func (r *reactor) holdThenSleep(msec int) (int, error) {
	first := holdMillis
	if msec >= 0 {
		first = min(msec, holdMillis)
	}
	n, err := r.rawWait(first)
	if err != nil || n > 0 || msec == first {
		return n, err
	}
	if msec > 0 {
		msec -= first // the rest of the timeout (-1, for ever, stays)
	}
	r.heldOut++
	return unix.EpollWait(r.epfd, r.events, msec)
}

// holdMillis is how long holdThenSleep keeps the processor: long enough to
// cover the loop's sleeps under load, a tenth of the time slice Go's
// scheduler gives a busy goroutine before it preempts it (10 ms).
const holdMillis = 1

// rawWait is epoll_wait for up to msec milliseconds (0: a look, no wait),
// as a raw system call: Go's scheduler is not told.
func (r *reactor) rawWait(msec int) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(r.epfd),
		uintptr(unsafe.Pointer(&r.events[0])), uintptr(len(r.events)), uintptr(msec), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// waitMillis converts a timeout to epoll_wait's argument: whole
// milliseconds, -1 for none. It rounds up: rounding 0.4 ms down to 0 would
// return at once, and a loop waiting for a timer would spin until it is
// due. Rounding up costs at most a millisecond of lateness.
func waitMillis(timeout time.Duration) int {
	if timeout < 0 {
		return -1 // epoll_wait's "no timeout"
	}
	// The kernel keeps only 32 bits of the timeout: cap it where Go's
	// netpoll does, at 1e9 ms (11.5 days). A longer wait just wakes once
	// on the way, finds nothing due, and sleeps again. Cap first, then
	// round: rounding the longest Duration up would overflow to a
	// negative number, which epoll_wait reads as "for ever".
	const longest = 1e9 * time.Millisecond
	return int((min(timeout, longest) + time.Millisecond - 1) / time.Millisecond)
}

// dispatch turns one event into the wakers it is for.
func (r *reactor) dispatch(ev unix.EpollEvent) {
	fd, got := int(ev.Fd), epollEvents(ev.Events)
	if fd == r.efd {
		r.drain()
		return
	}
	r.nready++
	var reg *registration
	if fd < len(r.regs) {
		reg = r.regs[fd]
	}
	if reg == nil || reg.gen != uint32(ev.Pad) {
		r.stale++
		if r.trace.on() {
			r.trace.printf("  fd %d %v: stale (registration %d is gone), ignored", fd, got, uint32(ev.Pad))
		}
		return
	}
	// An error or a hang-up ends both directions: whoever waits on
	// either side must be polled to find out.
	const either = unix.EPOLLHUP | unix.EPOLLERR
	if got&(unix.EPOLLRDHUP|either) != 0 {
		reg.hungUp = true
	}
	var in, out string
	if got&(epollEvents(readable)|either) != 0 {
		in = r.fire(&reg.reader)
	}
	if got&(epollEvents(writable)|either) != 0 {
		out = r.fire(&reg.writer)
	}
	if r.trace.on() {
		r.trace.printf("  fd %d %v%s%s", fd, got, side("read", in), side("write", out))
	}
}

// fire counts an edge in d and hands d's waker to the caller of wait, or
// marks the edge if nobody is waiting. It says which, for the trace.
func (r *reactor) fire(d *direction) string {
	d.edges++
	if d.waker == nil {
		d.ready = true
		return "nobody waits, marked ready"
	}
	w := d.waker
	r.ready = append(r.ready, w)
	d.waker = nil
	if !r.trace.on() {
		return "wake"
	}
	return "wake " + w.String()
}

// side formats what fire said about one direction, for the trace.
func side(name, what string) string {
	if what == "" {
		return ""
	}
	return "; " + name + ": " + what
}

// drain empties the eventfd, so that the next epoll_wait does not return
// for it again, and lets the next notify write once more. The counter
// holds how many writes happened since the last drain.
func (r *reactor) drain() {
	var buf [8]byte
	for {
		_, err := unix.Read(r.efd, buf[:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		break // EAGAIN: already drained
	}
	// Clear the flag only after the read: a notify between the two finds
	// the flag still set and writes nothing, and its wake is not lost,
	// because its task is already on the woken list the loop takes next.
	r.notified.Store(false)
	r.drained++
	if r.trace.on() {
		r.trace.printf("  eventfd: drained (%d write): another goroutine woke a task",
			binary.NativeEndian.Uint64(buf[:]))
	}
}

// close releases the epoll instance and the eventfd.
func (r *reactor) close() error {
	err := unix.Close(r.efd)
	if err2 := unix.Close(r.epfd); err == nil {
		err = err2
	}
	if err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}
