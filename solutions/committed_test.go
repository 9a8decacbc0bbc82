//go:build linux

package solutions_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The learner works in exercises/, and that must never turn the root
// `go test ./...` red. So the stubs are checked as they were committed, not
// as they are on disk: committedExercises reads the exercises module from
// git's HEAD, compares it with the working tree, and writes an overlay (the
// go command's -overlay flag) that shows the go command the committed file
// in place of each one the learner changed or deleted, and hides each .go
// file the learner added. Nothing in the learner's tree is touched.

// exerciseName matches an exercise's folder inside the exercises module,
// "NN-chapter/name". Other folders there (the tool's own, say) are not
// exercises.
var exerciseName = regexp.MustCompile(`^[0-9][0-9]-[^/]+/[^/]+$`)

// committedTree is the exercises module as committed, and how the working
// tree differs from it.
type committedTree struct {
	exDir string // the exercises module on disk

	// fromGit is false when git could not give us HEAD (git missing, a zip
	// download, exercises/ not tracked): then noGit says why, and nothing
	// below is set.
	fromGit bool
	noGit   string

	files   map[string][]byte   // committed content, by slash path relative to exercises/
	names   []string            // the committed exercises, "NN-chapter/name", sorted
	changed map[string][]string // per exercise ("" for go.mod, go.sum): files that differ from HEAD or exist only on disk
	added   []string            // exercise folders on disk that HEAD does not have

	dir     string // temporary: committed copies of the changed files, same layout
	overlay string // the -overlay file for the go command; "" when the tree is as committed
}

// committedExercises reads HEAD's exercises/ with `git archive` (one command,
// one tar stream) and compares it with the working tree.
func committedExercises(t *testing.T) *committedTree {
	t.Helper()
	return committedIn(t, exercisesDir)
}

// committedIn is committedExercises for the exercises module in exDir.
func committedIn(t *testing.T, exDir string) *committedTree {
	t.Helper()
	// Run in exercises/, git archive HEAD archives only that folder, with
	// paths relative to it.
	cmd := exec.CommandContext(t.Context(), "git", "archive", "--format=tar", "HEAD")
	cmd.Dir = exDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	archive, err := cmd.Output()
	if err != nil {
		return &committedTree{noGit: "git archive HEAD in exercises/: " + strings.TrimSpace(err.Error()+" "+stderr.String())}
	}
	c := &committedTree{exDir: exDir, fromGit: true, files: map[string][]byte{}, changed: map[string][]string{}, dir: t.TempDir()}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "read the tar stream of git archive HEAD")
		if h.Typeflag == tar.TypeReg {
			c.files[h.Name], err = io.ReadAll(tr)
			require.NoError(t, err, "read %s from git archive HEAD", h.Name)
		}
	}
	if len(c.files) == 0 {
		return &committedTree{noGit: "exercises/ is not tracked by git in this checkout"}
	}
	for p := range c.files {
		if dir := path.Dir(p); exerciseName.MatchString(dir) && isExerciseFile(path.Base(p)) && !slices.Contains(c.names, dir) {
			c.names = append(c.names, dir)
		}
	}
	slices.Sort(c.names)

	// Compare: the module files, then every file under a committed
	// exercise, in HEAD and on disk.
	replace := map[string]string{}
	for _, p := range []string{"go.mod", "go.sum"} {
		c.compare(t, "", p, replace)
	}
	for _, name := range c.names {
		onDisk := map[string]bool{}
		root := filepath.Join(exDir, filepath.FromSlash(name))
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(exDir, p)
				onDisk[filepath.ToSlash(rel)] = true
			}
			return nil // a folder the learner removed is simply not on disk
		})
		for p := range c.files {
			if strings.HasPrefix(p, name+"/") {
				onDisk[p] = true // so a deleted file is compared too
			}
		}
		for _, p := range slices.Sorted(maps.Keys(onDisk)) {
			c.compare(t, name, p, replace)
		}
	}
	for _, name := range exercises(t, exDir) {
		if !slices.Contains(c.names, name) {
			c.added = append(c.added, name)
		}
	}

	if len(replace) > 0 {
		c.overlay = filepath.Join(c.dir, "overlay.json")
		b, err := json.Marshal(struct{ Replace map[string]string }{replace})
		require.NoError(t, err, "encode the overlay")
		require.NoError(t, os.WriteFile(c.overlay, b, 0o644), "write %s", c.overlay)
	}
	return c
}

// compare looks at one file, by slash path relative to exercises/, in HEAD
// and on disk. If they differ it records the change under the exercise
// name (if any), and for a file the go command reads it adds an entry to
// replace: a copy of the committed content, or "" (hide it) for a file
// that HEAD does not have.
func (c *committedTree) compare(t *testing.T, name, p string, replace map[string]string) {
	t.Helper()
	diskPath, err := filepath.Abs(filepath.Join(c.exDir, filepath.FromSlash(p)))
	require.NoError(t, err, "absolute path of exercises/%s", p)
	committed, inHead := c.files[p]
	disk, err := os.ReadFile(diskPath)
	if err == nil && inHead && bytes.Equal(disk, committed) {
		return // as committed
	}
	c.changed[name] = append(c.changed[name], strings.TrimPrefix(p, name+"/"))
	if !strings.HasSuffix(p, ".go") && p != "go.mod" && p != "go.sum" {
		return // the go command does not read it; the checks read c.files
	}
	if !inHead {
		replace[diskPath] = "" // the learner's new file: hidden
		return
	}
	copyPath := filepath.Join(c.dir, filepath.FromSlash(p))
	require.NoError(t, os.MkdirAll(filepath.Dir(copyPath), 0o755), "mkdir for the committed copy of %s", p)
	require.NoError(t, os.WriteFile(copyPath, committed, 0o644), "write the committed copy of %s", p)
	replace[diskPath] = copyPath
}

