package summary

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMarkdownTableAndDiffs(t *testing.T) {
	md := Markdown("diff apps/x: 1 change(s)", []Row{
		{ID: "deployment.apps/x -n ns", Status: "changed", Diff: []byte("-  replicas: 1\n+  replicas: 2\n")},
		{ID: "service/x -n ns", Status: "unchanged"},
	}, MaxBytes)
	for _, want := range []string{
		"### diff apps/x: 1 change(s)",
		"| `deployment.apps/x -n ns` | changed |",
		"| `service/x -n ns` | unchanged |",
		"<details><summary>deployment.apps/x -n ns (changed)</summary>",
		"```diff\n-  replicas: 1\n+  replicas: 2\n```",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

// TestMarkdownStaysWithinTheLimit: whatever the diffs, the report fits,
// every row of the table is kept, and no code block is cut in half.
func TestMarkdownStaysWithinTheLimit(t *testing.T) {
	big := []byte(strings.Repeat("+ line of a large diff\n", 20000)) // ~460 KB each
	var rows []Row
	for i := 0; i < 5; i++ {
		rows = append(rows, Row{ID: "configmap/big-" + string(rune('a'+i)), Status: "changed", Diff: big})
	}
	md := Markdown("apply", rows, MaxBytes)
	if len(md) > MaxBytes {
		t.Fatalf("report is %d bytes; the limit is %d", len(md), MaxBytes)
	}
	for _, r := range rows {
		if !strings.Contains(md, "| `"+r.ID+"` | changed |") {
			t.Errorf("table row of %s is missing", r.ID)
		}
	}
	if strings.Count(md, "```diff") != strings.Count(md, "```\n\n</details>") {
		t.Error("a code block is cut in half")
	}
	if !strings.Contains(md, "Some diffs are left out") {
		t.Error("the report does not say that diffs were left out")
	}
	if strings.Count(md, "<details>") != 2 {
		t.Errorf("%d diffs kept; two of ~460 KB fit in 1 MiB", strings.Count(md, "<details>"))
	}
}

func TestMarkdownEscapesCodeFences(t *testing.T) {
	md := Markdown("t", []Row{{ID: "configmap/x", Status: "changed", Diff: []byte("+ data: ```inject```\n")}}, MaxBytes)
	if strings.Count(md, "```") != 2 {
		t.Fatalf("a fence inside a diff closes the block early:\n%s", md)
	}
}

func TestAppendWritesToStepSummary(t *testing.T) {
	p := filepath.Join(t.TempDir(), "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", p)
	if err := Append("one\n"); err != nil {
		t.Fatal(err)
	}
	if err := Append("two\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "one\ntwo\n" {
		t.Fatalf("summary file = %q", b)
	}
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	if err := Append("ignored"); err != nil {
		t.Fatal(err)
	}
}
