//go:build linux

package async

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestMain starts Go's own netpoller once, before any test counts open
// descriptors: the first use of the net package in a process opens an
// epoll fd and a wake-up fd that stay open for good and would look like a
// leak to the first test that dials.
func TestMain(m *testing.M) {
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	os.Exit(m.Run())
}

// openFDs counts this process's open file descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err, "reading /proc/self/fd")
	return len(entries)
}

// OpenFDs is openFDs for the tests of package async_test, which run the
// examples (the export_test.go idiom: it exists only in test builds).
var OpenFDs = openFDs

// newTestRuntime makes a runtime (with cfg, if given) that is closed when
// the test ends, and checks that every descriptor opened since it was made
// is closed again, and that no buffer was given back to its pool twice.
// Register cleanups that close the test's own descriptors after calling
// it, so that they run first.
func newTestRuntime(t *testing.T, cfg ...Config) *Runtime {
	t.Helper()
	before := openFDs(t)
	var c Config
	if len(cfg) > 0 {
		c = cfg[0]
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	rt, err := NewRuntime(c)
	require.NoError(t, err, "NewRuntime")
	t.Cleanup(func() {
		require.NoError(t, rt.Close(), "Close")
		assert.Equal(t, before, openFDs(t), "open descriptors after Close (a leak if more)")
		assert.Empty(t, givenBackTwice(rt.buffers.free), "buffers in the pool twice: a double Put, and two connections would share one")
	})
	return rt
}

// givenBackTwice returns the positions in free of buffers that share
// their memory with one before them.
func givenBackTwice(free [][]byte) []int {
	var twice []int
	seen := map[*byte]bool{}
	for i, b := range free {
		p := unsafe.SliceData(b)
		if seen[p] {
			twice = append(twice, i)
		}
		seen[p] = true
	}
	return twice
}

// newTestReactor makes a reactor that is closed when the test ends, and
// checks that no descriptor it opened is left behind.
func newTestReactor(t *testing.T) *reactor {
	t.Helper()
	before := openFDs(t)
	r, err := newReactor(tracer{})
	require.NoError(t, err, "newReactor")
	t.Cleanup(func() {
		require.NoError(t, r.close(), "close")
		assert.Equal(t, before, openFDs(t), "open descriptors after close")
	})
	return r
}

// testWaker returns the waker of a task that is never polled, on an
// executor of its own that never sleeps (so its Wake never needs a
// reactor), so that a test can see whether it was woken.
func testWaker(t *testing.T, name string) *Waker {
	t.Helper()
	ex := newExecutor(nil, &timers{}, tracer{}, io.Discard, nil)
	return &Waker{task: &task{id: 1, name: name}, ex: ex}
}

// newReg registers fd with r in a registration of its own, as the
// reactor's tests need; a Conn or Listener keeps its registration inline.
func newReg(r *reactor, fd int) (*registration, error) {
	reg := &registration{}
	return reg, r.register(reg, fd)
}

// rtWaker returns the waker of a task that is never polled, on rt's own
// executor: a Deadline polled with it arms rt's timers.
func rtWaker(rt *Runtime, name string) *Waker {
	return &Waker{task: &task{id: 1, name: name}, ex: rt.ex}
}

// tookWake reports whether w's task was woken since the last call, and
// makes it wakeable again, as polling it would.
func tookWake(w *Waker) bool {
	return w.task.queued.Swap(false)
}

// finishes runs f on a goroutine and fails the test if it has not returned
// within a generous time: the bugs these tests pin make the loop sleep
// forever, and a test should say so rather than hang. f must not touch
// the test's runtime from anywhere else while it runs.
func finishes(t *testing.T, what string, f func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		require.NoError(t, err, what)
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: still asleep after 20 s: a wake was lost", what)
	}
}

// socketpair returns two connected non-blocking stream sockets, closed
// when the test ends (unless the test closed them first). The first has a
// small send buffer, so that writes to it come back partial, then EAGAIN,
// long before the data runs out.
func socketpair(t *testing.T) (int, int) {
	t.Helper()
	return socketpairAt(t, -1)
}

// socketpairAt is socketpair, with the first socket at descriptor number
// num, which must be free (a descriptor the test has just closed); a
// negative num takes what the kernel gives. The kernel hands out the
// lowest free number, usually num itself; if it gives another, the socket
// is moved there with dup3.
func socketpairAt(t *testing.T, num int) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err, "socketpair")
	ours, peer := fds[0], fds[1]
	if num >= 0 {
		if peer == num { // the two ends are alike: swap them
			ours, peer = peer, ours
		}
		if ours != num {
			require.NoError(t, unix.Dup3(ours, num, unix.O_CLOEXEC), "move the socket to fd %d", num)
			require.NoError(t, unix.Close(ours), "close the socket's first number")
			ours = num
		}
	}
	t.Cleanup(closeIfSame(ours))
	t.Cleanup(closeIfSame(peer))
	require.NoError(t, unix.SetsockoptInt(ours, unix.SOL_SOCKET, unix.SO_SNDBUF, 4096), "SO_SNDBUF")
	return ours, peer
}

// closeIfSame returns a cleanup that closes fd unless the test closed it
// already: the kernel may have given its number to a new descriptor since,
// which a second close would wrongly close. The inode tells them apart.
func closeIfSame(fd int) func() {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return func() {}
	}
	return func() {
		var now unix.Stat_t
		if unix.Fstat(fd, &now) == nil && now.Ino == st.Ino && now.Dev == st.Dev {
			unix.Close(fd)
		}
	}
}

