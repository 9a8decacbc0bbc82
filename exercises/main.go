// Exercises is the learner's companion for the exercises in this folder: it
// lists them with their state, reruns one's tests on every save, shows its
// hints one at a time, resets it to the stub, and compares it with the
// worked solution. Run it from this folder:
//
//	cd exercises
//	go run .                        every exercise, its state, and the next one to do
//	go run . watch [NN-name/ex]     rerun the tests on every save, until they pass
//	go run . hint [NN-name/ex]      show the next hint (hints/1.md, 2.md, 3.md)
//	go run . reset NN-name/ex       restore the stub from git
//	go run . solution NN-name/ex    show how your code differs from the solution
//
// Without a name, watch and hint take the next exercise to do. The idea
// comes from rustlings (list, hint, watch), written again for go test.
//
// It is a small program over the go and git commands: the state of an
// exercise is what `go test` says about it, and "not started" means that
// git sees no change since the stub was committed. It uses the standard
// library only.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

const usage = `usage, from the exercises folder:

  go run .                        list the exercises, how many pass, and the next one to do
  go run . watch [NN-name/ex]     rerun an exercise's tests each time you save, until they pass
  go run . hint [NN-name/ex]      show the next hint (one more each time; they are in ex/hints/)
  go run . reset [-y] NN-name/ex  restore the stub as committed (asks first; -y does not ask)
  go run . solution [-y] NN-name/ex
                                  show how your code differs from the worked solution (asks first)
  go run . help                   this text

An exercise is named like 05-wakers/waker; a path to it, or to a file in it, works too.
Without a name, watch and hint take the next exercise to do.
`

func main() {
	dir, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// Ctrl-C ends a watch, or a test run, cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	a := &app{dir: dir, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, interval: 500 * time.Millisecond}
	os.Exit(a.run(ctx, os.Args[1:]))
}

// app is the tool, with everything it touches outside itself, so that its
// tests can give it a copy of an exercise tree and buffers.
type app struct {
	dir      string // the exercises module: where go.mod and the NN-name folders are
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
	interval time.Duration // how often watch looks for saved files
	noRace   bool          // go test -race cannot run here (no cgo)
}

// errUsage reports a command line the tool does not understand.
var errUsage = errors.New("usage")

// run carries out the command in args and returns the exit status.
func (a *app) run(ctx context.Context, args []string) int {
	if _, err := os.Stat(a.path("go.mod")); err != nil {
		fmt.Fprintf(a.stderr, "no go.mod in %s: run this from the exercises folder (cd exercises && go run .)\n", a.dir)
		return 2
	}
	command := ""
	if len(args) > 0 {
		command, args = args[0], args[1:]
	}
	var err error
	switch command {
	case "", "list":
		err = a.list(ctx)
	case "watch":
		err = a.withName(ctx, args, true, a.watch)
	case "hint":
		err = a.withName(ctx, args, true, func(_ context.Context, name string, _ bool) error { return a.hint(name) })
	case "reset":
		err = a.withName(ctx, args, false, a.reset)
	case "solution":
		err = a.withName(ctx, args, false, a.solution)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(a.stdout, usage)
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, command)
	}
	switch {
	case errors.Is(err, errUsage):
		fmt.Fprintf(a.stderr, "%v\n\n%s", err, usage)
		return 2
	case err != nil:
		fmt.Fprintln(a.stderr, err)
		return 1
	}
	return 0
}

// withName parses the arguments of a command that takes an exercise name
// and the flag -y (answer yes instead of asking), and calls do. If next is
// true, the name may be left out, and the next exercise to do is taken.
func (a *app) withName(ctx context.Context, args []string, next bool, do func(ctx context.Context, name string, yes bool) error) error {
	var yes bool
	var names []string
	for _, arg := range args {
		switch {
		case arg == "-y" || arg == "--yes":
			yes = true
		case strings.HasPrefix(arg, "-"):
			return fmt.Errorf("%w: unknown flag %s", errUsage, arg)
		default:
			names = append(names, arg)
		}
	}
	switch {
	case len(names) > 1:
		return fmt.Errorf("%w: one exercise at a time", errUsage)
	case len(names) == 1:
		name, err := a.resolve(names[0])
		if err != nil {
			return err
		}
		return do(ctx, name, yes)
	case !next:
		return fmt.Errorf("%w: which exercise? (for example 01-busy-loop/classify)", errUsage)
	}
	states, err := a.states(ctx, false)
	if err != nil {
		return err
	}
	todo := nextToDo(states)
	if todo == nil {
		fmt.Fprintln(a.stdout, "Every exercise passes: nothing left to do.")
		return nil
	}
	return do(ctx, todo.name, yes)
}

// confirm asks a yes/no question on stdin; only "y" or "yes" is a yes.
func (a *app) confirm(question string) bool {
	fmt.Fprintf(a.stdout, "%s [y/N] ", question)
	var answer string
	_, _ = fmt.Fscanln(a.stdin, &answer)
	answer = strings.ToLower(strings.TrimSpace(answer))
	return answer == "y" || answer == "yes"
}
