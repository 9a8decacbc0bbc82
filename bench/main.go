//go:build linux

// Bench measures chapter 06's runtime side by side with what a Go
// programmer would otherwise write (a goroutine per connection on net, and
// net/http), with chapter 02's raw epoll loop, the floor, and with two
// production event loops, gnet (Go) and tokio's current-thread runtime
// (Rust), built from bench/peers when they can be:
//
//	go run ./bench            every scenario, 5 runs of 3 s each (about 10 minutes)
//	go run ./bench -quick     the same with 0.5 s runs (a few minutes)
//	go run ./bench -peers     only the scenarios that compare with gnet and tokio
//	go run ./bench -soak 60s  thousands of random clients against chapter 06; nothing lost or leaked
//	go run ./bench -load 127.0.0.1:7000 -c 50 -d 16       the load generator alone, against any server
//	go run ./bench -load 127.0.0.1:7000 -rate 20000       open loop: latency from when each request was due
//
// Every server runs in a process of its own, pinned to CPU 0 when taskset
// is installed; the load generator (load.go: one thread, raw epoll) runs
// pinned to CPU 1. The table gives medians with min-max, and the ratios
// that the goals in chapters/benchmarks.md are about.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	// The same binary is also the baseline servers and the load
	// generator, each started as a process of its own.
	if len(os.Args) >= 2 {
		switch os.Args[1] {
		case "-serve-process":
			os.Exit(serveMain(os.Args[2], os.Args[3], os.Stdout, os.Stderr))
		case "-load-process":
			os.Exit(loadMain(os.Args[2], os.Stdout, os.Stderr))
		case "-soak-process":
			os.Exit(soakClientsMain(os.Args[2:], os.Stdout, os.Stderr))
		}
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// scenario is one line of the table: a load, run against each server.
type scenario struct {
	name    string
	mode    string // "echo" or "http"
	conns   int
	depth   int
	idle    bool // each connection makes one round trip, then stays silent: memory, not speed
	servers []string
}

const echoSize = 64

var scenarios = []scenario{
	{"echo 64 B, 1 conn", "echo", 1, 1, false, []string{"06", "net", "02"}},
	{"echo 64 B, 50 conns", "echo", 50, 1, false, []string{"06", "gnet", "tokio", "net", "02"}},
	{"echo 64 B, 1000 conns", "echo", 1000, 1, false, []string{"06", "net", "02"}},
	{"echo 64 B, 50 conns, depth 16", "echo", 50, 16, false, []string{"06", "gnet", "tokio", "net", "02"}},
	{"echo 64 B, 10,000 conns", "echo", 10000, 1, false, []string{"06", "net", "02"}},
	{"echo, 10,000 idle conns", "echo", 10000, 1, true, []string{"06", "gnet", "tokio", "net"}},
	{"HTTP plaintext, 50 conns", "http", 50, 1, false, []string{"06", "gnet", "tokio", "net/http", "02"}},
	{"HTTP plaintext, 256 conns, depth 16", "http", 256, 16, false, []string{"06", "gnet", "tokio", "net/http", "02"}},
	{"HTTP plaintext, 50 conns, depth 256", "http", 50, 256, false, []string{"06", "gnet", "tokio"}}, // a batch of 10 KiB: more than one 4 KiB read
}

// peerNames are the production peers: a scenario that lists one of them
// is part of -peers.
var peerNames = []string{"gnet", "tokio"}

// measurement is one run of one scenario against one server.
type measurement struct {
	loadResult
	cpuSec     float64 // server CPU (user+system) in the measured window
	userSec    float64 // server user CPU in the window
	syscalls   int64   // server system calls in the window; -1 if not counted
	rssPerConn float64 // bytes: server RSS under load minus idle, per connection
	idleRSS    int64
	loadedRSS  int64
}

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("bench", flag.ContinueOnError)
	flags.SetOutput(stderr)
	duration := flags.Duration("duration", 3*time.Second, "measured time of each run")
	warmup := flags.Duration("warmup", 500*time.Millisecond, "load before each measured run")
	repeats := flags.Int("repeats", 5, "runs of each scenario against each server")
	quick := flags.Bool("quick", false, "0.5 s runs and 0.2 s warm-ups: the whole table in a few minutes")
	peers := flags.Bool("peers", false, "only the scenarios that compare chapter 06 with gnet and tokio")
	only := flags.String("only", "", "run only the scenarios whose name contains `TEXT`")
	soak := flags.Duration("soak", 0, "instead of the table: soak chapter 06 for this long with random clients")
	soakClients := flags.Int("soak-clients", 2000, "soak: concurrent clients")
	load := flags.String("load", "", "instead of the table: drive the server at `ADDR` with the load generator alone, and print what it measured")
	conns := flags.Int("c", 50, "-load: connections")
	size := flags.Int("s", echoSize, "-load: echo message size in bytes, newline included")
	depth := flags.Int("d", 1, "-load: requests in flight per connection (closed loop)")
	rate := flags.Float64("rate", 0, "-load: open loop instead, at this many requests per second in all; latency counts from when each was due")
	mode := flags.String("mode", "echo", "-load: echo or http")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if *load != "" {
		res, err := runLoad(loadConfig{Addr: *load, Mode: *mode, Conns: *conns, Size: *size, Depth: *depth, Rate: *rate,
			Warmup: *warmup, Duration: *duration}, io.Discard)
		if err != nil {
			fmt.Fprintln(stderr, "bench: load:", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s answers in %.2f s: %s per second; latency p50 %.0f µs, p99 %.0f µs; load generator %.0f%% of its core\n",
			thousands(float64(res.Responses)), res.Seconds, thousands(float64(res.Responses)/res.Seconds), res.P50us, res.P99us, 100*res.LoadCPU)
		return 0
	}
	if *quick {
		*duration, *warmup = 500*time.Millisecond, 200*time.Millisecond
	}
	dir, err := os.MkdirTemp("", "bench")
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bins, missing, err := buildServers(dir, *soak == 0)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	if *soak > 0 {
		return runSoak(bins["06"], *soak, *soakClients, stdout, stderr)
	}

	_, errTaskset := exec.LookPath("taskset")
	_, errPerf := exec.LookPath("perf")
	pinned := errTaskset == nil
	fmt.Fprintf(stdout, "# go run ./bench%s\n\n", strings.Join(append([]string{""}, args...), " "))
	fmt.Fprintf(stdout, "Machine: %s; %d CPUs; %s; %s.\n", kernel(), runtime.NumCPU(), runtime.Version(), cpuModel())
	if pinned {
		fmt.Fprintln(stdout, "Server pinned to CPU 0, load generator to CPU 1 (taskset).")
	} else {
		fmt.Fprintln(stdout, "taskset not found: server and load generator are not pinned; every server runs with GOMAXPROCS=1.")
	}
	if errPerf != nil {
		fmt.Fprintln(stdout, "perf not found: system calls per request are not counted (install linux-perf).")
	}
	for _, why := range missing {
		fmt.Fprintln(stdout, why)
	}
	fmt.Fprintf(stdout, "Each cell: median of %d runs of %v after %v of warm-up, [min-max].\n\n", *repeats, *duration, *warmup)

	results := map[string]map[string][]measurement{}
	start := time.Now()
	for _, sc := range scenarios {
		if *only != "" && !strings.Contains(sc.name, *only) {
			continue
		}
		if *peers && !slices.ContainsFunc(sc.servers, func(s string) bool { return slices.Contains(peerNames, s) }) {
			continue
		}
		sc.servers = slices.DeleteFunc(slices.Clone(sc.servers), func(s string) bool { return bins[s] == nil })
		results[sc.name] = map[string][]measurement{}
		// Alternate the servers within each round, so that a slow
		// spell of the machine does not fall on one server's runs.
		for rep := range *repeats {
			for _, srv := range sc.servers {
				m, err := measure(bins, sc, srv, *warmup, *duration, pinned, errPerf == nil)
				if err != nil {
					fmt.Fprintf(stderr, "bench: %s, %s, run %d: %v\n", sc.name, srv, rep+1, err)
					return 1
				}
				results[sc.name][srv] = append(results[sc.name][srv], m)
			}
		}
		printScenario(stdout, sc, results[sc.name])
	}
	printGoals(stdout, results)
	fmt.Fprintf(stdout, "\nTotal time: %.0f s.\n", time.Since(start).Seconds())
	return 0
}

// buildServers builds the chapter servers and (withPeers) the peers, and returns the
// command for each server name (the baselines are this binary itself;
// "MODE" stands for echo or http). A peer that cannot be built is left
// out, with one line saying why.
func buildServers(dir string, withPeers bool) (bins map[string][]string, missing []string, err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	bins = map[string][]string{
		"net":      {self, "-serve-process", "net-echo", "127.0.0.1:0"},
		"net/http": {self, "-serve-process", "net-http", "127.0.0.1:0"},
	}
	for _, ch := range []string{"02-epoll", "06-full-runtime"} {
		out := filepath.Join(dir, ch)
		if err := runQuiet(exec.Command("go", "build", "-o", out, "./"+ch)); err != nil {
			return nil, nil, fmt.Errorf("go build ./%s: %w (run go run ./bench from the repository's root)", ch, err)
		}
		bins[ch[:2]] = []string{out, "-listen", "127.0.0.1:0"}
	}
	bins["06"] = append(bins["06"], "-idle", "1h")
	if !withPeers {
		return bins, nil, nil
	}

	// gnet: a module of its own (bench/peers), so that the tutorial's
	// go.mod does not depend on it. The go command fetches it from the
	// module proxy the first time.
	gnet := filepath.Join(dir, "gnet-peer")
	if err := runQuiet(exec.Command("go", "build", "-C", "bench/peers", "-o", gnet, "./gnet")); err != nil {
		missing = append(missing, fmt.Sprintf("gnet: not built, its rows are left out (go build -C bench/peers ./gnet: %v).", err))
	} else {
		bins["gnet"] = []string{gnet, "MODE", "127.0.0.1:0"}
	}
	// tokio: built offline from Debian's crates, when they are installed.
	tokio, why := buildTokio(dir)
	if why != "" {
		missing = append(missing, "tokio: not built, its rows are left out ("+why+").")
	} else {
		bins["tokio"] = []string{tokio, "MODE", "127.0.0.1:0"}
	}
	return bins, missing, nil
}

// buildTokio builds bench/peers/tokio with cargo, against Debian's
// packaged crates (apt-get install cargo librust-tokio-dev). It returns
// the binary, or why there is none.
func buildTokio(dir string) (string, string) {
	if _, err := exec.LookPath("cargo"); err != nil {
		return "", "cargo not found; apt-get install cargo librust-tokio-dev"
	}
	if found, _ := filepath.Glob("/usr/share/cargo/registry/tokio-1.*"); len(found) == 0 {
		return "", "Debian's tokio crate not found; apt-get install librust-tokio-dev"
	}
	target := filepath.Join(dir, "tokio-target")
	cmd := exec.Command("cargo", "build", "--release", "--quiet", "--target-dir", target)
	cmd.Dir = "bench/peers/tokio" // where .cargo/config.toml points cargo at Debian's crates
	if err := runQuiet(cmd); err != nil {
		return "", fmt.Sprintf("cargo build in bench/peers/tokio: %v", err)
	}
	return filepath.Join(target, "release", "tokio-peer"), ""
}

// runQuiet runs cmd and returns an error that carries the last line it
// printed, if it fails.
func runQuiet(cmd *exec.Cmd) error {
	out, err := cmd.CombinedOutput()
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return fmt.Errorf("%w: %s", err, lines[len(lines)-1])
	}
	return nil
}

