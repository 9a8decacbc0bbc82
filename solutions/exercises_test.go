//go:build linux

// Package solutions_test proves that every exercise is sound: it has a
// solution, the two share their tests byte for byte, the stub is marked
// TODO and fails its tests because of that TODO, and the solution passes
// them under the race detector. So `go test ./...` at the root goes red as
// soon as an exercise and its solution drift apart.
package solutions_test

import (
	"bytes"
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
	assert.NotEmpty(t, exercises(t, exercisesDir), "exercises found under %s/*/*", exercisesDir)
}

func TestEverySolutionHasAnExercise(t *testing.T) {
	known := exercises(t, exercisesDir)
	for _, name := range exercises(t, solutionsDir) {
		assert.Contains(t, known, name, "solutions/%s has no exercises/%s", name, name)
	}
}

func TestExercisesAreSound(t *testing.T) {
	names := exercises(t, exercisesDir)
	warmBuildCache(t, names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkExercise(t, name)
		})
	}
}

// checkExercise runs every check on the exercise named like
// "01-busy-loop/classify".
func checkExercise(t *testing.T, name string) {
	exDir := filepath.Join(exercisesDir, name)
	solDir := filepath.Join(solutionsDir, name)
	marker := "TODO(" + name + ")"
	require.DirExists(t, solDir, "solution for exercises/%s", name)

	// The tests are the specification: the same files, byte for byte.
	exTests, exCode := goFiles(t, exDir)
	solTests, _ := goFiles(t, solDir)
	assert.NotEmpty(t, exTests, "test files in exercises/%s", name)
	assert.Equal(t, exTests, solTests, "test files in exercises/%s and solutions/%s", name, name)
	for _, f := range exTests {
		if slices.Contains(solTests, f) {
			assert.True(t, bytes.Equal(read(t, exDir, f), read(t, solDir, f)),
				"exercises/%s/%s and solutions/%s/%s differ; tests must be byte-identical", name, f, name, f)
		}
	}

	// The stub says what to do; the solution has nothing left to do.
	assert.True(t, slices.ContainsFunc(exCode, func(f string) bool {
		return bytes.Contains(read(t, exDir, f), []byte(marker))
	}), "no stub file in exercises/%s contains %s", name, marker)
	solFiles, err := os.ReadDir(solDir)
	require.NoError(t, err, "list solutions/%s", name)
	for _, e := range solFiles {
		if !e.IsDir() {
			assert.False(t, bytes.Contains(read(t, solDir, e.Name()), []byte("TODO(")),
				"solutions/%s/%s contains TODO(: a solution has nothing left to do", name, e.Name())
		}
	}

	// The README points the learner at the prose.
	readme, err := os.ReadFile(filepath.Join(exDir, "README.md"))
	if assert.NoError(t, err, "README.md of exercises/%s", name) {
		assert.Regexp(t, chapterLink, string(readme), "exercises/%s/README.md links to a chapters/ page", name)
	}

	// The stub compiles and vets clean, yet its tests fail, and because of
	// the TODO, not of something else.
	pkg := "./" + name + "/"
	out, err := goCmd(t, exercisesDir, "vet", pkg)
	assert.NoError(t, err, "go vet %s in the exercises module:\n%s", pkg, out)
	out, err = goCmd(t, exercisesDir, "test", "-count=1", pkg)
	assert.Error(t, err, "go test %s in the exercises module passed: the stub is already solved\n%s", pkg, out)
	assert.True(t, strings.Contains(out, marker),
		"go test %s in the exercises module does not mention %s; it must fail because of the TODO:\n%s", pkg, marker, out)

	// The solution passes, with the race detector on.
	solPkg := "./solutions/" + name + "/"
	out, err = goCmd(t, rootDir, "test", "-race", "-count=1", solPkg)
	assert.NoError(t, err, "go test -race %s in the root module:\n%s", solPkg, out)
}

// warmBuildCache compiles every package the checks will need, in one go
// command per module, before the checks run in parallel. On a cold cache
// each parallel go command would otherwise compile the race-enabled standard
// library on its own, all at once. Failures are ignored here: the checks
// report them, exercise by exercise.
func warmBuildCache(t *testing.T, names []string) {
	t.Helper()
	if len(names) == 0 {
		return
	}
	stubs := []string{"vet"}
	solutions := []string{"test", "-race", "-count=1", "-run=^$"}
	for _, name := range names {
		stubs = append(stubs, "./"+name+"/")
		if info, err := os.Stat(filepath.Join(solutionsDir, name)); err == nil && info.IsDir() {
			solutions = append(solutions, "./solutions/"+name+"/")
		}
	}
	_, _ = goCmd(t, exercisesDir, stubs...)
	_, _ = goCmd(t, rootDir, solutions...)
}

// exercises returns the exercise names, like "01-busy-loop/classify", found
// under root: every directory two levels down that holds a README.md or a
// .go file.
func exercises(t *testing.T, root string) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(root, "*", "*"))
	require.NoError(t, err, "glob %s/*/*", root)
	var names []string
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue // a file, not a directory
		}
		if slices.ContainsFunc(entries, func(e os.DirEntry) bool {
			return !e.IsDir() && (e.Name() == "README.md" || strings.HasSuffix(e.Name(), ".go"))
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
