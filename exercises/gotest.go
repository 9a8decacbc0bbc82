package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
)

// testFlags are the flags of every test run. -race, because the worked
// solutions pass with it and several exercises are about goroutines that
// share memory: a data race is a bug even when the numbers come out right.
// The timeout ends a test that hangs (a lost wakeup, say) in two minutes
// instead of go test's ten.
func (a *app) testFlags() []string {
	if a.noRace {
		return []string{"-timeout=2m"}
	}
	return []string{"-race", "-timeout=2m"}
}

// result is what go test said about one exercise.
type result struct {
	passed bool
	output string // go test's output for the exercise's package
}

// goTest runs go test with args in the exercises folder, and returns its
// standard output and error and whether it passed. It returns an error
// only if the go command could not run at all. On a system where -race
// needs cgo and cgo is off, it says so once and runs without -race.
func (a *app) goTest(ctx context.Context, args ...string) (stdout, stderr string, passed bool, err error) {
	cmd := exec.CommandContext(ctx, "go", append(append([]string{"test"}, a.testFlags()...), args...)...)
	cmd.Dir = a.dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return "", "", false, ctx.Err()
	case err != nil && !errors.As(err, &exit):
		return "", "", false, fmt.Errorf("go test: %w", err)
	case !a.noRace && strings.Contains(errOut.String(), "-race requires cgo"):
		fmt.Fprintln(a.stderr, "note: go test -race needs cgo, which is off here; testing without -race")
		a.noRace = true
		return a.goTest(ctx, args...)
	}
	return out.String(), errOut.String(), err == nil, nil
}

// testOne runs the tests of one exercise the way you would by hand, and
// returns go test's output.
func (a *app) testOne(ctx context.Context, name string) (result, error) {
	stdout, stderr, passed, err := a.goTest(ctx, "./"+name+"/")
	return result{passed: passed, output: stdout + stderr}, err
}

// testAll runs the tests of several exercises in one go command (which
// runs packages in parallel), and returns each one's result.
func (a *app) testAll(ctx context.Context, names []string) (map[string]result, error) {
	results := map[string]result{}
	if len(names) == 0 {
		return results, nil
	}
	args := []string{"-json"}
	for _, name := range names {
		args = append(args, "./"+name+"/")
	}
	stdout, stderr, _, err := a.goTest(ctx, args...)
	if err != nil {
		return nil, err
	}
	// go test -json prints one event a line (see `go doc test2json`). The
	// package's text is the Output of its events, compile errors included
	// (build-output, keyed by ImportPath). With -json the tests run
	// verbosely, so we drop the lines a plain run does not print.
	output := map[string]*strings.Builder{}
	passed := map[string]bool{}
	dec := json.NewDecoder(strings.NewReader(stdout))
	for {
		var ev struct{ Action, Package, Test, Output, ImportPath string }
		if err := dec.Decode(&ev); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go test -json: %w", err)
		}
		pkg := ev.Package
		if ev.Action == "build-output" {
			pkg, _, _ = strings.Cut(ev.ImportPath, " ")
		}
		if output[pkg] == nil {
			output[pkg] = &strings.Builder{}
		}
		switch {
		case (ev.Action == "output" || ev.Action == "build-output") && !verboseOnly.MatchString(ev.Output):
			output[pkg].WriteString(ev.Output)
		case (ev.Action == "pass" || ev.Action == "fail") && ev.Test == "":
			passed[pkg] = ev.Action == "pass"
		}
	}
	for pkg, out := range output {
		for _, name := range names {
			if strings.HasSuffix(pkg, "/"+name) {
				results[name] = result{passed: passed[pkg], output: out.String()}
			}
		}
	}
	for _, name := range names {
		if _, ok := results[name]; !ok { // the go command failed before the package ran
			results[name] = result{output: stderr}
		}
	}
	return results, nil
}

// verboseOnly matches the lines that go test prints only in verbose mode.
var verboseOnly = regexp.MustCompile(`^\s*(=== (RUN|PAUSE|CONT|NAME)|--- (PASS|SKIP))`)

var (
	// compileError matches a compiler's or vet's complaint: file.go:12:3: what
	compileError = regexp.MustCompile(`^\S+\.go:\d+:\d+: `)
	// testLog matches a line from t.Error, t.Fatal or t.Log: file_test.go:12: what
	testLog = regexp.MustCompile(`^\s+\S+_test\.go:\d+: (.+)$`)
)

// firstFailure returns the first thing that went wrong in go test's output,
// in one line: a compile error, a panic, testify's report of the first
// failed assertion (which test, its message, what was expected), or a
// t.Error line. If that thing is the stub's TODO panic, it returns the
// TODO's text, which says what to do.
func firstFailure(output string) string {
	lines := strings.Split(output, "\n")
	test := "" // the test that failed, from its "--- FAIL: name (0.00s)" line
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "--- FAIL: "):
			test, _, _ = strings.Cut(strings.TrimPrefix(trimmed, "--- FAIL: "), " (")
		case compileError.MatchString(trimmed):
			return "does not compile: " + trimmed
		case strings.HasPrefix(trimmed, "panic: "):
			msg, _, _ := strings.Cut(trimmed, " [recovered")
			return todoOr(msg)
		case strings.HasPrefix(trimmed, "Error Trace:"):
			return todoOr(testifyReport(lines[i:], test))
		case testLog.MatchString(line):
			// testify's own first line ("x_test.go:12: ") has nothing
			// after the colon, so it does not match: its report follows.
			return todoOr(join(sentence(test), testLog.FindStringSubmatch(line)[1]))
		}
	}
	return lastLine(output)
}

// testifyReport turns testify's report, which starts at lines[0] with
// "Error Trace:", into one line. Each of its lines starts with a tab after
// any spaces, as "\tLabel:\tvalue", or "\t\tvalue" to continue the last.
func testifyReport(lines []string, test string) string {
	fields := map[string][]string{}
	label := ""
	for _, line := range lines {
		if !strings.HasPrefix(strings.TrimLeft(line, " "), "\t") {
			break // the report ends
		}
		text := strings.TrimSpace(line)
		for _, l := range []string{"Error Trace:", "Error:", "Test:", "Messages:"} {
			if rest, ok := strings.CutPrefix(text, l); ok {
				label, text = l, strings.TrimSpace(rest)
			}
		}
		fields[label] = append(fields[label], text)
	}
	if t := strings.Join(fields["Test:"], ""); t != "" {
		test = t
	}
	what := strings.Join(strings.Fields(strings.Join(fields["Error:"], " ")), " ")
	return join(sentence(test), strings.Join(fields["Messages:"], " "), what)
}

// todoOr returns the TODO(...) text in msg if there is one, else msg.
func todoOr(msg string) string {
	if i := strings.Index(msg, "TODO("); i >= 0 {
		return strings.TrimRight(msg[i:], `"`)
	}
	return msg
}

// sentence turns a test's name back into the sentence it was written as:
// the subtest's name, with its underscores made spaces again.
func sentence(test string) string {
	if i := strings.LastIndex(test, "/"); i >= 0 {
		return strings.ReplaceAll(test[i+1:], "_", " ")
	}
	return test
}

// join joins the non-empty parts with ": ".
func join(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ": ")
}

// lastLine returns the last non-blank line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
