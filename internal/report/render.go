package report

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"github.com/kustomatrix/kustomatrix/internal/mdtext"
)

// MaxCommentLength is GitHub's limit on the body of an issue or pull
// request comment: 65,536 characters ("Body is too long (maximum is 65536
// characters)"). GitHub does not say how it counts them: code points, or
// UTF-16 code units as JavaScript does. Render counts UTF-8 bytes, which
// for any text are at least as many as either (a character takes 1 to 4
// bytes but only 1 or 2 UTF-16 units), so a body within the limit in bytes
// is within it however GitHub counts. The price is that text with many
// non-ASCII characters is cut somewhat earlier than it must be.
const MaxCommentLength = 65536

// minLimit keeps Options.Limit large enough for a header and a table.
const minLimit = 1024

// minKept is the least of a diff worth showing: when the diffs only fit cut
// shorter than this, the largest are left out instead, so the rest stay
// readable.
const minKept = 2000

// Options says how to render a comment.
type Options struct {
	// Workflow is the name of the generated workflow; it goes into the
	// marker, so each workflow keeps its own comment.
	Workflow string
	// RunURL is the workflow run, linked wherever something is left out
	// ($GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID).
	RunURL string
	// Limit is the most bytes the body may have; 0 means MaxCommentLength.
	Limit int
}

