//go:build linux

// Package solutions_test proves that every exercise is sound: it has a
// solution, the two share their tests byte for byte, the stub is marked
// TODO and fails its tests because of that TODO, and the solution passes
// them under the race detector. So `go test ./...` at the root goes red as
// soon as an exercise and its solution drift apart. Two more tests live
// beside this one: every wrong solution kept in testdata/wrong must fail
// (wrong_test.go), and every exercise has a short README and three staged
// hints (content_test.go).
//
// # The committed stubs, not the learner's work
//
// A learner solves the exercises in place, and that must never turn the
// root `go test ./...` red. So the stubs are checked as they were
// committed: when git is available, the checks read exercises/ from HEAD,
// and the go command sees the committed file in place of every file the
// learner changed or deleted, and does not see the .go files the learner
// added (see committed_test.go). The learner's files are not touched, and
// `go test -v ./solutions/` logs which exercises differ from HEAD.
//
// Without git (a zip download, say), a stub cannot be told apart from a
// learner's work on it. Then only what the learner does not touch is
// checked: every solution passes its tests under -race and has no TODO
// left, and every wrong solution fails. The stubs themselves are checked
// on a git checkout, as CI has one.
//
// HEAD is taken to hold the stubs. A learner who commits solved exercises
// makes HEAD hold solutions instead, and this test reports the stub as
// already solved; keep your work uncommitted, or on a clone whose tests
// you do not run.
package solutions_test

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Paths are relative to this package's directory, where go test runs us.
const (
	rootDir      = ".."           // the root module, which holds the solutions
	exercisesDir = "../exercises" // the exercises module
	solutionsDir = "."            // this directory mirrors exercisesDir
)

// chapterLink matches a Markdown link to a chapter page, such as
// (../../../chapters/01-busy-loop.md#how-it-works).
var chapterLink = regexp.MustCompile(`\]\([^)\s]*chapters/[^)\s]+\.md(#[^)\s]*)?\)`)

func TestExercisesExist(t *testing.T) {
	assert.NotEmpty(t, exercises(t, solutionsDir), "solutions found under %s/*/*", solutionsDir)
	if c := committedExercises(t); c.fromGit {
		assert.NotEmpty(t, c.names, "exercises committed under exercises/*/*")
	}
}

func TestEverySolutionHasAnExercise(t *testing.T) {
	c := committedExercises(t)
	if !c.fromGit {
		t.Skipf("no git (%s): exercises/ may hold a learner's edits, so it is not compared with solutions/", c.noGit)
	}
	// An exercise on disk that HEAD does not have yet counts: its author
	// has not committed it, and it is not a learner's doing.
	known := slices.Concat(c.names, c.added)
	for _, name := range exercises(t, solutionsDir) {
		assert.Contains(t, known, name, "solutions/%s has no exercises/%s", name, name)
	}
}

func TestExercisesAreSound(t *testing.T) {
	c := committedExercises(t)
	logLearnerChanges(t, c)
	names := exercises(t, solutionsDir)
	if c.fromGit {
		names = slices.Compact(slices.Sorted(slices.Values(slices.Concat(names, c.names))))
	}
	warmBuildCache(t, c)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if c.fromGit && slices.Contains(c.names, name) {
				checkStub(t, c, name)
			}
			if _, err := os.Stat(filepath.Join(solutionsDir, name)); err == nil {
				checkSolution(t, name)
			}
		})
	}
}

// logLearnerChanges says, in the -v output, which exercises are checked
// from HEAD rather than from disk, and why.
func logLearnerChanges(t *testing.T, c *committedTree) {
	t.Helper()
	switch {
	case !c.fromGit:
		t.Logf("no git (%s): the stubs are not checked, only the solutions; CI checks the stubs on a git checkout", c.noGit)
		return
	case len(c.changed) == 0 && len(c.added) == 0:
		t.Logf("exercises/ is as committed")
		return
	}
	for _, name := range slices.Sorted(maps.Keys(c.changed)) {
		where := "exercises/" + name
		if name == "" {
			where = "exercises (module files)"
		}
		t.Logf("%s: changed since the last commit (%s); the committed version is checked, your files are left as they are",
			where, strings.Join(c.changed[name], ", "))
	}
	for _, name := range c.added {
		t.Logf("exercises/%s: not committed, so not checked", name)
	}
}

