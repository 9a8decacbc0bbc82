//go:build linux

package solutions_test

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
)

// What the learner reads, checked as committed (see exercises_test.go):
//
//   - the README states the task and the contract the tests check, in at
//     most readmeWords words outside code blocks, and holds no ```go block
//     (no code to copy);
//   - the hints are staged in hints/1.md (which idea of the chapter
//     applies), hints/2.md (the approach, in words) and hints/3.md (the key
//     lines); `go run .` in exercises/ shows them one at a time;
//   - exercises/order.txt names the exercise, so the tool lists it in its
//     place within its chapter.
const readmeWords = 450

func TestExerciseReadmesAndHints(t *testing.T) {
	c := committedExercises(t)
	if !c.fromGit {
		t.Skipf("no git (%s): exercises/ may hold a learner's edits, so its text is not checked", c.noGit)
	}
	order := orderFile(c.files["order.txt"])
	for _, name := range c.names {
		t.Run(name, func(t *testing.T) {
			assert.Contains(t, order, name, "exercises/order.txt lists %s", name)
			readme, ok := c.read(name, "README.md")
			if assert.True(t, ok, "exercises/%s/README.md is committed", name) {
				words, goBlocks := readmeText(readme)
				assert.LessOrEqual(t, words, readmeWords,
					"words outside code blocks in exercises/%s/README.md: say the task and the contract, and leave the rest to the hints", name)
				assert.Zero(t, goBlocks, "```go blocks in exercises/%s/README.md: no code for the learner to copy", name)
			}
			for i := 1; i <= 3; i++ {
				hint, ok := c.read(name, fmt.Sprintf("hints/%d.md", i))
				assert.True(t, ok && len(bytes.TrimSpace(hint)) > 0,
					"exercises/%s/hints/%d.md is committed and not empty (1: the idea that applies, 2: the approach in words, 3: the key lines)", name, i)
			}
		})
	}
}

func TestReadmeText(t *testing.T) {
	words, goBlocks := readmeText([]byte("# Title here\n\n- One two `three`.\n\n```go\nfunc x() {}\n```\n\n~~~\nnot counted\n~~~\n```Go\nx\n```\nfour\n"))
	assert.Equal(t, 6, words, "words outside fences: Title here One two `three`. four")
	assert.Equal(t, 2, goBlocks, "```go and ```Go blocks")
}

// readmeText counts the words of a Markdown text outside fenced code
// blocks (a word holds a letter or a digit, so # and - do not count), and
// the blocks fenced as Go.
func readmeText(md []byte) (words, goBlocks int) {
	fence := "" // the open fence, "" outside a block
	s := bufio.NewScanner(bytes.NewReader(md))
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		switch {
		case fence == "" && (strings.HasPrefix(line, "```") || strings.HasPrefix(line, "~~~")):
			fence = line[:3]
			if lang := strings.Fields(strings.TrimLeft(line, fence[:1])); len(lang) > 0 && strings.EqualFold(lang[0], "go") {
				goBlocks++
			}
		case fence != "" && strings.HasPrefix(line, fence):
			fence = ""
		case fence == "":
			for _, f := range strings.Fields(line) {
				if strings.IndexFunc(f, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
					words++ // a word, not markup such as # or -
				}
			}
		}
	}
	return words, goBlocks
}

// orderFile returns the exercise names that exercises/order.txt lists: one
// a line, with blank lines and # comments ignored.
func orderFile(b []byte) []string {
	var names []string
	for line := range strings.Lines(string(b)) {
		if line, _, _ = strings.Cut(line, "#"); strings.TrimSpace(line) != "" {
			names = append(names, strings.TrimSpace(line))
		}
	}
	return names
}
