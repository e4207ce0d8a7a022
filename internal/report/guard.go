package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kustomatrix/kustomatrix/internal/gitdiff"
	"github.com/kustomatrix/kustomatrix/internal/mdtext"
	"github.com/kustomatrix/kustomatrix/internal/render"
	"github.com/kustomatrix/kustomatrix/internal/summary"
)

// flagPrefix starts the line Guard puts before the diff of a flagged
// object. No line of a unified diff starts with '#' (they start with ' ',
// '+', '-', '@', '\' or are headers), so the comment can count flags in a
// report's diff text, which is all that reaches it.
const flagPrefix = "# ⚠️ kustomatrix: "

// Guard makes the rows of a diff or an apply safe to show, before they are
// printed to the job log, written to the step summary or kept for the pull
// request comment:
//
//   - the diff of every Secret is masked (render.MaskDiff): kubectl diff
//     masks data, but not the last-applied-configuration annotation — a
//     whole copy of a Secret that was ever applied client-side — so a
//     pull request whose target names another team's Secret would show
//     that team's values;
//   - every object outside the target's namespace (the namespace most of
//     its namespaced objects are in) is flagged: its row gets a Note, and
//     its diff a first line saying so, which the comment counts.
//
// objs is the target's rendering (as diffed); rows are matched to it by
// object ID, and any row whose ID names a core Secret is masked even when
// it is not in objs (an object only the base rendered).
func Guard(objs []render.Object, rows []summary.Row) []summary.Row {
	byID := make(map[string]render.Object, len(objs))
	for _, o := range objs {
		byID[o.ID()] = o
	}
	notes := Outside(objs)
	for i, r := range rows {
		o, ok := byID[r.ID]
		if len(r.Diff) > 0 && (ok && render.IsSecret(o) || !ok && strings.HasPrefix(r.ID, "secret/")) {
			r.Diff = render.MaskDiff(r.Diff)
		}
		if note, ok := notes[r.ID]; ok {
			r.Note = note
			if len(r.Diff) > 0 {
				flag := flagPrefix + mdtext.Visible(r.ID, "") + ": " + note + "\n"
				r.Diff = append([]byte(flag), r.Diff...)
			}
		}
		rows[i] = r
	}
	return rows
}

// Outside returns a note for each namespaced object of a rendering that
// lies outside the target's namespace: the one that holds most of its
// namespaced objects. When two namespaces hold the most, the target has no
// namespace of its own and each of its namespaced objects is flagged.
// Cluster-scoped objects (and those left to the default namespace) are
// never flagged. Namespaces the rendering creates do not count as the
// target's: the pull request could create the namespace of the object it
// wants to reach.
func Outside(objs []render.Object) map[string]string {
	count := map[string]int{}
	for _, o := range objs {
		if o.Namespace != "" {
			count[o.Namespace]++
		}
	}
	var top []string
	best := 0
	for ns, n := range count {
		switch {
		case n > best:
			top, best = []string{ns}, n
		case n == best:
			top = append(top, ns)
		}
	}
	sort.Strings(top)
	notes := map[string]string{}
	for _, o := range objs {
		switch {
		case o.Namespace == "" || len(top) == 1 && o.Namespace == top[0]:
		case len(top) == 1:
			notes[o.ID()] = fmt.Sprintf("outside the target's namespace %s", mdtext.Visible(top[0], ""))
		default:
			notes[o.ID()] = fmt.Sprintf("the target has no namespace of its own: its objects are spread evenly over %s", mdtext.Visible(strings.Join(top, ", "), ""))
		}
	}
	return notes
}

// flags counts the objects Guard flagged in a report's diff.
func flags(r Report) int {
	if r.Status != StatusChanges {
		return 0 // error output is not a diff: anything may be in it
	}
	n := 0
	for _, line := range strings.Split(r.Diff, "\n") {
		if strings.HasPrefix(line, flagPrefix) {
			n++
		}
	}
	return n
}

// flagMark is what a flagged report adds to its table cell.
func flagMark(r Report) string {
	if flags(r) == 0 {
		return ""
	}
	return " ⚠️"
}

// flagNote is what a flagged report adds to the heading of its diff.
func flagNote(r Report) string {
	n := flags(r)
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" ⚠️ %d object(s) outside the target's namespace", n)
}

// renderedNote is what a diff made without cluster credentials adds to the
// heading of its diff: never mistaken for what the cluster would do.
func renderedNote(r Report) string {
	if r.RenderedFrom == "" {
		return ""
	}
	return fmt.Sprintf(" — rendered against base <code>%s</code>, not compared with the cluster", mdtext.HTML(gitdiff.Short(r.RenderedFrom)))
}

// renderedMark is what such a diff adds to its table cell.
func renderedMark(r Report) string {
	if r.RenderedFrom == "" {
		return ""
	}
	return " (rendered)"
}
