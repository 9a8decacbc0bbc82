package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tool's tests run it on a copy of an exercise tree in a temporary
// folder, laid out as the repository is:
//
//	exercises/go.mod, go.sum      this module's, so the copy builds as it does
//	exercises/order.txt           double before add
//	exercises/00-warmup/double    already solved: passes
//	exercises/00-warmup/add       a stub that panics with its TODO; three hints
//	exercises/<a real exercise>   copied from here, as committed
//	solutions/00-warmup/add       add's worked solution
//
// and, unless a test wants no git, commit it in a git repository of its own.

const (
	addStub = `package add

// Add returns the sum of a and b.
func Add(a, b int) int {
	// TODO(00-warmup/add): return the sum.
	panic("TODO(00-warmup/add): return the sum of a and b")
}
`
	addWrong = `package add

// Add returns the sum of a and b.
func Add(a, b int) int {
	return a - b
}
`
	addSolution = `package add

// Add returns the sum of a and b.
func Add(a, b int) int {
	return a + b
}
`
	addTest = `package add

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAdd(t *testing.T) {
	t.Run("adds two numbers", func(t *testing.T) {
		assert.Equal(t, 5, Add(2, 3), "Add(2, 3)")
	})
}
`
	doubleCode = `package double

// Double returns twice x.
func Double(x int) int { return 2 * x }
`
	doubleTest = `package double

import "testing"

func TestDouble(t *testing.T) {
	if got := Double(2); got != 4 {
		t.Errorf("Double(2) = %d, want 4", got)
	}
}
`
)

// fixture builds the tree above and returns the tool, pointed at its
// exercises folder, with its output in buffers, and the name of the real
// exercise it copied.
func fixture(t *testing.T, withGit bool) (a *app, out *syncBuffer, real string) {
	t.Helper()
	root := t.TempDir()
	ex := filepath.Join(root, "exercises")
	files := map[string]string{
		"exercises/order.txt":                       "# the order\n00-warmup/double\n00-warmup/add\n",
		"exercises/00-warmup/double/double.go":      doubleCode,
		"exercises/00-warmup/double/double_test.go": doubleTest,
		"exercises/00-warmup/add/README.md":         "# add\n",
		"exercises/00-warmup/add/add.go":            addStub,
		"exercises/00-warmup/add/add_test.go":       addTest,
		"exercises/00-warmup/add/hints/1.md":        "The first hint.\n",
		"exercises/00-warmup/add/hints/2.md":        "The second hint.\n",
		"exercises/00-warmup/add/hints/3.md":        "The third hint.\n",
		"solutions/00-warmup/add/add.go":            addSolution,
		"solutions/00-warmup/add/add_test.go":       addTest,
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err, "read this module's %s", f)
		files["exercises/"+f] = string(b)
	}
	for name, content := range files {
		writeFile(t, filepath.Join(root, name), content)
	}
	real = copyRealExercise(t, ex)
	if withGit {
		git(t, root, "init", "-q")
		git(t, root, "add", "-A")
		git(t, root, "commit", "-q", "-m", "the exercises")
	}
	out = newSyncBuffer()
	return &app{dir: ex, stdin: strings.NewReader(""), stdout: out, stderr: out, interval: 10 * time.Millisecond}, out, real
}

// copyRealExercise copies the first exercise of this module, as committed,
// into the exercises folder ex, and returns its name. Without git, it
// copies the first one that is still a stub on disk, and none ("") if you
// have solved them all: your work must not break these tests.
func copyRealExercise(t *testing.T, ex string) string {
	t.Helper()
	this := &app{dir: "."}
	names, err := this.exercises()
	require.NoError(t, err, "list this module's exercises")
	if this.hasGit(t.Context()) {
		archive, err := this.git(t.Context(), "archive", "--format=tar", "HEAD", names[0])
		require.NoError(t, err, "git archive %s", names[0])
		tr := tar.NewReader(strings.NewReader(archive))
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return names[0]
			}
			require.NoError(t, err, "read git archive of %s", names[0])
			if h.Typeflag == tar.TypeReg {
				b, err := io.ReadAll(tr)
				require.NoError(t, err, "read %s from git archive", h.Name)
				writeFile(t, filepath.Join(ex, filepath.FromSlash(h.Name)), string(b))
			}
		}
	}
	for _, name := range names {
		if this.hasMarker(name) {
			require.NoError(t, os.CopyFS(filepath.Join(ex, name), os.DirFS(name)), "copy %s", name)
			return name
		}
	}
	return ""
}