// read returns the committed content of file in the exercise name.
func (c *committedTree) read(name, file string) ([]byte, bool) {
	b, ok := c.files[name+"/"+file]
	return b, ok
}

// goFiles returns the committed _test.go files and other .go files of the
// exercise name, each sorted.
func (c *committedTree) goFiles(name string) (tests, code []string) {
	for p := range c.files {
		file, ok := strings.CutPrefix(p, name+"/")
		switch {
		case !ok || strings.Contains(file, "/") || !strings.HasSuffix(file, ".go"):
			// not a Go file of this package
		case strings.HasSuffix(file, "_test.go"):
			tests = append(tests, file)
		default:
			code = append(code, file)
		}
	}
	slices.Sort(tests)
	slices.Sort(code)
	return tests, code
}

// goArgs returns the go command's arguments for the committed stubs: the
// command, then -overlay if the working tree differs, then args.
func (c *committedTree) goArgs(command string, args ...string) []string {
	out := []string{command}
	if c.overlay != "" {
		out = append(out, "-overlay="+c.overlay)
	}
	return append(out, args...)
}

// testStub runs the committed tests of the exercise name against its
// committed stub, and returns the output.
func (c *committedTree) testStub(t *testing.T, name string) (string, error) {
	t.Helper()
	pkg := "./" + name + "/"
	if _, err := os.Stat(filepath.Join(c.exDir, filepath.FromSlash(name))); err == nil {
		return goCmd(t, c.exDir, c.goArgs("test", "-count=1", pkg)...)
	}
	// The learner removed the whole folder. go test runs a test binary in
	// its package's folder, and there is none, so build the binary and run
	// it in the folder of committed copies, which holds every file.
	bin := filepath.Join(c.dir, strings.ReplaceAll(name, "/", "_")+".test")
	if out, err := goCmd(t, c.exDir, c.goArgs("test", "-c", "-o", bin, pkg)...); err != nil {
		return out, err
	}
	cmd := exec.CommandContext(t.Context(), bin)
	cmd.Dir = filepath.Join(c.dir, filepath.FromSlash(name))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// isExerciseFile reports whether a file marks its folder as an exercise.
func isExerciseFile(name string) bool {
	return name == "README.md" || strings.HasSuffix(name, ".go")
}

// TestALearnersWorkLeavesTheStubChecksGreen plays a learner on a copy of one
// exercise, in a git repository of its own: it solves the stub, deletes a
// test file, adds a file that does not compile and breaks go.mod. The stub
// checks still pass, because they see the stub as committed; the changes
// are reported; and the learner's files are left as they were.
func TestALearnersWorkLeavesTheStubChecksGreen(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	for _, v := range []string{"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"} {
		t.Setenv(v, "") // set by git hooks, say; they would point git elsewhere
		require.NoError(t, os.Unsetenv(v), "unset %s", v)
	}
	names := exercises(t, exercisesDir)
	require.NotEmpty(t, names, "exercises to copy")
	name := names[0]
	repo := t.TempDir()
	exDir := filepath.Join(repo, "exercises")
	require.NoError(t, os.CopyFS(filepath.Join(exDir, filepath.FromSlash(name)), os.DirFS(filepath.Join(exercisesDir, filepath.FromSlash(name)))), "copy exercises/%s", name)
	for _, f := range []string{"go.mod", "go.sum"} {
		require.NoError(t, os.WriteFile(filepath.Join(exDir, f), read(t, exercisesDir, f), 0o644), "copy exercises/%s", f)
	}
	git := func(args ...string) {
		cmd := exec.CommandContext(t.Context(), "git", append([]string{"-c", "user.name=learner", "-c", "user.email=learner@example.com"}, args...)...)
		cmd.Dir = repo
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %s:\n%s", strings.Join(args, " "), out)
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "-m", "the stub")

	// The learner at work.
	ex := filepath.Join(exDir, filepath.FromSlash(name))
	sol := filepath.Join(solutionsDir, filepath.FromSlash(name))
	tests, code := goFiles(t, sol)
	for _, f := range code {
		require.NoError(t, os.WriteFile(filepath.Join(ex, f), read(t, sol, f), 0o644), "solve %s", f)
	}
	require.NoError(t, os.Remove(filepath.Join(ex, tests[0])), "delete %s", tests[0])
	require.NoError(t, os.WriteFile(filepath.Join(ex, "scratch.go"), []byte("package scratch\nfunc broken( {\n"), 0o644), "add a broken file")
	goMod := append(read(t, exDir, "go.mod"), "this is not go.mod syntax\n"...)
	require.NoError(t, os.WriteFile(filepath.Join(exDir, "go.mod"), goMod, 0o644), "break go.mod")

	c := committedIn(t, exDir)
	require.True(t, c.fromGit, "git archive in the copy: %s", c.noGit)
	assert.Equal(t, []string{name}, c.names, "committed exercises in the copy")
	assert.Equal(t, []string{"go.mod"}, c.changed[""], "changed module files")
	assert.Subset(t, c.changed[name], append([]string{tests[0], "scratch.go"}, code...), "changes reported for %s", name)
	checkStub(t, c, name)
	assert.Equal(t, goMod, read(t, exDir, "go.mod"), "the learner's go.mod is left as it was")
	assert.FileExists(t, filepath.Join(ex, "scratch.go"), "the learner's new file is left where it was")
}
