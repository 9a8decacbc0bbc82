package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Each exercise keeps its hints in hints/1.md, 2.md, 3.md, staged: the
// first names the idea of the chapter that applies, the second the
// approach in words, the third the key lines. hint shows one more each
// time, so you take only as much help as you need. How many you have seen
// is kept in progressFile, which .gitignore keeps out of git.

// progressFile is the tool's memory, in the exercises folder.
const progressFile = ".progress.json"

// progress is what progressFile holds.
type progress struct {
	Hints map[string]int `json:"hints"` // per exercise, how many hints have been shown
}

// hint shows the next hint of the exercise name.
func (a *app) hint(name string) error {
	var hints []string
	for i := 1; ; i++ {
		b, err := os.ReadFile(a.path(fmt.Sprintf("%s/hints/%d.md", name, i)))
		if err != nil {
			break
		}
		hints = append(hints, string(b))
	}
	if len(hints) == 0 {
		fmt.Fprintf(a.stdout, "%s has no hints: its README and its tests are all there is.\n", name)
		return nil
	}
	p, err := a.loadProgress()
	if err != nil {
		return err
	}
	shown := p.Hints[name]
	if shown >= len(hints) {
		fmt.Fprintf(a.stdout, "All %d hints for %s have been shown; they are in %s/hints/.\n"+
			"Still stuck? go run . solution %s shows the worked solution.\n", len(hints), name, name, name)
		return nil
	}
	n := shown + 1
	fmt.Fprintf(a.stdout, "Hint %d of %d for %s (%s/hints/%d.md):\n\n%s\n", n, len(hints), name, name, n, strings.TrimSpace(hints[n-1]))
	if n < len(hints) {
		fmt.Fprintf(a.stdout, "\nStill stuck? go run . hint %s shows the next one.\n", name)
	} else {
		fmt.Fprintf(a.stdout, "\nThat was the last hint.\n")
	}
	p.Hints[name] = n
	return a.saveProgress(p)
}

// loadProgress reads progressFile; a missing file is a fresh start.
func (a *app) loadProgress() (*progress, error) {
	p := &progress{Hints: map[string]int{}}
	b, err := os.ReadFile(a.path(progressFile))
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, p); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to start afresh)", a.path(progressFile), err)
	}
	if p.Hints == nil {
		p.Hints = map[string]int{}
	}
	return p, nil
}

// saveProgress writes progressFile.
func (a *app) saveProgress(p *progress) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(a.path(progressFile), append(b, '\n'), 0o644)
}
