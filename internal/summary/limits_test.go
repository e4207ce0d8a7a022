package summary

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestMarkdownRanksChangesFirst is the 6,000-object target of issue 12: a
// table of unchanged objects long enough to fill the summary on its own
// must give way (an "…and N more" row) to the one real change, whose row
// and diff are kept.
func TestMarkdownRanksChangesFirst(t *testing.T) {
	var rows []Row
	for i := 0; i < 6000; i++ {
		id := fmt.Sprintf("configmap.v1/%s-%04d -n %s", strings.Repeat("c", 120), i, strings.Repeat("n", 60))
		rows = append(rows, Row{ID: id, Status: "unchanged"})
	}
	changed := Row{ID: "deployment.apps/the-real-change -n shop", Status: "changed", Diff: []byte("-  replicas: 1\n+  replicas: 2\n")}
	rows = append(rows[:4000], append([]Row{changed}, rows[4000:]...)...)
	md := Markdown("diff apps/big: 1 change(s)", rows, MaxBytes)
	if len(md) > MaxBytes {
		t.Fatalf("summary is %d bytes; GitHub's limit is %d", len(md), MaxBytes)
	}
	if !strings.Contains(md, "| `deployment.apps/the-real-change -n shop` | changed |") {
		t.Error("the changed object's row was dropped")
	}
	if !strings.Contains(md, "+  replicas: 2") {
		t.Error("the one real diff was dropped")
	}
	if !strings.Contains(md, "more object(s)") {
		t.Error("the cut table does not count the rest")
	}
	if i, j := strings.Index(md, "the-real-change"), strings.Index(md, "cccc-0000"); j >= 0 && i > j {
		t.Error("unchanged objects come before the change in the table")
	}
}

// TestMarkdownCutsAnOversizedDiff: one diff larger than the whole summary
// is shown cut at a line, with a note, never left out entirely.
func TestMarkdownCutsAnOversizedDiff(t *testing.T) {
	big := []byte(strings.Repeat("+ line of a very large diff\n", 60000)) // ~1.7 MB
	md := Markdown("diff apps/x", []Row{{ID: "configmap/huge", Status: "changed", Diff: big}}, MaxBytes)
	if len(md) > MaxBytes {
		t.Fatalf("summary is %d bytes; the limit is %d", len(md), MaxBytes)
	}
	if !strings.Contains(md, "<details>") || !strings.Contains(md, "+ line of a very large diff\n```\n") {
		t.Fatalf("the oversized diff is not shown cut at a line:\n%.400s", md)
	}
	if !strings.Contains(md, "cut") {
		t.Error("the summary does not say the diff was cut")
	}
}

// TestMarkdownLongTitle: the title counts against the limit too.
func TestMarkdownLongTitle(t *testing.T) {
	for _, title := range []string{strings.Repeat("a/", 5000), strings.Repeat("\u202e", 3000)} {
		md := Markdown(title, []Row{{ID: "x", Status: "changed", Diff: []byte("+ x\n")}}, 2048)
		if len(md) > 2048 {
			t.Errorf("summary is %d bytes with a %d-byte title; the limit is 2048", len(md), len(title))
		}
		if !strings.HasPrefix(md, "### ") || !utf8.ValidString(md) {
			t.Errorf("summary does not start with a valid heading: %.80q", md)
		}
	}
}

// TestAppendKeepsTheStepWithinTheLimit: several reports appended in one
// step (apply, then its failure) never take the file past 1 MiB.
func TestAppendKeepsTheStepWithinTheLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", p)
	rows := []Row{{ID: "configmap/big", Status: "changed", Diff: []byte(strings.Repeat("+ line\n", 100000))}}
	for i := 0; i < 3; i++ {
		if err := Append(Markdown("apply", rows, MaxBytes)); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > MaxBytes {
		t.Fatalf("step summary is %d bytes; GitHub's limit is %d", fi.Size(), MaxBytes)
	}
	b, _ := os.ReadFile(p)
	if !strings.Contains(string(b), "left out") {
		t.Error("the summary does not say a report was left out")
	}
}

// TestMarkdownKeepsEveryChangedRow: diffs that fill the summary leave room
// for the row of every changed object, and the count of the unchanged ones.
func TestMarkdownKeepsEveryChangedRow(t *testing.T) {
	big := []byte(strings.Repeat("+ line of a large diff\n", 30000))
	var rows []Row
	for i := 0; i < 200; i++ {
		rows = append(rows, Row{ID: fmt.Sprintf("configmap/unchanged-%03d", i), Status: "unchanged"})
	}
	for i := 0; i < 3; i++ {
		rows = append(rows, Row{ID: fmt.Sprintf("configmap/changed-%d", i), Status: "changed", Diff: big})
	}
	md := Markdown("apply", rows, MaxBytes)
	if len(md) > MaxBytes {
		t.Fatalf("summary is %d bytes; the limit is %d", len(md), MaxBytes)
	}
	for i := 0; i < 3; i++ {
		if !strings.Contains(md, fmt.Sprintf("| `configmap/changed-%d` | changed |", i)) {
			t.Errorf("the row of changed-%d is missing", i)
		}
	}
	if !strings.Contains(md, "more object(s)") && !strings.Contains(md, "unchanged-199") {
		t.Error("the unchanged objects are neither listed nor counted")
	}
}
