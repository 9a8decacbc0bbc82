//go:build linux

package solutions_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Wrong solutions that must fail. "The tests catch the mistakes the chapter
// warns about" is a claim, and this test checks it: each plausible mistake
// is kept as a case, and every case must make the exercise's tests fail
// with the message that names the mistake. A case is a folder
//
//	solutions/NN-chapter/name/testdata/wrong/<case>/
//
// that holds
//
//   - one or more .go files, each a copy of the solution's file of the same
//     name with the mistake in it (the go command sees it in place of the
//     solution's file, through -overlay; nothing on disk is changed);
//   - a file named want: an optional first line "race" (run the tests with
//     -race, for a mistake only the race detector sees), then one line per
//     piece of text that the output of the failing go test must contain.
//     Blank lines are ignored.
//
// The go command ignores testdata folders, so a case is never part of a
// build of the module. A case that does not compile proves nothing, and
// fails this test.
const wrongDir = "testdata/wrong"

func TestWrongSolutionsFail(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(solutionsDir, "[0-9][0-9]-*", "*", filepath.FromSlash(wrongDir), "*"))
	require.NoError(t, err, "glob the wrong solutions")
	for _, dir := range dirs {
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			continue
		}
		rel, err := filepath.Rel(solutionsDir, dir)
		require.NoError(t, err, "relative path of %s", dir)
		name, wrong, _ := strings.Cut(filepath.ToSlash(rel), "/"+wrongDir+"/")
		t.Run(name+"/"+wrong, func(t *testing.T) {
			t.Parallel()
			checkWrongSolution(t, name, dir)
		})
	}
}

// checkWrongSolution runs the tests of the exercise name with the files of
// the case in dir in place of the solution's, and checks that they fail and
// say what the case's want file says.
func checkWrongSolution(t *testing.T, name, dir string) {
	solDir := filepath.Join(solutionsDir, filepath.FromSlash(name))
	race, wants := readWant(t, dir)
	require.NotEmpty(t, wants, "%s/want names the message the failing tests must print", dir)

	replace := map[string]string{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err, "list %s", dir)
	for _, e := range entries {
		file := e.Name()
		if file == "want" {
			continue
		}
		require.True(t, !e.IsDir() && strings.HasSuffix(file, ".go"),
			"%s/%s: a case holds .go files and a want file, nothing else", dir, file)
		require.FileExists(t, filepath.Join(solDir, file), "%s/%s replaces the solution's file of the same name", dir, file)
		require.False(t, bytes.Equal(read(t, dir, file), read(t, solDir, file)),
			"%s/%s is the solution's file unchanged: where is the mistake?", dir, file)
		from, err := filepath.Abs(filepath.Join(solDir, file))
		require.NoError(t, err, "absolute path of %s", file)
		to, err := filepath.Abs(filepath.Join(dir, file))
		require.NoError(t, err, "absolute path of %s", file)
		replace[from] = to
	}
	require.NotEmpty(t, replace, "%s holds no .go file", dir)
	overlay := filepath.Join(t.TempDir(), "overlay.json")
	b, err := json.Marshal(struct{ Replace map[string]string }{replace})
	require.NoError(t, err, "encode the overlay")
	require.NoError(t, os.WriteFile(overlay, b, 0o644), "write %s", overlay)

	// A test that hangs is cut off, so a case never stalls the suite; its
	// want must then say "test timed out", which names no mistake: better
	// make the exercise's tests catch it sooner. Each case builds and links
	// a test binary of its own, which is most of its cost; -vet=off (a
	// wrong solution is there to fail the tests, not vet) and a link
	// without debug information (-s -w; stack traces keep their names)
	// saved about a sixth of the CPU time for 135 cases.
	args := []string{"test", "-count=1", "-timeout=2m", "-vet=off", "-ldflags=-s -w", "-overlay=" + overlay}
	command := "go test"
	if race {
		args = append(args, "-race")
		command += " -race"
	}
	pkg := "./solutions/" + name + "/"
	out, err := goCmd(t, rootDir, append(args, pkg)...)
	require.Error(t, err, "%s passed with %s: the tests do not catch this mistake\n%s", command, dir, out)
	require.False(t, strings.Contains(out, "[build failed]") || strings.Contains(out, "[setup failed]"),
		"%s does not compile, so it proves nothing about the tests:\n%s", dir, out)
	for _, want := range wants {
		assert.Contains(t, out, want, "go test with %s fails, but does not say %q", dir, want)
	}
}

// readWant reads the want file of the case in dir: whether to run with
// -race, and the lines the output must contain.
func readWant(t *testing.T, dir string) (race bool, wants []string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "want"))
	require.NoError(t, err, "every case has a want file")
	defer f.Close()
	first := true
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		switch {
		case line == "":
			continue
		case first && line == "race":
			race = true
		default:
			wants = append(wants, line)
		}
		first = false
	}
	require.NoError(t, s.Err(), "read %s/want", dir)
	return race, wants
}

func TestReadWant(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "want"), []byte("race\n\nnotify calls\n  a wake was lost  \n"), 0o644), "write want")
	race, wants := readWant(t, dir)
	assert.True(t, race, "a first line race runs the tests with -race")
	assert.Equal(t, []string{"notify calls", "a wake was lost"}, wants, "one piece of text a line, trimmed, blank lines skipped")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "want"), []byte("notify calls\nrace\n"), 0o644), "write want")
	race, wants = readWant(t, dir)
	assert.False(t, race, "race counts only as the first line")
	assert.Equal(t, []string{"notify calls", "race"}, wants, "a later race is text to find")
}