// isOpen reports whether fd is an open descriptor.
func isOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

// connPair returns a Conn on rt and the raw descriptor of its peer. The
// Conn's socket has the small send buffer (see socketpair).
func connPair(t *testing.T, rt *Runtime) (*Conn, int) {
	t.Helper()
	ours, peer := socketpair(t)
	c, err := rt.newConn(ours)
	require.NoError(t, err, "newConn")
	t.Cleanup(func() { c.Close() })
	return c, peer
}

// listenAndDial makes a listener on rt, on a free loopback port, and
// connects a client to it with Go's net package; both are closed when the
// test ends. The connection waits in the listener's backlog.
func listenAndDial(t *testing.T, rt *Runtime) (*Listener, net.Conn) {
	t.Helper()
	ln, err := rt.Listen("127.0.0.1:0")
	require.NoError(t, err, "Listen")
	t.Cleanup(func() { ln.Close() })
	client, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err, "Dial")
	t.Cleanup(func() { client.Close() })
	return ln, client
}

// write sends s from a raw descriptor, all at once.
func write(t *testing.T, fd int, s string) {
	t.Helper()
	n, err := unix.Write(fd, []byte(s))
	require.NoError(t, err, "write")
	require.Equal(t, len(s), n, "bytes written")
}

// fill writes to fd until its send buffer is full (EAGAIN), and returns
// how many bytes that took.
func fill(t *testing.T, fd int) int {
	t.Helper()
	chunk := make([]byte, 1024)
	total := 0
	for {
		n, err := unix.Write(fd, chunk)
		if errors.Is(err, unix.EAGAIN) {
			return total
		}
		require.NoError(t, err, "write")
		total += n
	}
}

// drain reads from fd until nothing is left (EAGAIN), and returns what it
// read.
func drain(t *testing.T, fd int) []byte {
	t.Helper()
	var all []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EAGAIN) {
			return all
		}
		require.NoError(t, err, "read")
		if n == 0 {
			return all
		}
		all = append(all, buf[:n]...)
	}
}

// readLine runs one ReadLine to the end on rt's loop.
func readLine(t *testing.T, rt *Runtime, c *Conn, max int) Result[[]byte] {
	t.Helper()
	r, err := BlockOn(rt, "read line", c.ReadLine(max))
	require.NoError(t, err, "BlockOn")
	return r
}

// pollUntilReady drives f the way chapter 03's loop does: poll, and if
// Pending, poll again at once. It returns the value and the polls it took.
func pollUntilReady[T any](t *testing.T, f Future[T]) (T, int) {
	t.Helper()
	cx := &Context{}
	for polls := 1; polls <= 1000; polls++ {
		if v, ok := f.Poll(cx).Value(); ok {
			return v, polls
		}
	}
	require.FailNow(t, "future still Pending after 1000 polls")
	panic("unreachable")
}

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
// times: Pending, Pending, ..., then Ready(n). Nothing outside will ever
// wake it, so before each Pending it wakes its own task: "poll me again,
// after the others" (Rust's yield_now does this).
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

// probe is a future that records how it is used: Pending until ready is
// set, and it notes every Poll and Drop.
type probe struct {
	ready   bool
	value   string
	polls   int
	dropped bool
}

func (p *probe) Poll(*Context) Poll[string] {
	p.polls++
	if p.ready {
		return Ready(p.value)
	}
	return Pending[string]()
}

func (p *probe) Drop() { p.dropped = true }

// never is a future that is never Ready, and notes whether it was dropped.
type never struct{ dropped bool }

func (n *never) Poll(*Context) Poll[string] { return Pending[string]() }
func (n *never) Drop()                      { n.dropped = true }

// spinner is a task that is always runnable: it wakes itself on every
// poll and never finishes.
type spinner struct{ polls int }

func (s *spinner) Poll(cx *Context) Poll[struct{}] {
	s.polls++
	cx.Waker.Wake()
	return Pending[struct{}]()
}

// mailbox is a future that waits for a value sent from another goroutine:
// Poll leaves its waker in the box, send puts the value in and wakes it.
type mailbox struct {
	mu    sync.Mutex
	value string
	full  bool
	waker *Waker
	polls int
}

func (m *mailbox) Poll(cx *Context) Poll[string] {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.polls++
	if !m.full {
		m.waker = cx.Waker
		return Pending[string]()
	}
	return Ready(m.value)
}

// send may be called from any goroutine. It returns once the task is
// woken; the waker must be in the box already (the task has polled).
func (m *mailbox) send(v string) {
	m.mu.Lock()
	m.value, m.full = v, true
	w := m.waker
	m.mu.Unlock()
	w.Wake()
}

// pollsOf reads m's poll count; m may be polled on another goroutine.
func (m *mailbox) pollsOf() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.polls
}

// pollRunnable polls the tasks queued or woken on rt, as the loop would,
// until none is runnable, without sleeping: after it, each task that is
// Pending has handed its waker to whatever it waits for. (A task that
// wakes itself would keep it going.)
func pollRunnable(rt *Runtime) {
	for rt.ex.takeWoken() || rt.ex.queue.len() > 0 {
		rt.ex.pollTask(rt.ex.queue.pop())
	}
}
