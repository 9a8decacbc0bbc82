// Package chapters holds the prose of the tutorial, a page per chapter
// (or several, one idea each, for a chapter that holds more than one),
// and this test, which keeps the prose true to the code beside it:
//
//   - a Go code block in a chapter page is cut from a compiled file, and is
//     compared with the declaration it names, byte for byte;
//   - every relative link in the tutorial's Markdown leads to a file inside
//     the repository, and every #anchor to a heading that exists;
//   - every `go run ./X` names a folder with a main package, and passes only
//     flags that the program defines;
//   - every command shown at a `$ ` prompt runs from the repository's root
//     with what the repository holds: a chapter (go run), the tests, or a
//     committed experiment (experiments/), never a program in /tmp;
//   - every chapter page has the same seven sections, in the same order,
//     and then only appendices;
//   - every chapter page can be read in one sitting: at most maxWords
//     words, its appendices aside;
//   - a chapter's pages are numbered without a gap, each leads to the next
//     in its "Next" section, and the learning path (chapters/README.md)
//     lists every page, in order.
//
// A chapter's first page is chapters/NN-name.md; a chapter split by idea
// goes on in chapters/NN-name-2-idea.md, NN-name-3-idea.md, and so on.
// All its pages belong to the folder NN-name/.
//
// A code block is cut from a file by naming the file (from the repository
// root) and the declaration on the line before its fence:
//
//	<!-- code: 02-epoll/reactor.go Reactor.Wait -->
//	```go
//	...the declaration, with its doc comment...
//	```
//
// Name is a func, a type, or a const or var group that declares Name (the
// whole group is shown); Recv.Name is a method. When the code changes, the
// block must be pasted again (and the prose around it read again).
package chapters

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// root is the repository root, seen from this package's directory, where
// go test runs us. Paths in code markers and commands are relative to it.
const root = ".."

// sections are the second-level headings of every chapter page, in order,
// so that a reader always knows where to look.
var sections = []string{
	"The problem",
	"Run it",
	"How it works",
	"What the kernel is doing",
	"What Go itself does here",
	"Exercises",
	"Next",
}

// appendixPrefix starts the heading of an appendix: a detour a reader may
// skip, after "Next", at the end of the page ("## Appendix: why X").
const appendixPrefix = "Appendix: "

// maxWords is how long a chapter page may be, its appendices aside: about
// 25 minutes of reading, code included, so that a learner can finish it in
// one sitting. A page that needs more holds more than one idea: split it,
// or move the detour to an appendix, reliability.md or benchmarks.md.
const maxWords = 5500

// pagesBeingSplit are chapter pages that may be longer than maxWords for
// a while, and whose commands need not run from the repository yet: a
// page that has outgrown one idea, while it is split into pages of one
// idea each (as chapter 06's was, for issue 14). Whoever splits it takes
// it off this list, which should then be empty.
var pagesBeingSplit = []string{}

