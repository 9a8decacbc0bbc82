// Package lab is what the experiments' Go programs share: building a
// chapter, starting its server on a port the kernel picks, reading what
// the kernel says about the server's process (CPU time, descriptors,
// threads), and stopping it with a signal, as Ctrl-C or a service manager
// would, so that it prints its summary.
//
// The programs run from the repository's root (go run ./experiments/NAME),
// since they build ./CHAPTER. The server runs as a child process, never
// under go run, so that a signal reaches the server itself.
package lab

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Build compiles ./chapter into a new scratch folder and returns the
// binary's path (named after the chapter, as go run's would be) and a
// function that removes the folder.
func Build(chapter string) (bin string, cleanup func(), err error) {
	if _, err := os.Stat(filepath.Join(chapter, "main.go")); err != nil {
		return "", nil, fmt.Errorf("no chapter %q here: run this from the repository's root (%v)", chapter, err)
	}
	dir, err := os.MkdirTemp("", "experiment")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	bin = filepath.Join(dir, filepath.Base(chapter))
	build := exec.Command("go", "build", "-o", bin, "./"+chapter)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("go build ./%s: %w", chapter, err)
	}
	return bin, cleanup, nil
}

// Server is a chapter's server running as a child process with -listen.
type Server struct {
	Addr string // where it listens, from its first line
	PID  int

	cmd    *exec.Cmd
	stderr bytes.Buffer // its trace, if it was asked for one (under mu)
	mu     sync.Mutex
	lines  []string      // what it printed on stdout after the first line (under mu)
	done   chan struct{} // closed when its stdout has ended
}

// Start runs bin -listen 127.0.0.1:0 with args after it, and waits until
// it says where it listens.
func Start(bin string, args ...string) (*Server, error) {
	return start(exec.Command(bin, append([]string{"-listen", "127.0.0.1:0"}, args...)...))
}

// StartWithFileLimit is Start with the server's open-file limit (soft and
// hard, so that Go's start-up cannot raise it) set to limit, as a shell's
// ulimit -n would set it.
func StartWithFileLimit(limit int, bin string, args ...string) (*Server, error) {
	script := "ulimit -n " + strconv.Itoa(limit) + ` && exec "$0" "$@"` // exec: the server keeps the shell's PID
	return start(exec.Command("bash", append([]string{"-c", script, bin, "-listen", "127.0.0.1:0"}, args...)...))
}

var listeningRE = regexp.MustCompile(`^listening on (\S+);`)

func start(cmd *exec.Cmd) (*Server, error) {
	s := &Server{cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{mu: &s.mu, w: &s.stderr}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.PID = cmd.Process.Pid
	out := bufio.NewReader(stdout)
	first, err := out.ReadString('\n')
	m := listeningRE.FindStringSubmatch(first)
	if m == nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("the server did not say where it listens: %q (%v); its stderr: %s", first, err, s.Stderr())
	}
	s.Addr = m[1]
	go func() {
		defer close(s.done)
		for {
			line, err := out.ReadString('\n')
			if line != "" {
				s.mu.Lock()
				s.lines = append(s.lines, strings.TrimSuffix(line, "\n"))
				s.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	return s, nil
}

// lockedWriter writes to w under mu: the server's stderr is copied by a
// goroutine of os/exec while we read it.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Stderr is what the server has written to stderr so far: its trace, with
// -trace.
func (s *Server) Stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// Output is what the server has printed on stdout so far, after the
// line that says where it listens.
func (s *Server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.lines) == 0 {
		return ""
	}
	return strings.Join(s.lines, "\n") + "\n"
}

// WaitFor waits, up to limit, until the server's stdout has a line that
// contains text.
func (s *Server) WaitFor(text string, limit time.Duration) error {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(s.Output(), text) {
			return nil
		}
	}
	return fmt.Errorf("the server did not print %q within %v", text, limit)
}

// Signal sends sig to the server.
func (s *Server) Signal(sig syscall.Signal) error {
	return s.cmd.Process.Signal(sig)
}

// Stop sends sig (SIGTERM or SIGINT: the server drains, prints its summary
// and exits) and waits for the server to exit. It returns what the
// server printed after its first line, and its exit error, if any.
func (s *Server) Stop(sig syscall.Signal) (string, error) {
	if err := s.Signal(sig); err != nil {
		return "", err
	}
	return s.Wait()
}

// Wait waits for the server to exit (after a Signal: a second SIGTERM
// would kill it before its summary), and returns what Stop returns.
func (s *Server) Wait() (string, error) {
	<-s.done
	err := s.cmd.Wait()
	return s.Output(), err
}

// Kill ends the server at once, if an experiment fails half-way; a no-op
// once it has exited.
func (s *Server) Kill() { s.cmd.Process.Kill() }

// CPUTicks is the CPU time (user and system, all threads) that process
// pid has used, in clock ticks of 10 ms (getconf CLK_TCK says 100):
// fields 14 and 15 of /proc/PID/stat.
func CPUTicks(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the process's CPU time (this needs Linux's /proc): %w", err)
	}
	// "pid (comm) state ppid ...": the fields after the last ')' start
	// at field 3, so utime (14) and stime (15) are the 12th and 13th.
	stat := string(b)
	f := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.Atoi(f[11])
	stime, err2 := strconv.Atoi(f[12])
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q, stime %q", pid, f[11], f[12])
	}
	return utime + stime, nil
}

// OpenFDs is how many descriptors process pid has open, from /proc/PID/fd.
func OpenFDs(pid int) (int, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, fmt.Errorf("listing the process's descriptors (this needs Linux's /proc): %w", err)
	}
	return len(entries), nil
}

// PrintThreads lists pid's threads as ps -L -o tid,stat,wchan:20,comm
// would: each thread's id, its state (R running, S asleep), the kernel
// function it waits in, and its name, from /proc/PID/task.
func PrintThreads(out io.Writer, pid int) error {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("listing threads (this needs Linux's /proc): %w", err)
	}
	var tids []int
	for _, e := range entries {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	slices.Sort(tids)
	fmt.Fprintf(out, "%7s %-4s %-20s %s\n", "TID", "STAT", "WCHAN", "COMMAND")
	for _, tid := range tids {
		read := func(name string) string {
			b, _ := os.ReadFile(fmt.Sprintf("%s/%d/%s", dir, tid, name))
			return strings.TrimSpace(string(b))
		}
		// stat is "tid (comm) state ...": the state follows the last ')'.
		state := "?"
		if stat := read("stat"); strings.LastIndexByte(stat, ')') > 0 {
			if f := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:]); len(f) > 0 {
				state = f[0]
			}
		}
		wchan := read("wchan")
		if wchan == "" || wchan == "0" {
			wchan = "-"
		}
		fmt.Fprintf(out, "%7d %-4s %-20s %s\n", tid, state, wchan, read("comm"))
	}
	return nil
}

// PrintFDs lists process pid's open descriptors and what each one is
// (a file's path, a socket, an epoll instance, an eventfd), from the
// links in /proc/PID/fd.
func PrintFDs(out io.Writer, pid int) error {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("listing the process's descriptors (this needs Linux's /proc): %w", err)
	}
	var fds []int
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil {
			fds = append(fds, fd)
		}
	}
	slices.Sort(fds)
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("%s/%d", dir, fd))
		if err != nil {
			target = "(" + err.Error() + ")"
		}
		fmt.Fprintf(out, "%5d  %s\n", fd, target)
	}
	return nil
}