// next is what the tool says when real is the next exercise to do.
func next(real string) string {
	if real == "" {
		return "Every exercise passes"
	}
	return "Next: " + real
}

// noGitEnv makes git in the tests ignore variables that point it at
// another repository (git sets them for its hooks, say), and skips the
// test if git is not installed.
func noGitEnv(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	for _, v := range []string{"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"} {
		t.Setenv(v, "")
		require.NoError(t, os.Unsetenv(v), "unset %s", v)
	}
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "git", append([]string{"-c", "user.name=learner", "-c", "user.email=learner@example.com"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %s:\n%s", strings.Join(args, " "), out)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755), "mkdir for %s", path)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644), "write %s", path)
}

// run runs the tool with args and returns its exit status and output.
func run(t *testing.T, a *app, out *syncBuffer, stdin string, args ...string) (int, string) {
	t.Helper()
	out.Reset()
	a.stdin = strings.NewReader(stdin)
	code := a.run(t.Context(), args)
	return code, out.String()
}

func TestList(t *testing.T) {
	noGitEnv(t)
	a, out, real := fixture(t, true)

	t.Run("stubs are not started, a solved exercise passes, the next one shows its TODO", func(t *testing.T) {
		code, text := run(t, a, out, "")
		assert.Equal(t, 0, code, "exit status of go run .:\n%s", text)
		assert.Regexp(t, `(?s)00-warmup/double +✓ passing\n +00-warmup/add +· not started\n`, text,
			"every exercise, in chapter order and then order.txt's, with its state")
		if real != "" {
			assert.Regexp(t, `\n +00-warmup/add +· not started\n +`+regexp.QuoteMeta(real)+` +· not started\n`, text, "the real exercise, after the chapter 00 ones")
		}
		assert.Regexp(t, `1 of [23] exercises pass.`, text, "the count")
		assert.Contains(t, text, "Next: 00-warmup/add\n  TODO(00-warmup/add): return the sum of a and b\n", "the next one, with its TODO")
	})

	t.Run("a changed exercise is tested, and its first failed assertion shown in one line", func(t *testing.T) {
		writeFile(t, filepath.Join(a.dir, "00-warmup/add/add.go"), addWrong)
		_, text := run(t, a, out, "")
		assert.Regexp(t, `00-warmup/add +✗ failing`, text, "state of a wrong answer")
		assert.Contains(t, text, "Next: 00-warmup/add\n  adds two numbers: Add(2, 3): Not equal: expected: 5 actual : -1\n",
			"the subtest, testify's message and what it expected")
	})

	t.Run("a solved exercise passes, and the next is the following one", func(t *testing.T) {
		writeFile(t, filepath.Join(a.dir, "00-warmup/add/add.go"), addSolution)
		_, text := run(t, a, out, "")
		assert.Regexp(t, `00-warmup/add +✓ passing`, text, "state of a right answer")
		assert.Regexp(t, `2 of [23] exercises pass.`, text, "the count")
		assert.Contains(t, text, next(real), "the next one")
	})
}

func TestListWithoutGit(t *testing.T) {
	a, out, _ := fixture(t, false)
	code, text := run(t, a, out, "")
	assert.Equal(t, 0, code, "exit status of go run .:\n%s", text)
	assert.Regexp(t, `00-warmup/add +✗ failing`, text, "without git, an untouched stub is tested like any other")
	assert.Contains(t, text, "not a git checkout", "the list says why")
	assert.Contains(t, text, "Next: 00-warmup/add\n  TODO(00-warmup/add)", "the next one")
}

func TestHint(t *testing.T) {
	a, out, _ := fixture(t, false)
	for i, want := range []string{"Hint 1 of 3 for 00-warmup/add", "Hint 2 of 3", "Hint 3 of 3", "All 3 hints for 00-warmup/add have been shown"} {
		code, text := run(t, a, out, "", "hint", "00-warmup/add")
		assert.Equal(t, 0, code, "exit status of hint, call %d", i+1)
		assert.Contains(t, text, want, "call %d of hint", i+1)
		if i < 3 {
			assert.Contains(t, text, []string{"The first hint.", "The second hint.", "The third hint."}[i], "call %d shows hints/%d.md", i+1, i+1)
		}
	}
	b, err := os.ReadFile(filepath.Join(a.dir, progressFile))
	require.NoError(t, err, "the progress file")
	assert.JSONEq(t, `{"hints": {"00-warmup/add": 3}}`, string(b), "the progress file remembers the hints shown")

	_, text := run(t, a, out, "", "hint", "00-warmup/double")
	assert.Contains(t, text, "00-warmup/double has no hints", "an exercise without hints")
	_, text = run(t, a, out, "", "hint")
	assert.Contains(t, text, "All 3 hints for 00-warmup/add", "without a name, hint takes the next exercise to do")
}

func TestReset(t *testing.T) {
	noGitEnv(t)
	a, out, _ := fixture(t, true)
	addDir := filepath.Join(a.dir, "00-warmup/add")
	learn := func() {
		writeFile(t, filepath.Join(addDir, "add.go"), addSolution)
		writeFile(t, filepath.Join(addDir, "extra.go"), "package add\n")
		writeFile(t, filepath.Join(addDir, "staged.go"), "package add\n")
		git(t, addDir, "add", "staged.go")
		require.NoError(t, os.Remove(filepath.Join(addDir, "add_test.go")), "delete a test file")
	}
	learn()

	code, text := run(t, a, out, "n\n", "reset", "00-warmup/add")
	assert.Equal(t, 0, code, "exit status of reset answered no")
	assert.Contains(t, text, "Nothing changed.", "answered no")
	assert.FileExists(t, filepath.Join(addDir, "extra.go"), "answered no: the learner's file stays")

	code, text = run(t, a, out, "y\n", "reset", "00-warmup/add/")
	assert.Equal(t, 0, code, "exit status of reset:\n%s", text)
	assert.Contains(t, text, "00-warmup/add/add.go", "reset names the files it brings back")
	assert.Contains(t, text, "00-warmup/add/extra.go", "reset names the files it deletes")
	assert.Equal(t, addStub, readFile(t, filepath.Join(addDir, "add.go")), "the stub is back")
	assert.Equal(t, addTest, readFile(t, filepath.Join(addDir, "add_test.go")), "the deleted test file is back")
	assert.NoFileExists(t, filepath.Join(addDir, "extra.go"), "an untracked file is gone")
	assert.NoFileExists(t, filepath.Join(addDir, "staged.go"), "a file added to the index is gone")

	_, text = run(t, a, out, "", "reset", "00-warmup/add")
	assert.Contains(t, text, "as committed: nothing to reset", "a second reset")

	learn()
	_, _ = run(t, a, out, "", "reset", "-y", "00-warmup/add")
	assert.Equal(t, addStub, readFile(t, filepath.Join(addDir, "add.go")), "reset -y does not ask")

	noGit, noGitOut, _ := fixture(t, false)
	code, text = run(t, noGit, noGitOut, "y\n", "reset", "00-warmup/add")
	assert.Equal(t, 1, code, "exit status of reset without git")
	assert.Contains(t, text, "not a git checkout", "reset without git says why it cannot")
}

func TestSolution(t *testing.T) {
	a, out, _ := fixture(t, false)
	code, text := run(t, a, out, "\n", "solution", "00-warmup/add")
	assert.Equal(t, 0, code, "exit status of solution answered no")
	assert.Contains(t, text, "Not shown.", "the default answer is no")
	assert.NotContains(t, text, "return a + b", "answered no: no solution shown")

	for _, stdin := range []string{"y\n", "yes\n"} {
		_, text = run(t, a, out, stdin, "solution", "00-warmup/add")
		assert.Contains(t, text, "--- exercises/00-warmup/add/add.go\n+++ solutions/00-warmup/add/add.go\n", "the diff's header, answered %q", stdin)
		assert.Contains(t, text, "\n-\t// TODO(00-warmup/add): return the sum.\n-\tpanic(", "the stub's lines are removed")
		assert.Contains(t, text, "\n+\treturn a + b\n", "the solution's line is added")
		assert.NotContains(t, text, "add_test.go", "the tests are the same on both sides, so not shown")
	}
	// Without git, a diff of our own says the same.
	own, err := fileDiff(filepath.Dir(a.dir), "exercises/00-warmup/add/add.go", "solutions/00-warmup/add/add.go")
	require.NoError(t, err, "the built-in diff")
	assert.Contains(t, own, "--- exercises/00-warmup/add/add.go\n+++ solutions/00-warmup/add/add.go\n", "the built-in diff's header")
	assert.Contains(t, own, "\n-\t// TODO(00-warmup/add): return the sum.\n-\tpanic(", "the built-in diff removes the stub's lines")
	assert.Contains(t, own, "\n+\treturn a + b\n", "the built-in diff adds the solution's line")

	_, text = run(t, a, out, "", "solution", "-y", "00-warmup/double")
	assert.Contains(t, text, "no worked solution for 00-warmup/double", "an exercise without a solution")
}

func TestWatch(t *testing.T) {
	noGitEnv(t)
	a, out, real := fixture(t, true)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- a.run(ctx, []string{"watch"}) }() // the next one: add

	out.waitFor(t, "✗ TODO(00-warmup/add): return the sum of a and b")
	assert.Contains(t, out.String(), clearScreen+"Watching 00-warmup/add", "watch clears the screen and names the exercise")
	out.Reset()
	writeFile(t, filepath.Join(a.dir, "00-warmup/add/add.go"), addWrong)
	out.waitFor(t, "✗ adds two numbers: Add(2, 3): Not equal: expected: 5 actual : -1")
	writeFile(t, filepath.Join(a.dir, "00-warmup/add/add.go"), addSolution)
	out.waitFor(t, "✓ 00-warmup/add passes.")
	select {
	case code := <-done:
		assert.Equal(t, 0, code, "exit status of watch once the tests pass:\n%s", out.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("watch did not end once the tests passed:\n%s", out.String())
	}
	assert.Contains(t, out.String(), next(real), "watch points to the next exercise")

	// On an exercise that passes, watch says so and ends.
	out.Reset()
	assert.Equal(t, 0, a.run(ctx, []string{"watch", "00-warmup/double"}), "exit status of watch on an exercise that passes")
	assert.Contains(t, out.String(), "✓ 00-warmup/double passes", "watch on an exercise that passes")

	// Ctrl-C ends a watch that is waiting for a save.
	out.Reset()
	writeFile(t, filepath.Join(a.dir, "00-warmup/add/add.go"), addWrong)
	go func() { done <- a.run(ctx, []string{"watch", "00-warmup/add"}) }()
	out.waitFor(t, "Save a file in 00-warmup/add")
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code, "exit status of watch stopped by Ctrl-C")
	case <-time.After(2 * time.Minute):
		t.Fatal("watch did not stop when its context was cancelled")
	}
}