func TestChapterPages(t *testing.T) {
	pages := chapterPages(t)
	require.NotEmpty(t, pages, "chapter pages chapters/NN-name.md")
	for _, cp := range pages {
		page := cp.path
		doc := readMarkdown(t, page)
		name := strings.TrimSuffix(filepath.Base(page), ".md")

		t.Run(name+" has the seven sections of every chapter, in order, then only appendices", func(t *testing.T) {
			var got []string
			for _, h := range doc.headings {
				if h.level == 2 {
					got = append(got, h.text)
				}
			}
			for len(got) > len(sections) && strings.HasPrefix(got[len(got)-1], appendixPrefix) {
				got = got[:len(got)-1]
			}
			assert.Equal(t, sections, got, "the ## headings of %s (after %q, only headings that start with %q)", page, "Next", appendixPrefix)
		})

		t.Run(name+" can be read in one sitting", func(t *testing.T) {
			words := wordsBeforeAppendices(doc.text)
			t.Logf("%s: %d words outside its appendices", filepath.Base(page), words)
			if slices.Contains(pagesBeingSplit, filepath.Base(page)) {
				assert.Greater(t, words, maxWords, "%s fits in %d words now: take it off pagesBeingSplit", page, maxWords)
				return
			}
			assert.LessOrEqual(t, words, maxWords,
				"%s has %d words outside its appendices; about 25 minutes of reading is %d: move a detour to a ## %s... at the end, or to reliability.md or benchmarks.md",
				page, words, maxWords, appendixPrefix)
		})

		t.Run(name+" is the page of a chapter folder that exists", func(t *testing.T) {
			assert.DirExists(t, filepath.Join(root, cp.chapter), "chapter folder for %s", page)
		})

		t.Run(name+" shows code cut from the files and draws a diagram", func(t *testing.T) {
			assert.NotEmpty(t, doc.snippets, "code blocks marked <!-- code: FILE DECL --> in %s", page)
			assert.Contains(t, doc.text, "```mermaid", "a mermaid diagram in %s", page)
		})
	}
}

func TestSplitChaptersReadInOrder(t *testing.T) {
	pages := chapterPages(t)
	byChapter := map[string][]chapterPage{}
	var chapters []string
	for _, p := range pages {
		if len(byChapter[p.chapter]) == 0 {
			chapters = append(chapters, p.chapter)
		}
		byChapter[p.chapter] = append(byChapter[p.chapter], p)
	}

	for _, ch := range chapters {
		t.Run(ch+"'s pages are numbered from 1 without a gap, and each leads to the next", func(t *testing.T) {
			for i, p := range byChapter[ch] {
				if !assert.Equal(t, i+1, p.number, "page %d of %s is %s: a chapter's pages are %s.md, %s-2-idea.md, %s-3-idea.md...",
					i+1, ch, filepath.Base(p.path), ch, ch, ch) {
					return
				}
				if i+1 == len(byChapter[ch]) {
					continue
				}
				next := filepath.Base(byChapter[ch][i+1].path)
				var targets []string
				for _, l := range linksUnder(readMarkdown(t, p.path), "Next") {
					target, _, _ := strings.Cut(l.target, "#")
					targets = append(targets, target)
				}
				assert.Contains(t, targets, next, "the Next section of %s links to the chapter's next page", filepath.Base(p.path))
			}
		})
	}

	t.Run("the learning path lists every chapter page, in order", func(t *testing.T) {
		var want, got []string
		for _, p := range pages {
			want = append(want, filepath.Base(p.path))
		}
		for _, l := range readMarkdown(t, filepath.Join(root, "chapters", "README.md")).links {
			target, _, _ := strings.Cut(l.target, "#")
			if pageRE.MatchString(target) && !slices.Contains(got, target) {
				got = append(got, target)
			}
		}
		assert.Equal(t, want, got, "the chapter pages that chapters/README.md links to, in the order of their first link")
	})
}

func TestPageNamesSayChapterAndPage(t *testing.T) {
	for name, want := range map[string]chapterPage{
		"01-busy-loop.md":                {chapter: "01-busy-loop", number: 1},
		"06-full-runtime.md":             {chapter: "06-full-runtime", number: 1},
		"06-full-runtime-2-tcp.md":       {chapter: "06-full-runtime", number: 2},
		"06-full-runtime-3-shutdown.md":  {chapter: "06-full-runtime", number: 3},
		"07-a-long-name-12-two-words.md": {chapter: "07-a-long-name", number: 12},
	} {
		got, ok := parsePageName(name)
		if assert.True(t, ok, "%s is a chapter page's name", name) {
			assert.Equal(t, want, got, "what %s says", name)
		}
	}
	for _, name := range []string{"README.md", "reliability.md", "06-full-runtime-2.md", "6-x.md"} {
		_, ok := parsePageName(name)
		assert.False(t, ok, "%s is not a chapter page's name", name)
	}
}

