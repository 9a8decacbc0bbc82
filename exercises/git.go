package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// git runs git in the exercises folder and returns its standard output.
func (a *app) git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = a.dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// hasGit reports whether this folder is a git checkout that tracks the
// exercises. Without one there is no committed stub to compare your work
// with, or to restore.
func (a *app) hasGit(ctx context.Context) bool {
	_, err := a.git(ctx, "ls-files", "--error-unmatch", "go.mod")
	return err == nil
}

// changedFiles returns the files under pathspec (relative to the exercises
// folder) that differ from the last commit: changed, deleted or added
// (changed), and new files git does not track and .gitignore does not
// ignore (untracked). Paths are relative to the exercises folder.
func (a *app) changedFiles(ctx context.Context, pathspec string) (changed, untracked []string, err error) {
	// -z: one path per NUL, never quoted. --relative: paths from here.
	diff, err := a.git(ctx, "diff", "-z", "--name-only", "--relative", "HEAD", "--", pathspec)
	if err != nil {
		return nil, nil, err
	}
	others, err := a.git(ctx, "ls-files", "-z", "--others", "--exclude-standard", "--", pathspec)
	if err != nil {
		return nil, nil, err
	}
	return nulSplit(diff), nulSplit(others), nil
}

// changedExercises returns the names of the exercises that differ from the
// last commit.
func (a *app) changedExercises(ctx context.Context) (map[string]bool, error) {
	changed, untracked, err := a.changedFiles(ctx, ".")
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, p := range slices.Concat(changed, untracked) {
		if parts := strings.Split(p, "/"); len(parts) > 2 {
			names[parts[0]+"/"+parts[1]] = true
		}
	}
	return names, nil
}

// reset restores the exercise as committed: files you changed or deleted
// come back, and files you added go, after you confirm.
func (a *app) reset(ctx context.Context, name string, yes bool) error {
	if !a.hasGit(ctx) {
		return fmt.Errorf("reset restores %s from git, and this folder is not a git checkout (a zip download?): "+
			"take the stub from a fresh download, or clone the repository with git", name)
	}
	changed, untracked, err := a.changedFiles(ctx, name)
	if err != nil {
		return err
	}
	if len(changed)+len(untracked) == 0 {
		fmt.Fprintf(a.stdout, "%s is as committed: nothing to reset.\n", name)
		return nil
	}
	lead := "Resetting " + name
	if len(changed) > 0 {
		fmt.Fprintf(a.stdout, "%s brings back, as committed:\n  %s\n", lead, strings.Join(changed, "\n  "))
		lead = "and"
	}
	if len(untracked) > 0 {
		fmt.Fprintf(a.stdout, "%s deletes the files you added:\n  %s\n", lead, strings.Join(untracked, "\n  "))
	}
	if !yes && !a.confirm("Your changes there will be lost. Reset "+name+"?") {
		fmt.Fprintln(a.stdout, "Nothing changed.")
		return nil
	}
	if len(changed) > 0 {
		// From HEAD, in the index and the working tree; a file added to
		// the index since is removed, since HEAD does not have it.
		if _, err := a.git(ctx, "restore", "--source=HEAD", "--staged", "--worktree", "--", name); err != nil {
			return err
		}
	}
	for _, p := range untracked {
		if err := os.Remove(a.path(p)); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.stdout, "%s is the stub again: go run . watch %s\n", name, name)
	return nil
}

// solution shows, after you confirm, how your code differs from the worked
// solution in ../solutions: a unified diff of each non-test .go file (the
// test files are the same in both). It uses git diff --no-index when git is
// installed (no checkout needed), else a diff of its own.
func (a *app) solution(ctx context.Context, name string, yes bool) error {
	root := filepath.Dir(a.dir) // the repository, which holds exercises/ and solutions/
	exDir, solDir := filepath.Join("exercises", name), filepath.Join("solutions", name)
	if _, err := os.Stat(filepath.Join(root, solDir)); err != nil {
		return fmt.Errorf("no worked solution for %s: %w", name, err)
	}
	if !yes && !a.confirm("Show the worked solution of "+name+"? A hint (go run . hint "+name+") may be all you need.") {
		fmt.Fprintln(a.stdout, "Not shown.")
		return nil
	}
	var files []string
	for _, dir := range []string{exDir, solDir} {
		found, _ := filepath.Glob(filepath.Join(root, dir, "*.go"))
		for _, f := range found {
			if f = filepath.Base(f); !strings.HasSuffix(f, "_test.go") && !slices.Contains(files, f) {
				files = append(files, f)
			}
		}
	}
	slices.Sort(files)
	_, gitErr := exec.LookPath("git")
	fmt.Fprintf(a.stdout, "How your code (-) differs from the worked solution (+); the test files are the same in both.\n\n")
	for _, f := range files {
		yours, theirs := filepath.Join(exDir, f), filepath.Join(solDir, f)
		var diff string
		var err error
		if gitErr == nil {
			diff, err = gitDiff(ctx, root, yours, theirs)
		} else {
			diff, err = fileDiff(root, yours, theirs)
		}
		if err != nil {
			return err
		}
		if diff == "" {
			diff = fmt.Sprintf("%s: the same as the solution\n", yours)
		}
		fmt.Fprintln(a.stdout, diff)
	}
	return nil
}

// gitDiff returns git's unified diff of two files (paths relative to
// root); a file that does not exist is shown as empty.
func gitDiff(ctx context.Context, root, from, to string) (string, error) {
	args := []string{"diff", "--no-index", "--no-color", "--no-prefix", "--"}
	for _, p := range []string{from, to} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			p = os.DevNull
		}
		args = append(args, p)
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = root
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		err = nil // 1 means "they differ"
	}
	return string(out), err
}

// fileDiff is gitDiff without git.
func fileDiff(root, from, to string) (string, error) {
	var text [2]string
	for i, p := range []string{from, to} {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		text[i] = string(b)
	}
	return unifiedDiff(from, to, text[0], text[1]), nil
}

// nulSplit splits git's -z output into paths.
func nulSplit(s string) []string {
	var paths []string
	for p := range strings.SplitSeq(s, "\x00") {
		if p != "" {
			paths = append(paths, filepath.ToSlash(p))
		}
	}
	return paths
}
