package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUnifiedDiff(t *testing.T) {
	numbered := func(n int) []string {
		var lines []string
		for i := 1; i <= n; i++ {
			lines = append(lines, strings.Repeat("x", i))
		}
		return lines
	}
	a := numbered(20)
	b := append([]string{}, a...)
	b[1] = "changed"                                          // line 2
	b = append(b[:15], append([]string{"new"}, b[15:]...)...) // after line 15
	text := func(lines []string) string { return strings.Join(lines, "\n") + "\n" }

	assert.Equal(t, "", unifiedDiff("a", "b", text(a), text(a)), "the same text: no diff")
	assert.Equal(t, `--- a
+++ b
@@ -1,5 +1,5 @@
 x
-xx
+changed
 xxx
 xxxx
 xxxxx
@@ -13,6 +13,7 @@
 xxxxxxxxxxxxx
 xxxxxxxxxxxxxx
 xxxxxxxxxxxxxxx
+new
 xxxxxxxxxxxxxxxx
 xxxxxxxxxxxxxxxxx
 xxxxxxxxxxxxxxxxxx
`, unifiedDiff("a", "b", text(a), text(b)), "two changes far apart: two hunks, as diff -u prints them")

	assert.Equal(t, "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+one\n+two\n", unifiedDiff("a", "b", "", "one\ntwo\n"), "a new file")
	assert.Equal(t, "--- a\n+++ b\n@@ -1,2 +0,0 @@\n-one\n-two\n", unifiedDiff("a", "b", "one\ntwo\n", ""), "a deleted file")
}