func TestCodeInTheProseIsCutFromTheFiles(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join(root, "chapters", "*.md"))
	require.NoError(t, err, "glob chapters/*.md")
	for _, page := range pages {
		doc := readMarkdown(t, page)
		rel := filepath.Base(page)

		t.Run(rel+" marks every Go code block with the file it was cut from", func(t *testing.T) {
			for _, line := range doc.unmarkedGo {
				assert.Fail(t, "a ```go block without <!-- code: FILE DECL --> on the line before",
					"%s:%d: cut the code from a file and name it, or show it as plain text", rel, line)
			}
			for _, line := range doc.badMarkers {
				assert.Fail(t, "a code marker not followed by a ```go block",
					"%s:%d: put the ```go fence on the line right after the marker", rel, line)
			}
		})

		for _, s := range doc.snippets {
			t.Run(fmt.Sprintf("%s shows %s from %s exactly as the file has it", rel, s.decl, s.file), func(t *testing.T) {
				want, err := declSource(filepath.Join(root, filepath.FromSlash(s.file)), s.decl)
				require.NoError(t, err, "%s:%d: finding %s in %s", rel, s.line, s.decl, s.file)
				assert.Equal(t, want, s.code,
					"%s:%d: the block differs from %s in %s; paste the declaration again, with its doc comment, and reread the prose around it",
					rel, s.line, s.decl, s.file)
			})
		}
	}
}

func TestLinksLeadSomewhere(t *testing.T) {
	for _, file := range markdownFiles(t) {
		rel, err := filepath.Rel(root, file)
		require.NoError(t, err, "relative path of %s", file)
		doc := readMarkdown(t, file)

		t.Run(filepath.ToSlash(rel)+" links only to files and headings that exist", func(t *testing.T) {
			for _, l := range doc.links {
				checkLink(t, file, l)
			}
		})
	}
}

func TestGoRunCommandsRunChapters(t *testing.T) {
	for _, file := range markdownFiles(t) {
		rel, err := filepath.Rel(root, file)
		require.NoError(t, err, "relative path of %s", file)
		doc := readMarkdown(t, file)
		if len(doc.commands) == 0 {
			continue
		}

		t.Run(filepath.ToSlash(rel)+" runs only programs that exist, with flags they define", func(t *testing.T) {
			for _, c := range doc.commands {
				checkCommand(t, c)
			}
		})
	}
}

func TestCommandsRunFromTheRepository(t *testing.T) {
	for _, file := range markdownFiles(t) {
		rel, err := filepath.Rel(root, file)
		require.NoError(t, err, "relative path of %s", file)
		if slices.Contains(pagesBeingSplit, filepath.Base(file)) {
			continue // its experiments move to experiments/ as it is split (issue 14)
		}
		doc := readMarkdown(t, file)
		if len(doc.prompts) == 0 {
			continue
		}
		t.Run(filepath.ToSlash(rel)+" runs only what the repository holds, from its root", func(t *testing.T) {
			for _, p := range doc.prompts {
				checkPrompt(t, rel, p)
			}
		})
	}
}

func TestWordsAreCountedAsWcCountsThem(t *testing.T) {
	text := "# Title\n\nTwo words.\n\n<!-- code: a.go F -->\n```go\nfunc F() {}\n```\n\n## Next\n\nOne.\n\n## Appendix: a detour\n\nNot counted at all.\n"
	assert.Equal(t, 17, wordsBeforeAppendices(text), "every run of non-space characters counts, as wc -w counts, up to the first appendix")
	assert.Equal(t, 7, wordsBeforeAppendices("```\n## Appendix: inside a fence\n```\n"), "a heading inside a code block starts no appendix")
}

