// Package summary writes the Markdown report of a diff or an apply: one row
// per object and each diff in a collapsible block, kept within GitHub's
// 1 MiB step-summary limit.
package summary

import (
	"fmt"
	"os"
	"strings"
)

// MaxBytes is GitHub's limit for one step's summary.
const MaxBytes = 1 << 20

// Row is one object in the report.
type Row struct {
	ID     string
	Status string // created, changed, unchanged, will be created, pruned, deleted
	Diff   []byte
}

// Markdown renders a report titled with the target and its result. Diffs
// that do not fit in limit bytes are left out with a note, never cut
// mid-way through a code block.
func Markdown(title string, rows []Row, limit int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", escape(title))
	if len(rows) == 0 {
		b.WriteString("No objects.\n")
		return b.String()
	}
	b.WriteString("| object | status |\n|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` | %s |\n", strings.ReplaceAll(r.ID, "`", "'"), r.Status)
	}
	b.WriteString("\n")
	const note = "<sub>Some diffs are left out: GitHub limits a step summary to 1 MiB. The job log has them all.</sub>\n"
	omitted := false
	for _, r := range rows {
		if len(r.Diff) == 0 {
			continue
		}
		block := fmt.Sprintf("<details><summary>%s (%s)</summary>\n\n```diff\n%s\n```\n\n</details>\n\n",
			escape(r.ID), r.Status, strings.ReplaceAll(strings.TrimRight(string(r.Diff), "\n"), "```", "` ` `"))
		if b.Len()+len(block)+len(note) > limit {
			omitted = true
			continue
		}
		b.WriteString(block)
	}
	if omitted {
		b.WriteString(note)
	}
	return b.String()
}

// Append adds a report to the file named by $GITHUB_STEP_SUMMARY, when set.
func Append(markdown string) error {
	p := os.Getenv("GITHUB_STEP_SUMMARY")
	if p == "" {
		return nil
	}
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("opening GITHUB_STEP_SUMMARY: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(markdown); err != nil {
		return fmt.Errorf("writing GITHUB_STEP_SUMMARY: %w", err)
	}
	return nil
}

func escape(s string) string {
	r := strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;")
	return r.Replace(s)
}