// server is a running server process.
type server struct {
	cmd  *exec.Cmd
	addr string
}

func startServer(argv []string, pinned bool) (*server, error) {
	if pinned {
		argv = append([]string{"taskset", "-c", "0"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("%s did not say where it listens: %w", argv[0], err)
	}
	addr := strings.TrimSuffix(strings.Fields(strings.TrimPrefix(line, "listening on "))[0], ";")
	go io.Copy(io.Discard, out) // the summary it prints at the end
	return &server{cmd: cmd, addr: addr}, nil
}

func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// measure runs one scenario once against one server.
func measure(bins map[string][]string, sc scenario, srvName string, warmup, duration time.Duration, pinned, perf bool) (measurement, error) {
	var m measurement
	argv := slices.Clone(bins[srvName])
	mode := sc.mode
	switch {
	case srvName == "06" && sc.mode == "http":
		argv = append(argv, "-http")
	case srvName == "02":
		mode = "echo" // the raw floor only echoes: HTTP rows show it echoing 64 B at the same load
	}
	if i := slices.Index(argv, "MODE"); i >= 0 {
		argv[i] = mode
	}
	srv, err := startServer(argv, pinned)
	if err != nil {
		return m, err
	}
	defer srv.stop()
	pid := srv.cmd.Process.Pid
	m.idleRSS = readRSS(pid)

	cfg := loadConfig{Addr: srv.addr, Mode: mode, Conns: sc.conns, Size: echoSize, Depth: sc.depth, Idle: sc.idle,
		Warmup: warmup, Duration: duration}
	arg, _ := json.Marshal(cfg)
	self, _ := os.Executable()
	largv := []string{self, "-load-process", string(arg)}
	if pinned {
		largv = append([]string{"taskset", "-c", "1"}, largv...)
	}
	load := exec.Command(largv[0], largv[1:]...)
	load.Stderr = os.Stderr
	out, err := load.StdoutPipe()
	if err != nil {
		return m, err
	}
	sampled, err := load.StdinPipe() // idle: says when the sample is taken, so the connections may close
	if err != nil {
		return m, err
	}
	defer sampled.Close()
	if err := load.Start(); err != nil {
		return m, err
	}
	lines := bufio.NewScanner(out)
	var cpu0, user0 float64
	var perfCmd *exec.Cmd
	var perfOut strings.Builder
	for lines.Scan() {
		line := lines.Text()
		if line == "measuring" {
			m.loadedRSS = readRSS(pid)
			cpu0, user0 = readCPU(pid)
			if perf {
				perfCmd = exec.Command("perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "-p", strconv.Itoa(pid))
				perfCmd.Stderr = &perfOut
				if perfCmd.Start() != nil {
					perfCmd = nil
				}
			}
			continue
		}
		if line == "idle window over" {
			// Memory per idle connection is sampled at the end of the
			// quiet window, the connections still open: what a server
			// holds once it has settled, not the garbage of the burst
			// of connects that its collector has yet to give back.
			m.loadedRSS = readRSS(pid)
			fmt.Fprintln(sampled, "sampled")
			continue
		}
		if err := json.Unmarshal([]byte(line), &m.loadResult); err != nil {
			return m, fmt.Errorf("load said %q", line)
		}
	}
	cpu1, user1 := readCPU(pid)
	m.syscalls = -1
	if perfCmd != nil {
		perfCmd.Process.Signal(os.Interrupt)
		perfCmd.Wait()
		m.syscalls = parsePerf(perfOut.String())
	}
	if err := load.Wait(); err != nil {
		return m, fmt.Errorf("load generator: %w", err)
	}
	m.cpuSec, m.userSec = cpu1-cpu0, user1-user0
	m.rssPerConn = float64(m.loadedRSS-m.idleRSS) / float64(sc.conns)
	return m, nil
}

// readCPU returns a process's CPU seconds so far: user+system, and user.
func readCPU(pid int) (float64, float64) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	// Fields after the command name (which may hold spaces) start after ')'.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	const hz = 100 // USER_HZ, 100 on every Linux that Go supports
	return (utime + stime) / hz, utime / hz
}

// readRSS returns a process's resident memory in bytes.
func readRSS(pid int) int64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kib << 10
		}
	}
	return 0
}

// parsePerf reads the count from perf stat -x, output.
func parsePerf(out string) int64 {
	for line := range strings.Lines(out) {
		f := strings.Split(line, ",")
		if len(f) > 2 && strings.Contains(line, "raw_syscalls:sys_enter") {
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

func kernel() string {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return "Linux"
	}
	b := make([]byte, 0, len(u.Release))
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return "Linux " + string(b)
}

func cpuModel() string {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.Lines(string(info)) {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}