func TestAnchorsAreTheOnesGitHubMakes(t *testing.T) {
	for heading, want := range map[string]string{
		"How it works":                       "how-it-works",
		"What the kernel is doing":           "what-the-kernel-is-doing",
		"What Go itself does here":           "what-go-itself-does-here",
		"01-busy-loop: polling, forever":     "01-busy-loop-polling-forever",
		"The `Reactor` and `epoll_wait`":     "the-reactor-and-epoll_wait",
		"Links [are text](elsewhere.md)":     "links-are-text",
		"Level-triggered vs. edge (EPOLLET)": "level-triggered-vs-edge-epollet",
	} {
		assert.Equal(t, want, anchor(heading), "anchor of the heading %q", heading)
	}
	doc := parseMarkdown("# A\n## Next\n```\n## Next\n```\n### Next\n")
	assert.Equal(t, []string{"a", "next", "next-1"}, doc.anchors(), "a repeated heading gets -1, and a fence holds no headings")
}

// chapterPage is one page of a chapter.
type chapterPage struct {
	path    string // the file, seen from this package
	chapter string // NN-name: the chapter, and its folder
	number  int    // 1 for NN-name.md; K for NN-name-K-idea.md
}

// pageRE is the name of a chapter page: NN-name.md, or NN-name-K-idea.md
// for page K of a chapter split by idea. Names have no digits, so the
// page number stands out.
var pageRE = regexp.MustCompile(`^([0-9][0-9]-[a-z]+(?:-[a-z]+)*)(?:-([0-9]+)-[a-z]+(?:-[a-z]+)*)?\.md$`)

// parsePageName says which chapter, and which of its pages, a file name
// is (without its path), if it is a chapter page's.
func parsePageName(name string) (chapterPage, bool) {
	m := pageRE.FindStringSubmatch(name)
	if m == nil {
		return chapterPage{}, false
	}
	p := chapterPage{chapter: m[1], number: 1}
	if m[2] != "" {
		p.number, _ = strconv.Atoi(m[2])
	}
	return p, true
}

// chapterPages returns the chapter pages, chapters/NN-name.md and
// chapters/NN-name-K-idea.md, in reading order: by chapter, then by page.
func chapterPages(t *testing.T) []chapterPage {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "chapters", "[0-9][0-9]-*.md"))
	require.NoError(t, err, "glob chapter pages")
	var pages []chapterPage
	for _, f := range files {
		p, ok := parsePageName(filepath.Base(f))
		if !assert.True(t, ok, "%s: a chapter page is named NN-name.md, or NN-name-K-idea.md for page K of a chapter", f) {
			continue
		}
		p.path = f
		pages = append(pages, p)
	}
	slices.SortFunc(pages, func(a, b chapterPage) int {
		if c := strings.Compare(a.chapter, b.chapter); c != 0 {
			return c
		}
		return a.number - b.number
	})
	return pages
}

// linksUnder returns the links in the ## section of doc headed heading,
// up to the next ## heading.
func linksUnder(doc markdown, heading string) []link {
	var start, end int
	lines := strings.Split(doc.text, "\n")
	inFence := false
	for i, line := range lines {
		if fenceRE.MatchString(line) {
			inFence = !inFence
		}
		if inFence || !strings.HasPrefix(line, "## ") {
			continue
		}
		switch {
		case start == 0 && strings.TrimSpace(strings.TrimPrefix(line, "## ")) == heading:
			start = i + 1
		case start != 0 && end == 0:
			end = i + 1
		}
	}
	if start == 0 {
		return nil
	}
	var out []link
	for _, l := range doc.links {
		if l.line > start && (end == 0 || l.line < end) {
			out = append(out, l)
		}
	}
	return out
}

// markdownFiles returns the Markdown a reader follows links in: the root
// README, every page in chapters/, each exercise's README, the solutions'
// and each experiment's.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"README.md", "chapters/*.md", "exercises/*/*/README.md", "exercises/*/*/hints/*.md", "solutions/README.md", "experiments/*/README.md"} {
		found, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(pattern)))
		require.NoError(t, err, "glob %s", pattern)
		files = append(files, found...)
	}
	for _, must := range []string{"README.md", "chapters/README.md"} {
		assert.Contains(t, files, filepath.Join(root, filepath.FromSlash(must)), "%s exists", must)
	}
	return files
}

