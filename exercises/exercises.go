package main

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// An exercise is a folder NN-chapter/name holding a README.md or .go files,
// named by that path: "05-wakers/waker". Other folders here are not
// exercises.

// exercises returns every exercise, in the order to do them: chapter by
// chapter, and inside a chapter in the order of order.txt (one name a
// line, # comments). An exercise order.txt does not name comes last in its
// chapter.
func (a *app) exercises() ([]string, error) {
	dirs, err := filepath.Glob(filepath.Join(a.dir, "[0-9][0-9]-*", "*"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue // a file, not a folder
		}
		if slices.ContainsFunc(entries, func(e os.DirEntry) bool {
			return !e.IsDir() && (e.Name() == "README.md" || strings.HasSuffix(e.Name(), ".go"))
		}) {
			names = append(names, filepath.Base(filepath.Dir(dir))+"/"+filepath.Base(dir))
		}
	}
	order := a.order()
	rank := func(name string) int {
		if i := slices.Index(order, name); i >= 0 {
			return i
		}
		return len(order) // not listed: after the listed ones
	}
	slices.SortFunc(names, func(x, y string) int {
		return cmp.Or(
			cmp.Compare(path.Dir(x), path.Dir(y)), // the chapter
			cmp.Compare(rank(x), rank(y)),
			cmp.Compare(x, y),
		)
	})
	if len(names) == 0 {
		return nil, fmt.Errorf("no exercises in %s (folders NN-chapter/name)", a.dir)
	}
	return names, nil
}

// order returns the names that order.txt lists, in its order.
func (a *app) order() []string {
	b, _ := os.ReadFile(a.path("order.txt")) // no file: no order but the names'
	var names []string
	for line := range strings.Lines(string(b)) {
		if line, _, _ = strings.Cut(line, "#"); strings.TrimSpace(line) != "" {
			names = append(names, strings.TrimSpace(line))
		}
	}
	return names
}

// resolve turns what the learner typed into an exercise name. These all
// name the same one: 05-wakers/waker, 05-wakers/waker/, ./05-wakers/waker,
// exercises/05-wakers/waker, 05-wakers/waker/waker.go, or its absolute path.
func (a *app) resolve(arg string) (string, error) {
	names, err := a.exercises()
	if err != nil {
		return "", err
	}
	p := arg
	if filepath.IsAbs(p) {
		if rel, err := filepath.Rel(a.dir, p); err == nil {
			p = rel
		}
	}
	parts := strings.Split(filepath.ToSlash(filepath.Clean(p)), "/")
	if len(parts) > 0 && parts[0] == "exercises" {
		parts = parts[1:] // a path from the repository's root
	}
	if len(parts) >= 2 {
		if name := parts[0] + "/" + parts[1]; slices.Contains(names, name) {
			return name, nil
		}
	}
	return "", fmt.Errorf("no exercise %q here; `go run .` lists them, named like %s", arg, names[0])
}

// path returns the path of a file or folder inside the exercises module,
// given with slashes.
func (a *app) path(rel string) string {
	return filepath.Join(a.dir, filepath.FromSlash(rel))
}

// hasMarker reports whether the exercise's code still holds its
// TODO(name) marker, the sign of a stub.
func (a *app) hasMarker(name string) bool {
	files, _ := filepath.Glob(filepath.Join(a.path(name), "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte("TODO("+name+")")) {
			return true
		}
	}
	return false
}