// checkStub checks the committed stub of the exercise named like
// "01-busy-loop/classify" against its solution.
func checkStub(t *testing.T, c *committedTree, name string) {
	solDir := filepath.Join(solutionsDir, name)
	marker := "TODO(" + name + ")"
	require.DirExists(t, solDir, "solution for exercises/%s", name)

	// The tests are the specification: the same files, byte for byte.
	exTests, exCode := c.goFiles(name)
	solTests, _ := goFiles(t, solDir)
	assert.NotEmpty(t, exTests, "test files in exercises/%s", name)
	assert.Equal(t, exTests, solTests, "test files in exercises/%s (as committed) and solutions/%s", name, name)
	for _, f := range exTests {
		if slices.Contains(solTests, f) {
			committed, _ := c.read(name, f)
			assert.True(t, bytes.Equal(committed, read(t, solDir, f)),
				"exercises/%s/%s (as committed) and solutions/%s/%s differ; tests must be byte-identical", name, f, name, f)
		}
	}

	// The stub says what to do.
	assert.True(t, slices.ContainsFunc(exCode, func(f string) bool {
		b, _ := c.read(name, f)
		return bytes.Contains(b, []byte(marker))
	}), "no stub file in exercises/%s contains %s", name, marker)

	// The README points the learner at the prose.
	readme, ok := c.read(name, "README.md")
	if assert.True(t, ok, "exercises/%s/README.md is committed", name) {
		assert.Regexp(t, chapterLink, string(readme), "exercises/%s/README.md links to a chapters/ page", name)
	}

	// The stub compiles and vets clean, yet its tests fail, and because of
	// the TODO, not of something else.
	pkg := "./" + name + "/"
	out, err := goCmd(t, c.exDir, c.goArgs("vet", pkg)...)
	assert.NoError(t, err, "go vet %s in the exercises module (as committed):\n%s", pkg, out)
	out, err = c.testStub(t, name)
	assert.Error(t, err, "go test %s in the exercises module (as committed) passed: the stub is already solved\n%s", pkg, out)
	assert.True(t, strings.Contains(out, marker),
		"go test %s in the exercises module (as committed) does not mention %s; it must fail because of the TODO:\n%s", pkg, marker, out)
}

// checkSolution checks that solutions/<name> has nothing left to do and
// passes its tests with the race detector on.
func checkSolution(t *testing.T, name string) {
	solDir := filepath.Join(solutionsDir, name)
	solFiles, err := os.ReadDir(solDir)
	require.NoError(t, err, "list solutions/%s", name)
	for _, e := range solFiles {
		if !e.IsDir() {
			assert.False(t, bytes.Contains(read(t, solDir, e.Name()), []byte("TODO(")),
				"solutions/%s/%s contains TODO(: a solution has nothing left to do", name, e.Name())
		}
	}
	solPkg := "./solutions/" + name + "/"
	out, err := goCmd(t, rootDir, "test", "-race", "-count=1", solPkg)
	assert.NoError(t, err, "go test -race %s in the root module:\n%s", solPkg, out)
}

// warmBuildCache compiles every package the checks will need, in one go
// command per module, before the checks run in parallel. On a cold cache
// each parallel go command would otherwise compile the race-enabled standard
// library on its own, all at once. Failures are ignored here: the checks
// report them, exercise by exercise.
func warmBuildCache(t *testing.T, c *committedTree) {
	t.Helper()
	if c.fromGit && len(c.names) > 0 {
		stubs := c.goArgs("vet")
		for _, name := range c.names {
			stubs = append(stubs, "./"+name+"/")
		}
		_, _ = goCmd(t, c.exDir, stubs...)
	}
	solutions := []string{"test", "-race", "-count=1", "-run=^$"}
	for _, name := range exercises(t, solutionsDir) {
		solutions = append(solutions, "./solutions/"+name+"/")
	}
	_, _ = goCmd(t, rootDir, solutions...)
}

// exercises returns the exercise names, like "01-busy-loop/classify", found
// on disk under root: every folder NN-chapter/name that holds a README.md
// or a .go file.
func exercises(t *testing.T, root string) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(root, "[0-9][0-9]-*", "*"))
	require.NoError(t, err, "glob %s/NN-*/*", root)
	var names []string
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue // a file, not a directory
		}
		if slices.ContainsFunc(entries, func(e os.DirEntry) bool {
			return !e.IsDir() && isExerciseFile(e.Name())
		}) {
			rel, err := filepath.Rel(root, dir)
			require.NoError(t, err, "relative path of %s", dir)
			names = append(names, filepath.ToSlash(rel))
		}
	}
	slices.Sort(names)
	return names
}

// goFiles returns the names of the _test.go files and of the other .go files
// in dir, each sorted.
func goFiles(t *testing.T, dir string) (tests, code []string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err, "list %s", dir)
	for _, e := range entries {
		switch name := e.Name(); {
		case e.IsDir() || !strings.HasSuffix(name, ".go"):
			// not a Go file
		case strings.HasSuffix(name, "_test.go"):
			tests = append(tests, name)
		default:
			code = append(code, name)
		}
	}
	return tests, code
}

// read returns the contents of the file name in dir.
func read(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err, "read %s", filepath.Join(dir, name))
	return b
}

// goCmd runs the go command in dir and returns its combined output. go test
// puts its own toolchain first on PATH, so "go" is the one running us.
func goCmd(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}