// ---- Markdown, as far as these checks need it ----

type heading struct {
	level int
	text  string
}

// snippet is a Go code block cut from a file.
type snippet struct {
	file, decl string // from the marker
	code       string // the block's lines, without the fences
	line       int    // of the marker, 1-based
}

type link struct {
	target string
	line   int
}

// command is a `go run ./X ...` found in the text.
type command struct {
	dir   string   // "./X"
	flags []string // the words after it, up to the end of the command
	text  string   // the whole command, for messages
	line  int
}

type markdown struct {
	text       string
	headings   []heading // outside code blocks
	snippets   []snippet
	unmarkedGo []int // lines of ```go fences with no marker before them
	badMarkers []int // lines of markers with no ```go fence after them
	links      []link
	commands   []command
	prompts    []prompt // commands shown at a "$ " prompt in a code block
}

// prompt is a command shown after "$ " in a code block, as typed.
type prompt struct {
	text string
	line int
}

var (
	headingRE = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
	markerRE  = regexp.MustCompile(`^<!-- code: (\S+) (\S+) -->$`)
	fenceRE   = regexp.MustCompile("^\\s{0,3}(```+|~~~+)\\s*([A-Za-z0-9_+-]*)")
	// An inline link or image, [text](target) or [text](target "title").
	linkRE = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	// A reference definition, [label]: target.
	refRE = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)`)
	// Inline code, which holds no links.
	codeSpanRE = regexp.MustCompile("`+[^`]*`+")
	// go run ./X, and the rest of the line up to where the command ends.
	goRunRE = regexp.MustCompile("go run (\\./[^\\s`'\"]*)([^`\n]*)")
	// A URL with a scheme (https:, mailto:), which the test does not fetch.
	schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
)

func readMarkdown(t *testing.T, path string) markdown {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err, "read %s", path)
	return parseMarkdown(string(b))
}

// parseMarkdown finds what the checks look at. It knows fenced code blocks,
// ATX headings (## Title), inline links and reference definitions; that is
// all the tutorial's Markdown uses.
func parseMarkdown(text string) markdown {
	doc := markdown{text: text}
	lines := strings.Split(text, "\n")
	var (
		inFence  bool
		fence    string   // the opening fence's backticks or tildes
		current  *snippet // the block being collected, if it was marked
		previous string   // the line before this one
	)
	for i, line := range lines {
		n := i + 1
		for _, m := range goRunRE.FindAllStringSubmatch(line, -1) {
			dir := strings.TrimRight(m[1], ".,;:)")
			doc.commands = append(doc.commands, command{dir: dir, flags: strings.Fields(m[2]), text: strings.TrimSpace(m[0]), line: n})
		}
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			switch {
			case !inFence:
				inFence, fence = true, m[1]
				pm := markerRE.FindStringSubmatch(previous)
				switch {
				case m[2] == "go" && pm != nil:
					current = &snippet{file: pm[1], decl: pm[2], line: n - 1}
				case m[2] == "go":
					doc.unmarkedGo = append(doc.unmarkedGo, n)
				case pm != nil:
					doc.badMarkers = append(doc.badMarkers, n-1)
				}
			case strings.HasPrefix(strings.TrimSpace(line), fence) && strings.Trim(strings.TrimSpace(line), fence[:1]) == "":
				inFence = false
				if current != nil {
					doc.snippets = append(doc.snippets, *current)
					current = nil
				}
			default:
				if current != nil {
					current.code = appendLine(current.code, line)
				}
			}
			previous = line
			continue
		}
		if inFence {
			if current != nil {
				current.code = appendLine(current.code, line)
			}
			if cmd, ok := strings.CutPrefix(line, "$ "); ok {
				doc.prompts = append(doc.prompts, prompt{text: cmd, line: n})
			}
			previous = line
			continue
		}
		if markerRE.MatchString(previous) && !strings.HasPrefix(strings.TrimSpace(line), "```go") {
			doc.badMarkers = append(doc.badMarkers, n-1)
		}
		if m := headingRE.FindStringSubmatch(line); m != nil {
			doc.headings = append(doc.headings, heading{level: len(m[1]), text: m[2]})
		}
		if m := refRE.FindStringSubmatch(line); m != nil {
			doc.links = append(doc.links, link{target: m[1], line: n})
		} else {
			for _, m := range linkRE.FindAllStringSubmatch(codeSpanRE.ReplaceAllString(line, ""), -1) {
				doc.links = append(doc.links, link{target: m[1], line: n})
			}
		}
		previous = line
	}
	if markerRE.MatchString(previous) {
		doc.badMarkers = append(doc.badMarkers, len(lines))
	}
	return doc
}

