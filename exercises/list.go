package main

import (
	"context"
	"fmt"
)

// state is where an exercise stands.
type state int

const (
	notStarted state = iota // the stub as committed, TODO and all: its tests are not run
	failing                 // changed, and go test fails
	passing                 // go test -race passes
)

func (s state) String() string {
	return [...]string{"· not started", "✗ failing", "✓ passing"}[s]
}

// status is one exercise and its state.
type status struct {
	name    string
	state   state
	failure string // when failing: the first thing that went wrong, in one line
}

// states returns every exercise's status, in order. An exercise that git
// says is unchanged since the last commit, and that still holds its
// TODO(name) marker, is not started: it is the stub, so its tests are not
// run. All the others are tested, in one go command; if say is true, a line
// says so first. Without git every exercise is tested, and none is "not
// started".
func (a *app) states(ctx context.Context, say bool) ([]status, error) {
	names, err := a.exercises()
	if err != nil {
		return nil, err
	}
	changed := map[string]bool{}
	git := a.hasGit(ctx)
	if git {
		if changed, err = a.changedExercises(ctx); err != nil {
			return nil, err
		}
	}
	var toTest []string
	statuses := make([]status, len(names))
	for i, name := range names {
		statuses[i] = status{name: name, state: notStarted}
		if !git || changed[name] || !a.hasMarker(name) {
			toTest = append(toTest, name)
		}
	}
	if say && len(toTest) > 0 {
		fmt.Fprintf(a.stdout, "Testing %d exercise(s) with go test -race...\n", len(toTest))
	}
	results, err := a.testAll(ctx, toTest)
	if err != nil {
		return nil, err
	}
	for i, s := range statuses {
		if r, ok := results[s.name]; ok {
			statuses[i].state, statuses[i].failure = failing, firstFailure(r.output)
			if r.passed {
				statuses[i].state, statuses[i].failure = passing, ""
			}
		}
	}
	return statuses, nil
}

// nextToDo returns the first exercise that does not pass, or nil.
func nextToDo(statuses []status) *status {
	for i := range statuses {
		if statuses[i].state != passing {
			return &statuses[i]
		}
	}
	return nil
}

// list prints every exercise with its state, how many pass, and the next
// one to do with the first thing that fails in it.
func (a *app) list(ctx context.Context) error {
	statuses, err := a.states(ctx, true)
	if err != nil {
		return err
	}
	width, passed := 0, 0
	for _, s := range statuses {
		width = max(width, len(s.name))
		if s.state == passing {
			passed++
		}
	}
	fmt.Fprintln(a.stdout)
	for _, s := range statuses {
		fmt.Fprintf(a.stdout, "  %-*s  %s\n", width, s.name, s.state)
	}
	fmt.Fprintf(a.stdout, "\n%d of %d exercises pass.\n", passed, len(statuses))
	if !a.hasGit(ctx) {
		fmt.Fprintln(a.stdout, "(This is not a git checkout, so a stub you have not touched shows as failing: git is how this tool tells a stub from your work.)")
	}
	next := nextToDo(statuses)
	if next == nil {
		fmt.Fprintln(a.stdout, "Every exercise passes. Well done: compare yours with solutions/ (go run . solution NN-name/ex).")
		return nil
	}
	if next.state == notStarted { // not tested yet: test it for its first failure
		r, err := a.testOne(ctx, next.name)
		if err != nil {
			return err
		}
		next.failure = firstFailure(r.output)
	}
	fmt.Fprintf(a.stdout, "\nNext: %s\n  %s\n", next.name, next.failure)
	fmt.Fprintf(a.stdout, "Read %s/README.md, then go run . watch %s (stuck? go run . hint %s)\n", next.name, next.name, next.name)
	return nil
}