var workflowName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$`)

// ValidWorkflow says whether a workflow name can go into a marker: up to
// 100 letters, digits, '_', '.' and '-', which can never end the HTML
// comment or the line.
func ValidWorkflow(name string) bool { return workflowName.MatchString(name) }

// Marker is the hidden first line of a workflow's comment, which finds it
// again on the next run.
func Marker(workflow string) string { return "<!-- kustomatrix:" + workflow + " -->" }

var statusIcon = map[Status]string{
	StatusChanges:   "🟡",
	StatusNoChanges: "✅",
	StatusError:     "❌",
	StatusSkipped:   "⏭️",
}

// Render returns the Markdown body of the pull request comment: the marker
// line, a summary, a table of services × environments with each target's
// status, then each diff in a collapsible <details> block. The body never
// exceeds the limit: diffs are cut, largest first, and when cutting would
// leave too little of them the largest are left out, with a link to the
// run. The table is complete unless it does not fit beside the diffs,
// which keep up to half of the room; then its last rows give way to an
// "…and N more" row, and the rows given up are those of services without
// changes (services with errors and changes come first).
func Render(reports []Report, o Options) (string, error) {
	if !ValidWorkflow(o.Workflow) {
		return "", fmt.Errorf("workflow name %q cannot go into the comment marker: want %s", o.Workflow, workflowName)
	}
	limit := o.Limit
	if limit == 0 {
		limit = MaxCommentLength
	}
	if limit < minLimit {
		return "", fmt.Errorf("limit %d is below %d", limit, minLimit)
	}
	if !linkable(o.RunURL) {
		o.RunURL = ""
	}
	seen := map[[3]string]bool{}
	for _, r := range reports {
		if err := r.Validate(); err != nil {
			return "", fmt.Errorf("report for %q: %w", r.Path, err)
		}
		key := r.key()
		if seen[key] {
			return "", fmt.Errorf("two reports for %s/%s", r.Service, r.Environment)
		}
		seen[key] = true
	}
	current, removed := splitRemovals(reports)
	g := newGrid(current)
	reserve := min(1024, limit/4) // for the note on left-out diffs
	var b strings.Builder
	b.WriteString(header(current, o, removalCounts(removed)))
	items := append(g.diffItems(o.RunURL), removalItems(removed, o.RunURL)...)
	// The tables are complete when they fit beside the diffs; when they do
	// not, the diffs keep up to half of the room (a long table of services
	// without changes must not crowd out the one real diff), and the
	// tables show their services with changes first.
	avail := limit - reserve - b.Len()
	need := 0
	for _, it := range items {
		need += it.full()
	}
	tables := avail - min(need, avail/2)
	b.WriteString(g.table(tables))
	b.WriteString(removalTable(removed, limit-reserve-min(need, avail/2)-b.Len()))
	plan := fitDiffs(items, max(0, limit-reserve-b.Len()))
	for _, it := range items {
		if !plan.omitted[it] {
			b.WriteString(it.render(plan.cut, o.RunURL))
		}
	}
	if len(plan.omitted) > 0 {
		b.WriteString(omittedNote(items, plan.omitted, o.RunURL, reserve))
	}
	if b.Len() > limit { // cannot happen by construction; never send a body GitHub rejects
		return "", fmt.Errorf("internal error: comment of %d bytes passes the limit of %d", b.Len(), limit)
	}
	return b.String(), nil
}

// header is the marker, the title and one line of counts (removals: the
// counts of removed targets, if any).
func header(reports []Report, o Options, removals string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n### kustomatrix: %s\n\n", Marker(o.Workflow), o.Workflow)
	if len(reports) == 0 && removals != "" {
		b.WriteString("No target at the head is affected by this change.")
	} else if len(reports) == 0 {
		b.WriteString("No target is affected by this change.")
	} else {
		n := map[Status]int{}
		for _, r := range reports {
			n[r.Status]++
		}
		var parts []string
		for _, p := range []struct {
			s    Status
			text string
		}{{StatusChanges, "with changes"}, {StatusError, "failed"}, {StatusNoChanges, "without changes"}, {StatusSkipped, "skipped"}} {
			if n[p.s] > 0 {
				parts = append(parts, fmt.Sprintf("%s %d %s", statusIcon[p.s], n[p.s], p.text))
			}
		}
		fmt.Fprintf(&b, "%d target(s): %s.", len(reports), strings.Join(parts, ", "))
	}
	b.WriteString(removals)
	if o.RunURL != "" {
		fmt.Fprintf(&b, " [Workflow run](%s).", o.RunURL)
	}
	b.WriteString("\n\n")
	return b.String()
}

// grid is the reports as a table: a row per service, a column per
// environment.
type grid struct {
	services, envs []string
	cell           map[[2]string]Report
}

func newGrid(reports []Report) *grid {
	g := &grid{cell: map[[2]string]Report{}}
	seenS, seenE := map[string]bool{}, map[string]bool{}
	for _, r := range reports {
		if !seenS[r.Service] {
			seenS[r.Service] = true
			g.services = append(g.services, r.Service)
		}
		if !seenE[r.Environment] {
			seenE[r.Environment] = true
			g.envs = append(g.envs, r.Environment)
		}
		g.cell[[2]string{r.Service, r.Environment}] = r
	}
	sort.Strings(g.services)
	sort.Slice(g.envs, func(i, j int) bool {
		ri, rj := envRank(g.envs[i]), envRank(g.envs[j])
		if ri != rj {
			return ri < rj
		}
		return g.envs[i] < g.envs[j]
	})
	return g
}

// envOrder puts the usual environments in promotion order; others follow,
// sorted by name.
var envOrder = []string{"dev", "development", "test", "testing", "qa", "uat", "stage", "staging", "preprod", "prod", "production"}

func envRank(env string) int {
	first := strings.FieldsFunc(strings.ToLower(env), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for i, e := range envOrder {
		if len(first) > 0 && first[0] == e {
			return i
		}
	}
	return len(envOrder)
}

// table renders the grid in at most budget bytes: all of it when it fits,
// otherwise the rows that fit and a last "…and N more" row.
func (g *grid) table(budget int) string {
	if len(g.services) == 0 {
		return ""
	}
	var head strings.Builder
	head.WriteString("| service |")
	for _, e := range g.envs {
		fmt.Fprintf(&head, " %s |", cellCode(e))
	}
	head.WriteString("\n|---|" + strings.Repeat("---|", len(g.envs)) + "\n")
	more := func(n int) string {
		return fmt.Sprintf("| …and %d more service(s) |%s\n", n, strings.Repeat(" |", len(g.envs)))
	}
	// Before each row, the "more" row for it and every row after still
	// fits: when a row does not, that row replaces it. A table that does
	// not fit whole shows the services with errors and changes first: the
	// rows given up are those of services without changes.
	order := g.services
	full := head.Len() + 1
	for _, s := range order {
		full += len(g.row(s))
	}
	if full > budget {
		if head.Len()+len(more(len(g.services)))+1 > budget {
			return fits(fmt.Sprintf("The table of %d service(s) is too wide for a comment; the workflow run has every result.\n\n", len(g.services)), budget)
		}
		order = g.ranked()
	}
	var b strings.Builder
	b.WriteString(head.String())
	for i, s := range order {
		row := g.row(s)
		need := b.Len() + len(row) + 1
		if left := len(g.services) - i - 1; left > 0 {
			need += len(more(left))
		}
		if need > budget {
			b.WriteString(more(len(g.services) - i))
			break
		}
		b.WriteString(row)
	}
	b.WriteString("\n")
	return b.String()
}

// ranked is the services, those with an error first, then those with
// changes, then the rest, each group sorted by name.
func (g *grid) ranked() []string {
	rank := func(s string) int {
		best := 2
		for _, e := range g.envs {
			switch g.cell[[2]string{s, e}].Status {
			case StatusError:
				best = min(best, 0)
			case StatusChanges:
				best = min(best, 1)
			}
		}
		return best
	}
	out := append([]string(nil), g.services...)
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

// fits is s when it fits in budget bytes, else nothing.
func fits(s string, budget int) string {
	if len(s) > budget {
		return ""
	}
	return s
}

func (g *grid) row(service string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s |", cellCode(service))
	for _, e := range g.envs {
		r, ok := g.cell[[2]string{service, e}]
		switch {
		case !ok:
			b.WriteString(" — |")
		case linkable(r.RunURL):
			fmt.Fprintf(&b, " %s [%s](%s)%s%s |", statusIcon[r.Status], r.Status, r.RunURL, renderedMark(r), flagMark(r))
		default:
			fmt.Fprintf(&b, " %s %s%s%s |", statusIcon[r.Status], r.Status, renderedMark(r), flagMark(r))
		}
	}
	b.WriteString("\n")
	return b.String()
}

// cellCode shows a name as code in a table cell (mdtext.Cell): nothing in
// it can end the code span, the cell or the line, and invisible or
// look-alike characters show as code points.
func cellCode(s string) string {
	return mdtext.Cell(s)
}

// linkable says whether a URL can go into a Markdown link as it is, and
// is short enough (500 bytes) never to crowd out the content.
func linkable(u string) bool {
	return len(u) <= 500 && (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) &&
		!strings.ContainsAny(u, " \t\r\n()<>[]`\"'\\")
}

// diffItems are the reports with text to show, in table order.
func (g *grid) diffItems(runURL string) []*diffItem {
	var items []*diffItem
	for _, s := range g.services {
		for _, e := range g.envs {
			if r, ok := g.cell[[2]string{s, e}]; ok && r.Diff != "" {
				items = append(items, newDiffItem(r, runURL))
			}
		}
	}
	return items
}