func appendLine(block, line string) string {
	if block == "" {
		return line
	}
	return block + "\n" + line
}

// anchors returns the anchors GitHub gives the document's headings, in
// order: a heading whose anchor is taken already gets -1, -2, ... appended.
func (doc markdown) anchors() []string {
	seen := map[string]int{}
	var out []string
	for _, h := range doc.headings {
		a := anchor(h.text)
		if n, ok := seen[a]; ok {
			seen[a] = n + 1
			a = a + "-" + strconv.Itoa(n+1)
		} else {
			seen[a] = 0
		}
		out = append(out, a)
	}
	return out
}

var (
	inlineLinkRE = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	htmlTagRE    = regexp.MustCompile(`<[^>]+>`)
)

// anchor turns a heading into the fragment GitHub links it by: the text as
// rendered (no link targets, tags or backticks), lower case, with every
// character that is not a letter, digit, space, hyphen or underscore
// dropped, and each space turned into a hyphen.
func anchor(heading string) string {
	text := inlineLinkRE.ReplaceAllString(heading, "$1")
	text = htmlTagRE.ReplaceAllString(text, "")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// wordsBeforeAppendices counts the words of a page as wc -w would, prose
// and code alike, every run of non-space characters (Markdown's marks and
// the code markers too), up to its first appendix heading: a plain count
// that anyone can check from the shell, and a little stricter than a
// reader's.
func wordsBeforeAppendices(text string) int {
	words, inFence, fence := 0, false, ""
	for _, line := range strings.Split(text, "\n") {
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			switch {
			case !inFence:
				inFence, fence = true, m[1]
				words += len(strings.Fields(line))
				continue
			case strings.HasPrefix(strings.TrimSpace(line), fence) && strings.Trim(strings.TrimSpace(line), fence[:1]) == "":
				inFence = false
				words += len(strings.Fields(line))
				continue
			}
		}
		if !inFence && strings.HasPrefix(line, "## "+appendixPrefix) {
			break
		}
		words += len(strings.Fields(line))
	}
	return words
}

// ---- The checks ----

// fromTheRepository are the ways a command shown at a prompt may start: a
// chapter or an experiment's program run with go run (checked further by
// checkCommand), the tests, an exercise's tests, the exercises tool (go
// run . in exercises/, as the README shows it after cd exercises), a
// package's documentation, or a committed experiment's script.
var fromTheRepository = []string{"go run ./", "go test ", "cd exercises && go test ", "cd exercises && go run .",
	"go run . ", "go doc ./", "bash experiments/"}

