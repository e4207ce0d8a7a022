// Package summary writes the Markdown report of a diff or an apply: one row
// per object and each diff in a collapsible block, kept within GitHub's
// 1 MiB step-summary limit.
//
// Everything in it but its fixed words comes from the repository or the
// cluster (target paths, object names, diff lines), so all of it goes
// through package mdtext: a name can never forge a heading, break the
// table, or close a block.
package summary

import (
	"fmt"
	"os"
	"strings"

	"github.com/kustomatrix/kustomatrix/internal/mdtext"
)

// MaxBytes is GitHub's limit for one step's summary.
const MaxBytes = 1 << 20

// Row is one object in the report.
type Row struct {
	ID     string
	Status string // created, changed, unchanged, will be created, pruned, deleted
	Diff   []byte
	// Note, when set, flags the object for the reviewer (it lies outside
	// the namespaces its target renders into, say); the table and the
	// diff's heading show it after a warning sign.
	Note string
}

const (
	omittedNote = "<sub>Some diffs are left out: GitHub limits a step summary to 1 MiB. The job log has them all.</sub>\n"
	warning     = "⚠️"
)

// Markdown renders a report titled with the target and its result. Diffs
// that do not fit in limit bytes are left out with a note, never cut
// mid-way through a code block; when even the table does not fit, its last
// rows give way to a count.
func Markdown(title string, rows []Row, limit int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", mdtext.Text(title))
	if len(rows) == 0 {
		b.WriteString("No objects.\n")
		return b.String()
	}
	if n := flagged(rows); n > 0 {
		fmt.Fprintf(&b, "%s %d object(s) flagged below: review them before merging.\n\n", warning, n)
	}
	b.WriteString(table(rows, limit-b.Len()-len(omittedNote)))
	omitted := false
	for _, r := range rows {
		if len(r.Diff) == 0 {
			continue
		}
		block := details(r)
		if b.Len()+len(block)+len(omittedNote) > limit {
			omitted = true
			continue
		}
		b.WriteString(block)
	}
	if omitted {
		b.WriteString(omittedNote)
	}
	return b.String()
}

func flagged(rows []Row) int {
	n := 0
	for _, r := range rows {
		if r.Note != "" {
			n++
		}
	}
	return n
}

// table is one row per object, in at most budget bytes: the rows that fit,
// then one that counts the rest.
func table(rows []Row, budget int) string {
	const head = "| object | status |\n|---|---|\n"
	more := func(n int) string { return fmt.Sprintf("| …and %d more object(s) | see the job log |\n", n) }
	return mdtext.Table(head, len(rows), func(i int) string {
		return fmt.Sprintf("| %s | %s |\n", mdtext.Cell(rows[i].ID), status(rows[i], mdtext.Text))
	}, more, budget)
}

// status is a row's status and its note, escaped by esc.
func status(r Row, esc func(string) string) string {
	s := esc(r.Status)
	if r.Note != "" {
		s += " " + warning + " " + esc(r.Note)
	}
	return s
}

// details is one object's diff as a collapsible block whose fence the diff
// can never close.
func details(r Row) string {
	text, fence := mdtext.Block(strings.TrimRight(string(r.Diff), "\n"))
	return fmt.Sprintf("<details><summary>%s (%s)</summary>\n\n%sdiff\n%s\n%s\n\n</details>\n\n",
		mdtext.HTML(r.ID), status(r, mdtext.HTML), fence, text, fence)
}

// Heading is a report that is only a heading: title, escaped as in
// Markdown.
func Heading(title string) string {
	return "### " + mdtext.Text(title) + "\n"
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
