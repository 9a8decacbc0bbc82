package main

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"
)

// clearScreen moves the cursor home and clears the terminal (ANSI escapes).
const clearScreen = "\x1b[H\x1b[2J"

// watch runs the exercise's tests, and again each time a file in it is
// saved, until they pass; then it points to the next exercise. It looks
// for saves by polling modification times every a.interval: simpler than
// asking the kernel (inotify, through fsnotify), needs no dependency, and
// half a second is quick enough for a person.
func (a *app) watch(ctx context.Context, name string, _ bool) error {
	for {
		before := a.snapshot(name)
		fmt.Fprint(a.stdout, clearScreen)
		fmt.Fprintf(a.stdout, "Watching %s: the tests run again each time you save a file in it (Ctrl-C stops).\n\n", name)
		r, err := a.testOne(ctx, name)
		if ctx.Err() != nil {
			return nil // Ctrl-C
		}
		if err != nil {
			return err
		}
		fmt.Fprint(a.stdout, r.output)
		if r.passed {
			fmt.Fprintf(a.stdout, "\n✓ %s passes.\n", name)
			return a.pointToNext(ctx)
		}
		fmt.Fprintf(a.stdout, "\n✗ %s\n\nSave a file in %s to run the tests again; go run . hint %s shows a hint.\n",
			firstFailure(r.output), name, name)
		for a.snapshot(name) == before {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(a.interval):
			}
		}
	}
}

// pointToNext says which exercise comes next.
func (a *app) pointToNext(ctx context.Context) error {
	statuses, err := a.states(ctx, false)
	if err != nil {
		return err
	}
	if next := nextToDo(statuses); next != nil {
		fmt.Fprintf(a.stdout, "Next: %s (go run . watch %s)\n", next.name, next.name)
	} else {
		fmt.Fprintln(a.stdout, "Every exercise passes. Well done.")
	}
	return nil
}

// snapshot describes the files of an exercise by name, size and
// modification time: when it changes, a file was saved, added or removed.
func (a *app) snapshot(name string) string {
	var b strings.Builder
	_ = filepath.WalkDir(a.path(name), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			fmt.Fprintf(&b, "%s %d %d\n", p, info.Size(), info.ModTime().UnixNano())
		}
		return nil
	})
	return b.String()
}