// checkPrompt checks one command shown at a "$ " prompt in file: a reader
// must be able to run it, as shown, from the repository's root, with
// nothing but what the repository holds.
func checkPrompt(t *testing.T, file string, p prompt) {
	t.Helper()
	ok := false
	for _, start := range fromTheRepository {
		ok = ok || strings.HasPrefix(p.text, start)
	}
	if !assert.True(t, ok, "%s:%d: $ %s: a command a reader cannot rerun from the repository; make it a committed experiment (experiments/NAME/run.sh, or a go run of a chapter)", file, p.line, p.text) {
		return
	}
	if script, isScript := strings.CutPrefix(p.text, "bash "); isScript {
		script, _, _ = strings.Cut(script, " ")
		assert.FileExists(t, filepath.Join(root, filepath.FromSlash(script)), "%s:%d: $ %s", file, p.line, p.text)
	}
}

// checkLink checks one link from the Markdown file from: a relative target
// must be a file or folder inside the repository, and an #anchor must name a
// heading of the Markdown file it points into.
func checkLink(t *testing.T, from string, l link) {
	t.Helper()
	if schemeRE.MatchString(l.target) {
		return // an absolute URL; not ours to check
	}
	target, fragment, _ := strings.Cut(l.target, "#")
	path := from
	if target != "" {
		unescaped, err := url.PathUnescape(target)
		if !assert.NoError(t, err, "%s:%d: link %q", from, l.line, l.target) {
			return
		}
		if !assert.False(t, strings.HasPrefix(unescaped, "/"), "%s:%d: link %q is absolute; make it relative", from, l.line, l.target) {
			return
		}
		path = filepath.Join(filepath.Dir(from), filepath.FromSlash(unescaped))
		inside, err := filepath.Rel(root, path)
		if !assert.NoError(t, err, "%s:%d: link %q", from, l.line, l.target) ||
			!assert.False(t, inside == ".." || strings.HasPrefix(inside, ".."+string(filepath.Separator)),
				"%s:%d: link %q leaves the repository, so it breaks for every reader", from, l.line, l.target) {
			return
		}
		if _, err := os.Stat(path); !assert.NoError(t, err, "%s:%d: link %q leads nowhere", from, l.line, l.target) {
			return
		}
	}
	if fragment == "" {
		return
	}
	if !assert.True(t, strings.HasSuffix(path, ".md"),
		"%s:%d: link %q: anchors are checked only into Markdown files; link to the file instead", from, l.line, l.target) {
		return
	}
	b, err := os.ReadFile(path)
	if !assert.NoError(t, err, "%s:%d: read %s", from, l.line, path) {
		return
	}
	anchors := parseMarkdown(string(b)).anchors()
	assert.Contains(t, anchors, fragment, "%s:%d: link %q: no heading in %s makes the anchor #%s", from, l.line, l.target, path, fragment)
}

// checkCommand checks one `go run ./X [flags]`: X must be a folder of the
// repository with a main package, and each flag one that X defines.
func checkCommand(t *testing.T, c command) {
	t.Helper()
	dir := filepath.Join(root, filepath.FromSlash(c.dir))
	if !assert.DirExists(t, dir, "line %d: %s: no folder %s", c.line, c.text, c.dir) {
		return
	}
	flags, isMain, err := programFlags(dir)
	if !assert.NoError(t, err, "line %d: %s: reading the Go files of %s", c.line, c.text, c.dir) ||
		!assert.True(t, isMain, "line %d: %s: %s has no main package", c.line, c.text, c.dir) {
		return
	}
	for i := 0; i < len(c.flags); i++ {
		word := c.flags[i]
		if !strings.HasPrefix(word, "-") || word == "-" {
			return // a pipe, a redirection or another command: the go run ends here
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(word, "-"), "=")
		isBool, defined := flags[name]
		if !assert.True(t, defined, "line %d: %s: %s defines no flag -%s", c.line, c.text, c.dir, name) {
			return
		}
		if !isBool && !hasValue {
			i++ // the next word is this flag's value
			assert.Less(t, i, len(c.flags), "line %d: %s: -%s needs a value", c.line, c.text, name)
		}
	}
}

