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
	"unicode/utf8"

	"github.com/kustomatrix/kustomatrix/internal/mdtext"
)

// MaxBytes is GitHub's limit for one step's summary.
const MaxBytes = 1 << 20

// MinLimit is the least limit Markdown keeps to: room for a heading, a
// line of counts, a table's head and its "…and N more" row.
const MinLimit = 1024

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
	omittedNote = "<sub>Some diffs are left out or cut: GitHub limits a step summary to 1 MiB. The job log has them all.</sub>\n"
	warning     = "⚠️"
	// minCut is the least of a diff worth showing cut; below it the diff
	// is left out (the job log has it).
	minCut = 512
	// unchanged is the status of an object that does not change.
	unchanged = "unchanged"
)

// Markdown renders a report titled with the target and its result, in at
// most limit bytes (at least MinLimit). Rows are ranked
// so that changed and flagged objects come first, in the table and in the
// diffs: an object that changes is never crowded out by unchanged ones. The
// table of changed objects gets up to half of the space, the diffs what
// that leaves, and unchanged objects' rows the rest; the table's last rows
// give way to a count ("…and N more"). A diff that does not fit whole is
// cut at a line (never mid-way through a code block) with a note, or left
// out when too little of it would fit.
func Markdown(title string, rows []Row, limit int) string {
	limit = max(limit, MinLimit)
	var b strings.Builder
	b.WriteString(heading(title, limit/4))
	if len(rows) == 0 {
		b.WriteString("No objects.\n")
		return b.String()
	}
	if n := flagged(rows); n > 0 {
		fmt.Fprintf(&b, "%s %d object(s) flagged below: review them before merging.\n\n", warning, n)
	}
	rows = rank(rows)
	avail := limit - b.Len() - len(omittedNote)
	important := 0
	for important < len(rows) && changes(rows[important]) {
		important++
	}
	// The space the changed objects' rows take, at most half: the diffs
	// are sized after it, and the unchanged rows get what the diffs leave.
	tableMin := len(table(rows[:important], len(rows), avail/2))
	if important < len(rows) {
		tableMin += len(moreRow(len(rows)))
	}
	diffs, omitted := diffBlocks(rows, avail-tableMin)
	b.WriteString(table(rows, len(rows), avail-len(diffs)))
	b.WriteString(diffs)
	if omitted {
		b.WriteString(omittedNote)
	}
	return b.String()
}

// heading is the title as a level-3 heading in at most max bytes: a title
// that does not fit (escaping can make it eight times longer) is cut at a
// character and ends in "…".
func heading(title string, max int) string {
	h := "### " + mdtext.Text(title) + "\n\n"
	for n := len(title); len(h) > max && n > 0; {
		n /= 2
		for n > 0 && !utf8.RuneStart(title[n]) {
			n--
		}
		h = "### " + mdtext.Text(title[:n]) + "…\n\n"
	}
	return h
}

// changes says whether a row must rank before the unchanged objects: it
// changes, or it is flagged.
func changes(r Row) bool {
	return r.Status != unchanged || len(r.Diff) > 0 || r.Note != ""
}

// rank returns the rows that change first, each group in its order.
func rank(rows []Row) []Row {
	out := make([]Row, 0, len(rows))
	for _, r := range rows {
		if changes(r) {
			out = append(out, r)
		}
	}
	for _, r := range rows {
		if !changes(r) {
			out = append(out, r)
		}
	}
	return out
}

// diffBlocks is the rows' diffs, in order, in at most budget bytes: each
// whole when it fits, else cut at a line when at least minCut bytes of it
// fit, else left out (omitted is then true).
func diffBlocks(rows []Row, budget int) (string, bool) {
	var b strings.Builder
	omitted := false
	for _, r := range rows {
		if len(r.Diff) == 0 {
			continue
		}
		block := details(r, -1)
		if b.Len()+len(block) > budget {
			omitted = true
			// The note's line counts may be longer than with nothing
			// shown: 16 bytes spare them.
			left := budget - b.Len() - len(details(r, 0)) - 16
			if left < minCut {
				continue
			}
			if block = details(r, left); b.Len()+len(block) > budget {
				continue // not reached: the spare bytes cover the note
			}
		}
		b.WriteString(block)
	}
	return b.String(), omitted
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
// then one that counts the rest of total; nothing when not even that fits.
func table(rows []Row, total, budget int) string {
	const head = "| object | status |\n|---|---|\n"
	if len(rows) == 0 {
		return ""
	}
	hidden := total - len(rows) // rows left out by the caller: always counted
	return mdtext.Table(head, len(rows), func(i int) string {
		return fmt.Sprintf("| %s | %s |\n", mdtext.Cell(rows[i].ID), status(rows[i], mdtext.Text))
	}, func(n int) string { return moreRow(n + hidden) }, budget)
}

// moreRow stands for the last n rows of a table that does not fit.
func moreRow(n int) string { return fmt.Sprintf("| …and %d more object(s) | see the job log |\n", n) }

// status is a row's status and its note, escaped by esc.
func status(r Row, esc func(string) string) string {
	s := esc(r.Status)
	if r.Note != "" {
		s += " " + warning + " " + esc(r.Note)
	}
	return s
}

// details is one object's diff as a collapsible block whose fence the diff
// can never close. With cut >= 0, the diff is cut to at most cut bytes, at
// a line, and says so; cut = 0 gives the size of the block without text.
func details(r Row, cut int) string {
	text, fence := mdtext.Block(strings.TrimRight(string(r.Diff), "\n"))
	note := ""
	if cut >= 0 && len(text)+1 > cut {
		lines := strings.Count(text, "\n") + 1
		text = text[:max(0, strings.LastIndexByte(text[:min(len(text), cut)], '\n'))]
		note = fmt.Sprintf("<sub>Diff cut to %d of %d lines: the job log has all of it.</sub>\n\n", strings.Count(text, "\n")+min(1, len(text)), lines)
	}
	return fmt.Sprintf("<details><summary>%s (%s)</summary>\n\n%s%sdiff\n%s\n%s\n\n</details>\n\n",
		mdtext.HTML(r.ID), status(r, mdtext.HTML), note, fence, text, fence)
}

// Heading is a report that is only a heading: title, escaped as in
// Markdown.
func Heading(title string) string {
	return "### " + mdtext.Text(title) + "\n"
}

// leftOut replaces a report that does not fit in what is left of the step
// summary.
const leftOut = "<sub>A report is left out: GitHub limits a step summary to 1 MiB and this step's is full. The job log has it.</sub>\n"

// Append adds a report to the file named by $GITHUB_STEP_SUMMARY, when set.
// GitHub's limit is per step, and a step may append several reports: one
// that does not fit in what the file leaves of MaxBytes is replaced by a
// short note (when even that fits), so the file never passes the limit.
// Render with Remaining() as the limit to keep the report instead.
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
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("opening GITHUB_STEP_SUMMARY: %w", err)
	}
	if left := MaxBytes - fi.Size(); int64(len(markdown)) > left {
		if markdown = leftOut; int64(len(markdown)) > left {
			return nil
		}
	}
	if _, err := f.WriteString(markdown); err != nil {
		return fmt.Errorf("writing GITHUB_STEP_SUMMARY: %w", err)
	}
	return nil
}

// Remaining is how many bytes $GITHUB_STEP_SUMMARY can still take within
// MaxBytes (all of them when it is unset or missing).
func Remaining() int {
	fi, err := os.Stat(os.Getenv("GITHUB_STEP_SUMMARY"))
	if err != nil {
		return MaxBytes
	}
	return max(0, MaxBytes-int(fi.Size()))
}
