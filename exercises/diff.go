package main

import (
	"fmt"
	"strings"
)

// A small unified diff, for when git is not installed. It finds a longest
// common subsequence of the two files' lines (a table of n*m numbers: fine
// for files of a few hundred lines; git uses Myers' algorithm, which needs
// far less) and prints the changes with three lines of context, as
// `diff -u` does.

// edit is one line of the diff: kept (' '), removed ('-') or added ('+'),
// and how many lines of each file come before it.
type edit struct {
	kind       byte
	line       string
	aPos, bPos int
}

// unifiedDiff returns the unified diff from text a (named aName) to text b,
// or "" if they are the same.
func unifiedDiff(aName, bName, a, b string) string {
	edits := diffLines(lines(a), lines(b))
	var out strings.Builder
	const context = 3
	for i := 0; i < len(edits); {
		if edits[i].kind == ' ' {
			i++
			continue
		}
		// A hunk: from three lines before this change to three lines after
		// the last change that is at most six kept lines from the previous.
		start, end := max(0, i-context), i
		for {
			for end < len(edits) && edits[end].kind != ' ' {
				end++
			}
			next := end
			for next < len(edits) && edits[next].kind == ' ' {
				next++
			}
			if next == len(edits) || next-end > 2*context {
				end = min(len(edits), end+context)
				break
			}
			end = next
		}
		if out.Len() == 0 {
			fmt.Fprintf(&out, "--- %s\n+++ %s\n", aName, bName)
		}
		hunk := edits[start:end]
		var aLen, bLen int
		for _, e := range hunk {
			if e.kind != '+' {
				aLen++
			}
			if e.kind != '-' {
				bLen++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(hunk[0].aPos, aLen), hunkRange(hunk[0].bPos, bLen))
		for _, e := range hunk {
			fmt.Fprintf(&out, "%c%s\n", e.kind, e.line)
		}
		i = end
	}
	return out.String()
}

// diffLines returns the edits that turn a into b.
func diffLines(a, b []string) []edit {
	// lcs[i][j] is the length of a longest common subsequence of a[i:] and
	// b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var edits []edit
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			edits = append(edits, edit{' ', a[i], i, j})
			i, j = i+1, j+1
		case j == len(b) || (i < len(a) && lcs[i+1][j] >= lcs[i][j+1]):
			edits = append(edits, edit{'-', a[i], i, j})
			i++
		default:
			edits = append(edits, edit{'+', b[j], i, j})
			j++
		}
	}
	return edits
}

// hunkRange formats one side of a hunk header: the first line (1-based)
// and the count; an empty side names the line before it, as diff -u does.
func hunkRange(pos, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", pos)
	}
	return fmt.Sprintf("%d,%d", pos+1, n)
}

// lines splits text into lines, without their newlines.
func lines(text string) []string {
	if text == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}