// flagMethods are the flag package's (and a FlagSet's) definers; the
// ...Var forms take the variable first and the name second.
var flagMethods = map[string]bool{
	"Bool": true, "BoolVar": true, "BoolFunc": true,
	"Int": true, "IntVar": true, "Int64": true, "Int64Var": true,
	"Uint": true, "UintVar": true, "Uint64": true, "Uint64Var": true,
	"Float64": true, "Float64Var": true, "String": true, "StringVar": true,
	"Duration": true, "DurationVar": true, "Func": true, "Var": true, "TextVar": true,
}

// programFlags parses the non-test Go files in dir, for every system, and
// reports whether they are package main, and the flags they define, each
// with whether it is a boolean (which takes no value after it).
func programFlags(dir string) (flags map[string]bool, isMain bool, err error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, false, err
	}
	flags = map[string]bool{}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			return nil, false, err
		}
		isMain = isMain || f.Name.Name == "main"
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !flagMethods[sel.Sel.Name] {
				return true
			}
			arg := 0
			if strings.HasSuffix(sel.Sel.Name, "Var") {
				arg = 1
			}
			if arg < len(call.Args) {
				if lit, ok := call.Args[arg].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if name, err := strconv.Unquote(lit.Value); err == nil {
						flags[name] = strings.HasPrefix(sel.Sel.Name, "Bool")
					}
				}
			}
			return true
		})
	}
	return flags, isMain, nil
}

// declSource returns the source text of the declaration decl in the Go file
// path, from the start of its doc comment (if it has one) to its end.
// decl is Name (a func, a type, or a const or var group that declares Name)
// or Recv.Name (a method; Recv without * or type parameters).
func declSource(path, decl string) (string, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		return "", err
	}
	recv, name, isMethod := strings.Cut(decl, ".")
	if !isMethod {
		name, recv = recv, ""
	}
	var found []ast.Decl
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Name.Name != name {
				continue
			}
			if (d.Recv == nil && !isMethod) || (d.Recv != nil && isMethod && receiverType(d.Recv) == recv) {
				found = append(found, d)
			}
		case *ast.GenDecl:
			if !isMethod && slices.Contains(declaredNames(d), name) {
				found = append(found, d)
			}
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%s declares no %s", path, decl)
	case 1:
	default:
		return "", fmt.Errorf("%s declares %s %d times", path, decl, len(found))
	}
	d := found[0]
	start := d.Pos()
	if doc := docOf(d); doc != nil {
		start = doc.Pos()
	}
	from, to := fset.Position(start).Offset, fset.Position(d.End()).Offset
	return strings.TrimSuffix(string(src[from:to]), "\n"), nil
}

func docOf(d ast.Decl) *ast.CommentGroup {
	switch d := d.(type) {
	case *ast.FuncDecl:
		return d.Doc
	case *ast.GenDecl:
		return d.Doc
	}
	return nil
}

// declaredNames lists the names a type, const or var declaration declares.
func declaredNames(d *ast.GenDecl) []string {
	var names []string
	for _, spec := range d.Specs {
		switch s := spec.(type) {
		case *ast.TypeSpec:
			names = append(names, s.Name.Name)
		case *ast.ValueSpec:
			for _, n := range s.Names {
				names = append(names, n.Name)
			}
		}
	}
	return names
}

// receiverType names a method's receiver type: T for (x T), (x *T) and
// (x *T[P]).
func receiverType(recv *ast.FieldList) string {
	if recv == nil || len(recv.List) == 0 {
		return ""
	}
	expr := recv.List[0].Type
	for {
		switch e := expr.(type) {
		case *ast.StarExpr:
			expr = e.X
		case *ast.IndexExpr:
			expr = e.X
		case *ast.IndexListExpr:
			expr = e.X
		case *ast.ParenExpr:
			expr = e.X
		case *ast.Ident:
			return e.Name
		default:
			return ""
		}
	}
}
