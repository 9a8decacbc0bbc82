//go:build linux

package solutions_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
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
//   - one or more FILE.go.edit files, each the mistake written as edits to
//     the solution's FILE.go: blocks of
//
//     <<<< the solution has
//     ...lines of the solution, found exactly once...
//     ==== the mistake has
//     ...the lines that replace them...
//     >>>>
//
//     (the test applies them to a copy, and the go command sees the copy in
//     place of the solution's file, through -overlay; nothing on disk is
//     changed). An edit, not a whole copy, so that a case shows its mistake
//     and nothing else, and follows the solution when the rest of it changes;
//
//   - a file named want: optional first lines "race" (run the tests with
//     -race, for a mistake only the race detector sees) and "failfast" (run
//     them with -failfast, for a mistake that makes several tests wait out
//     their patience: the first one to fail is enough), then one line per
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
	opts, wants := readWant(t, dir)
	require.NotEmpty(t, wants, "%s/want names the message the failing tests must print", dir)

	replace := map[string]string{}
	copies := t.TempDir()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err, "list %s", dir)
	for _, e := range entries {
		name := e.Name()
		if name == "want" {
			continue
		}
		file, isEdit := strings.CutSuffix(name, ".edit")
		require.True(t, !e.IsDir() && isEdit && strings.HasSuffix(file, ".go"),
			"%s/%s: a case holds FILE.go.edit files and a want file, nothing else", dir, name)
		require.FileExists(t, filepath.Join(solDir, file), "%s/%s edits the solution's %s", dir, name, file)
		wrong, err := applyEdits(string(read(t, solDir, file)), string(read(t, dir, name)))
		require.NoError(t, err, "%s/%s", dir, name)
		to := filepath.Join(copies, file)
		require.NoError(t, os.WriteFile(to, []byte(wrong), 0o644), "write %s", to)
		from, err := filepath.Abs(filepath.Join(solDir, file))
		require.NoError(t, err, "absolute path of %s", file)
		replace[from] = to
	}
	require.NotEmpty(t, replace, "%s holds no .go.edit file", dir)
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
	if opts.race {
		args = append(args, "-race")
		command += " -race"
	}
	if opts.failfast {
		args = append(args, "-failfast")
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

// Markers of an edit block in a FILE.go.edit file.
const (
	editOld  = "<<<< the solution has"
	editNew  = "==== the mistake has"
	editDone = ">>>>"
)

// applyEdits applies the edit blocks of edits to solution, one after the
// other. Each block's old lines must stand exactly once in the text as it
// is by then (a block that matches nowhere, or in two places, is an error:
// the solution changed under it), and the result must differ from the
// solution.
func applyEdits(solution, edits string) (string, error) {
	text := solution
	lines := strings.SplitAfter(edits, "\n")
	for i := 0; i < len(lines); {
		if strings.TrimSpace(lines[i]) == "" {
			i++
			continue
		}
		if strings.TrimRight(lines[i], "\n") != editOld {
			return "", fmt.Errorf("line %d: want %q, got %q", i+1, editOld, strings.TrimRight(lines[i], "\n"))
		}
		var old, new strings.Builder
		part, start := &old, i+1
		for i++; ; i++ {
			if i == len(lines) {
				return "", fmt.Errorf("the block at line %d does not end with %q", start, editDone)
			}
			switch line := strings.TrimRight(lines[i], "\n"); {
			case line == editNew && part == &old:
				part = &new
				continue
			case line == editDone && part == &new:
			default:
				part.WriteString(lines[i])
				continue
			}
			break
		}
		i++
		switch n := strings.Count(text, old.String()); {
		case old.Len() == 0:
			return "", fmt.Errorf("the block at line %d has no lines of the solution to replace", start)
		case n != 1:
			return "", fmt.Errorf("the block at line %d: its solution lines stand %d times in the solution, not once (has the solution changed?)", start, n)
		}
		text = strings.Replace(text, old.String(), new.String(), 1)
	}
	if text == solution {
		return "", errors.New("the edits leave the solution unchanged: where is the mistake?")
	}
	return text, nil
}

func TestApplyEdits(t *testing.T) {
	solution := "package p\n\nfunc F() int {\n\treturn 1\n}\n"
	edit := editOld + "\n\treturn 1\n" + editNew + "\n\treturn 2\n" + editDone + "\n"
	got, err := applyEdits(solution, edit)
	require.NoError(t, err, "a block whose lines stand once")
	assert.Equal(t, "package p\n\nfunc F() int {\n\treturn 2\n}\n", got, "the edited solution")

	_, err = applyEdits(solution, editOld+"\n\treturn 3\n"+editNew+"\n\treturn 2\n"+editDone+"\n")
	assert.ErrorContains(t, err, "stand 0 times", "a block that matches nowhere")
	_, err = applyEdits("a\na\n", editOld+"\na\n"+editNew+"\nb\n"+editDone+"\n")
	assert.ErrorContains(t, err, "stand 2 times", "a block that matches twice")
	_, err = applyEdits(solution, editOld+"\n\treturn 1\n"+editNew+"\n\treturn 1\n"+editDone+"\n")
	assert.ErrorContains(t, err, "unchanged", "an edit that changes nothing")
	_, err = applyEdits(solution, editOld+"\n\treturn 1\n"+editNew+"\n")
	assert.ErrorContains(t, err, "does not end", "a block without its end")
}

// readWant reads the want file of the case in dir: whether to run with
// -race, and the lines the output must contain.
func readWant(t *testing.T, dir string) (opts wantOptions, wants []string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "want"))
	require.NoError(t, err, "every case has a want file")
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		switch {
		case line == "":
			continue
		case len(wants) == 0 && line == "race":
			opts.race = true
		case len(wants) == 0 && line == "failfast":
			opts.failfast = true
		default:
			wants = append(wants, line)
		}
	}
	require.NoError(t, s.Err(), "read %s/want", dir)
	return opts, wants
}

// wantOptions are how a want file asks for its case to be run.
type wantOptions struct {
	race     bool // go test -race
	failfast bool // go test -failfast
}

func TestReadWant(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "want"), []byte("race\n\nnotify calls\n  a wake was lost  \n"), 0o644), "write want")
	opts, wants := readWant(t, dir)
	assert.Equal(t, wantOptions{race: true}, opts, "a first line race runs the tests with -race")
	assert.Equal(t, []string{"notify calls", "a wake was lost"}, wants, "one piece of text a line, trimmed, blank lines skipped")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "want"), []byte("failfast\nrace\nnotify calls\n"), 0o644), "write want")
	opts, wants = readWant(t, dir)
	assert.Equal(t, wantOptions{race: true, failfast: true}, opts, "options in any order, before the text")
	assert.Equal(t, []string{"notify calls"}, wants, "the text after the options")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "want"), []byte("notify calls\nrace\nfailfast\n"), 0o644), "write want")
	opts, wants = readWant(t, dir)
	assert.Equal(t, wantOptions{}, opts, "options count only before the first text")
	assert.Equal(t, []string{"notify calls", "race", "failfast"}, wants, "a later race or failfast is text to find")
}
