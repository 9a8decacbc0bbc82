// Package experiments holds every experiment a page of the tutorial runs
// beyond the chapters' own programs: one folder each, with a README of one
// paragraph and either a script (run.sh, run as bash experiments/NAME/run.sh
// from anywhere) or a small Go program (go run ./experiments/NAME, from the
// repository's root). Scratch output goes to a temporary folder that each
// one removes.
//
// This test keeps them runnable: every script parses (bash -n), every
// experiment has its README and is run by a page, and each one is run
// once, in a short form, where the tools it needs are there. An
// experiment that needs strace is skipped, with the reason, where strace
// is missing or may not trace (a container started without
// --cap-add=SYS_PTRACE). go test -short skips the runs.
package experiments

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// root is the repository root, seen from this package's directory.
const root = ".."

// smoke says how to run each experiment in a short form, and a piece of
// text its output must contain (or, where the text varies from run to run,
// a pattern it must match). A new experiment needs a row here.
var smoke = map[string]struct {
	args      []string // after the command
	strace    bool     // it needs strace
	mustPrint string
	mustMatch string // a regular expression, when mustPrint is ""
}{
	"listen":        {args: []string{"-chapter", "02-epoll", "-idle", "10ms", "-threads", "hello"}, mustPrint: "do_epoll_wait"},
	"go-netpoller":  {strace: true, mustPrint: "EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET"},
	"two-reactors":  {strace: true, mustPrint: "EPOLLIN|EPOLLRDHUP, data={u32="},
	"syscall-count": {args: []string{"-clients", "1", "-messages", "1", "-pause", "1ms"}, strace: true, mustPrint: "accept4"},
	"eventfd-wake":  {strace: true, mustPrint: "eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK)"},
	"shutdown-race": {args: []string{"1"}, mustPrint: "lines that mention the eventfd"},
	"misbehave":     {args: []string{"-idle", "300ms", "-lines", "2", "-every", "100ms"}, mustPrint: "line too long"},
	"timer-strace":  {args: []string{"200ms"}, strace: true, mustPrint: "error: no whole line within 200ms"},
	"idle":          {args: []string{"-n", "50", "-wait", "100ms"}, mustPrint: "50 closed by the server after 0 bytes"},
	"shutdown":      {mustPrint: "each one whole and in order"},
	"linger-strace": {strace: true, mustPrint: ", SHUT_WR) = 0"},
	"emfile":        {args: []string{"-idle", "300ms"}, mustPrint: "too many open files; retrying in 5ms"},
	"flood":         {args: []string{"-for", "500ms", "-pings", "2", "-every", "10ms"}, mustPrint: "flood: sent"},
	// byteecho served, and perf named Go functions in its listing (a
	// package-qualified symbol among its lines). Not a given symbol: in
	// 0.5 s each takes a few samples, and one CI run left
	// main.(*byteEcho).Poll out of the top 12, another put
	// __vdso_clock_gettime first.
	"echo-profile": {args: []string{"-rounds", "1", "-seconds", "0.5", "06", "06bytes"}, mustMatch: `06bytes: the user-space symbols[^\n]*\n(?: +[0-9.]+ +[^\n]*\n)*? +[0-9.]+ +[a-z][a-z0-9/]*\.`},
}

func TestExperiments(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(root, "experiments", "*", "README.md"))
	require.NoError(t, err, "glob experiments")
	require.NotEmpty(t, dirs, "experiments/*/README.md")
	pages := pagesText(t)

	for _, readme := range dirs {
		dir := filepath.Dir(readme)
		name := filepath.Base(dir)
		command, isScript := commandOf(dir)

		t.Run(name+" has a README of one paragraph that gives its command", func(t *testing.T) {
			b, err := os.ReadFile(readme)
			require.NoError(t, err, "read %s", readme)
			text := strings.TrimSpace(string(b))
			heading, body, _ := strings.Cut(text, "\n\n")
			assert.True(t, strings.HasPrefix(heading, "# "+name+": "), "%s starts with the heading # %s: what it shows", readme, name)
			assert.NotContains(t, strings.TrimSpace(body), "\n\n", "%s: one paragraph after the heading", readme)
			assert.Contains(t, body, "`"+command, "%s gives the command to run it", readme)
		})

		t.Run(name+" is run by a page of the tutorial", func(t *testing.T) {
			assert.True(t, strings.Contains(pages, command), "no page of the tutorial runs %s: show it on the page it belongs to, or remove it", command)
		})

		if isScript {
			t.Run(name+"'s script parses", func(t *testing.T) {
				out, err := exec.Command("bash", "-n", filepath.Join(dir, "run.sh")).CombinedOutput()
				assert.NoError(t, err, "bash -n %s: %s", filepath.Join(dir, "run.sh"), out)
			})
		}

		t.Run(name+" runs, in a short form, and prints what it shows", func(t *testing.T) {
			s, ok := smoke[name]
			require.True(t, ok, "experiments_test.go has no smoke row for %s", name)
			if testing.Short() {
				t.Skip("-short: not running the experiments")
			}
			if s.strace {
				if why := cannotTrace(); why != "" {
					t.Skip(why)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var cmd *exec.Cmd
			if isScript {
				cmd = exec.CommandContext(ctx, "bash", append([]string{filepath.Join("experiments", name, "run.sh")}, s.args...)...)
			} else {
				cmd = exec.CommandContext(ctx, "go", append([]string{"run", "./experiments/" + name}, s.args...)...)
			}
			cmd.Dir = root
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			var exit *exec.ExitError
			if errors.As(err, &exit) && exit.ExitCode() == 3 {
				t.Skipf("%s says it cannot run here: %s", command, out.String())
			}
			require.NoError(t, err, "%s %s:\n%s", command, strings.Join(s.args, " "), out.String())
			if s.mustMatch != "" {
				assert.Regexp(t, s.mustMatch, out.String(), "the output of %s", command)
			} else {
				assert.Contains(t, out.String(), s.mustPrint, "the output of %s", command)
			}
		})
	}
}

// commandOf returns how a reader runs the experiment in dir, from the
// repository's root, and whether it is a script (else a Go program).
func commandOf(dir string) (command string, isScript bool) {
	name := filepath.Base(dir)
	if _, err := os.Stat(filepath.Join(dir, "run.sh")); err == nil {
		return "bash experiments/" + name + "/run.sh", true
	}
	return "go run ./experiments/" + name, false
}

// pagesText is the text of every Markdown page a reader follows: the
// README and the pages in chapters/.
func pagesText(t *testing.T) string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(root, "chapters", "*.md"))
	require.NoError(t, err, "glob chapters/*.md")
	pages = append(pages, filepath.Join(root, "README.md"))
	var all strings.Builder
	for _, p := range slices.Sorted(slices.Values(pages)) {
		b, err := os.ReadFile(p)
		require.NoError(t, err, "read %s", p)
		all.Write(b)
	}
	return all.String()
}

// cannotTrace says why strace cannot run here, or "" if it can.
func cannotTrace() string {
	if _, err := exec.LookPath("strace"); err != nil {
		return "strace is not installed: the experiments that need it are not run"
	}
	if out, err := exec.Command("strace", "-o", os.DevNull, "true").CombinedOutput(); err != nil {
		return "strace may not trace here (in a container, start it with --cap-add=SYS_PTRACE): " + strings.TrimSpace(string(out))
	}
	return ""
}
