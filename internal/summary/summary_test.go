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
		"### diff apps\\/x\\: 1 change\\(s\\)",
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
	// Two of ~460 KB fit in 1 MiB whole, and the third cut.
	if strings.Count(md, "<details>") != 3 || strings.Count(md, "Diff cut to") != 1 {
		t.Errorf("%d diffs kept, %d cut; want two whole and one cut", strings.Count(md, "<details>"), strings.Count(md, "Diff cut to"))
	}
}

func TestMarkdownEscapesCodeFences(t *testing.T) {
	md := Markdown("t", []Row{{ID: "configmap/x", Status: "changed", Diff: []byte("+ data: ```inject```\n")}}, MaxBytes)
	if !strings.Contains(md, "\n````diff\n+ data: ```inject```\n````\n") {
		t.Fatalf("a fence inside a diff closes the block early, or the diff was changed:\n%s", md)
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

// TestMarkdownHostileNames: names come from the repository (target paths)
// and from manifests (object names, which kustomize does not validate);
// none of them can add a line, a heading, a table cell or a tag, or close
// the diff's block.
func TestMarkdownHostileNames(t *testing.T) {
	md := Markdown("diff apps/x\n\n# Forged heading\n<!--", []Row{
		{ID: "configmap/a\n\n## forged -n ns", Status: "changed", Diff: []byte("+ x\n")},
		{ID: "secret/b|c`d -n ns", Status: "unchanged"},
		{ID: "configmap/x</details><!-- -n ns", Status: "changed", Diff: []byte("+ </details>\n+ ::add-mask::x\n")},
		{ID: "configmap/\u202eevil\u200b -n ns", Status: "changed", Diff: []byte("+ a: \u202eb\n")},
	}, MaxBytes)
	lines := strings.Split(md, "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "### diff apps") {
			t.Errorf("a name forged a heading: %q", l)
		}
		// Inside a code span (a table cell) or a code block (a diff line)
		// markup is text; anywhere else it would be markup.
		if strings.Contains(l, "<!--") && !strings.HasPrefix(l, "| `") && !strings.HasPrefix(l, "+ ") {
			t.Errorf("an HTML comment survives: %q", l)
		}
		if strings.HasPrefix(l, "| ") && strings.Count(strings.ReplaceAll(l, `\|`, ""), "|") != 3 {
			t.Errorf("a name adds a table cell: %q", l)
		}
	}
	closing := 0
	for _, l := range lines {
		if l == "</details>" {
			closing++
		}
	}
	if closing != 3 || strings.Count(md, "<details>") != 3 {
		t.Errorf("%d closing </details> lines, want one per diff (3):\n%s", closing, md)
	}
	if strings.ContainsRune(md, '\u202e') || strings.ContainsRune(md, '\u200b') {
		t.Errorf("an invisible character survives:\n%s", md)
	}
	for _, want := range []string{
		"| `configmap/a<U+000A><U+000A>## forged -n ns` | changed |",
		"| ``secret/b\\|c`d -n ns`` | unchanged |",
		"<summary>configmap/x&lt;/details&gt;&lt;!-- -n ns (changed)</summary>",
		"+ a: <U+202E>b\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

func TestMarkdownFlagsNotes(t *testing.T) {
	md := Markdown("diff apps/x", []Row{
		{ID: "secret/db -n payments", Status: "changed", Diff: []byte("+ x\n"), Note: "outside the target's namespace shop"},
		{ID: "deployment.apps/x -n shop", Status: "unchanged"},
	}, MaxBytes)
	for _, want := range []string{
		"⚠️ 1 object(s) flagged below",
		"| `secret/db -n payments` | changed ⚠️ outside the target\\'s namespace shop |",
		"<summary>secret/db -n payments (changed ⚠️ outside the target&#39;s namespace shop)</summary>",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

// TestMarkdownTableWithinTheLimit: a table too long for the limit keeps
// the rows that fit and counts the rest.
func TestMarkdownTableWithinTheLimit(t *testing.T) {
	var rows []Row
	for i := 0; i < 200; i++ {
		rows = append(rows, Row{ID: "configmap/" + strings.Repeat("n", 40) + string(rune('a'+i%26)), Status: "unchanged"})
	}
	md := Markdown("apply", rows, 4096)
	if len(md) > 4096 {
		t.Fatalf("report is %d bytes; the limit is 4096", len(md))
	}
	if !strings.Contains(md, "more object(s)") {
		t.Errorf("the cut table does not count the rest:\n%s", md)
	}
}

func TestHeading(t *testing.T) {
	if got, want := Heading("prune a\n# b: kept"), `### prune a\<U\+000A\>\# b\: kept`+"\n"; got != want {
		t.Errorf("Heading = %q, want %q", got, want)
	}
}