func TestNamesAndUsage(t *testing.T) {
	a, out, _ := fixture(t, false)
	abs, err := filepath.Abs(filepath.Join(a.dir, "00-warmup/add/add.go"))
	require.NoError(t, err, "absolute path")
	for _, arg := range []string{"00-warmup/add", "00-warmup/add/", "./00-warmup/add", "exercises/00-warmup/add", "00-warmup/add/add.go", abs} {
		name, err := a.resolve(arg)
		assert.NoError(t, err, "resolve %q", arg)
		assert.Equal(t, "00-warmup/add", name, "resolve %q", arg)
	}
	_, err = a.resolve("00-warmup/nothing")
	assert.ErrorContains(t, err, `no exercise "00-warmup/nothing"`, "an unknown exercise")

	code, text := run(t, a, out, "", "help")
	assert.Equal(t, 0, code, "exit status of help")
	assert.Contains(t, text, "go run . watch [NN-name/ex]", "help shows the usage")
	for _, args := range [][]string{{"frobnicate"}, {"reset"}, {"hint", "-x", "00-warmup/add"}, {"hint", "00-warmup/add", "00-warmup/double"}} {
		code, text = run(t, a, out, "", args...)
		assert.Equal(t, 2, code, "exit status of go run . %s", strings.Join(args, " "))
		assert.Contains(t, text, "usage, from the exercises folder", "go run . %s shows the usage", strings.Join(args, " "))
	}
	elsewhere := &app{dir: t.TempDir(), stdout: out, stderr: out}
	out.Reset()
	assert.Equal(t, 2, elsewhere.run(t.Context(), nil), "exit status outside the exercises folder")
	assert.Contains(t, out.String(), "run this from the exercises folder", "outside the exercises folder")
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err, "read %s", path)
	return string(b)
}

// syncBuffer collects the tool's output, also from a goroutine (watch),
// and lets a test wait until some text has appeared.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{} // a token after each write
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{written: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case b.written <- struct{}{}:
	default: // a token is already waiting
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

// waitFor waits until the output contains text; a test run takes seconds,
// so two minutes means it will not come.
func (b *syncBuffer) waitFor(t *testing.T, text string) {
	t.Helper()
	timeout := time.After(2 * time.Minute)
	for !strings.Contains(b.String(), text) {
		select {
		case <-b.written:
		case <-timeout:
			t.Fatalf("waited 2 minutes for %q in:\n%s", text, b.String())
		}
	}
}
