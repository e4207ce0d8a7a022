package report

import (
	"fmt"
	"strings"

	"github.com/kustomatrix/kustomatrix/internal/mdtext"
)

// splitRemovals separates the reports of removed targets from those of the
// targets at the head.
func splitRemovals(reports []Report) (current, removed []Report) {
	for _, r := range reports {
		if r.Removal != nil {
			removed = append(removed, r)
		} else {
			current = append(current, r)
		}
	}
	return current, removed
}

// removalCounts is the header's part on removed targets.
func removalCounts(removed []Report) string {
	if len(removed) == 0 {
		return ""
	}
	objects, failed := 0, 0
	for _, r := range removed {
		objects += len(r.Removal.Deletes)
		if r.Status == StatusError || r.Status == StatusSkipped {
			failed++
		}
	}
	s := fmt.Sprintf(" %d removed target(s): merging deletes %d object(s)", len(removed), objects)
	if failed > 0 {
		s += fmt.Sprintf(" (%d not known: see below)", failed)
	}
	return s + "."
}

// removalOutcome is one removed target's cell: what merging does to it.
func removalOutcome(r Report) string {
	rm := r.Removal
	switch {
	case r.Status == StatusError:
		return statusIcon[StatusError] + " error: the list of deletions failed (below)"
	case r.Status == StatusSkipped:
		return statusIcon[StatusSkipped] + " unknown: its job left no list of deletions"
	case !rm.Pruned:
		return "kept: pruning is not enabled for it, nothing is deleted"
	}
	var s string
	switch {
	case len(rm.Deletes) == 0:
		s = "nothing deleted"
	case rm.Source == SourceRendering:
		s = fmt.Sprintf("🗑️ deletes at most %d object(s): from the rendering at the base (the cluster was not read); only those carrying the target's ApplySet label", len(rm.Deletes))
	default:
		s = fmt.Sprintf("🗑️ deletes %d object(s), listed in the cluster", len(rm.Deletes))
	}
	if len(rm.Kept) > 0 {
		s += fmt.Sprintf("; keeps %d that a target at the head renders", len(rm.Kept))
	}
	if rm.Note != "" {
		s += " (" + mdtext.Text(rm.Note) + ")"
	}
	return s
}

// removalTable lists the removed targets and what merging deletes of each,
// in at most budget bytes (the last rows give way to "…and N more").
func removalTable(removed []Report, budget int) string {
	if len(removed) == 0 {
		return ""
	}
	const head = "**Removed targets** (what merging this change deletes):\n\n| removed target | on merge |\n|---|---|\n"
	more := func(n int) string { return fmt.Sprintf("| …and %d more removed target(s) | |\n", n) }
	if len(head)+len(more(len(removed)))+1 > budget {
		return fits(fmt.Sprintf("%d removed target(s): too many to list here; the workflow run has every deletion.\n\n", len(removed)), budget)
	}
	return mdtext.Table(head, len(removed), func(i int) string {
		r := removed[i]
		return fmt.Sprintf("| %s / %s (%s) | %s |\n", cellCode(r.Service), cellCode(r.Environment), cellCode(r.Path), removalOutcome(r))
	}, more, budget)
}

// removalItems are the lists of deletions (or the errors) of the removed
// targets, as collapsible blocks fitted like the diffs.
func removalItems(removed []Report, runURL string) []*diffItem {
	var items []*diffItem
	for _, r := range removed {
		text := r.Diff
		if r.Status != StatusError {
			text = removalText(r.Removal)
		}
		if text == "" {
			continue
		}
		c := r
		c.Diff = text
		it := newDiffItem(c, runURL)
		what := "deletions"
		if r.Status == StatusError {
			what = "error"
		}
		it.open = fmt.Sprintf("<details><summary>%s <code>%s</code> / <code>%s</code>: removed, %s (<code>%s</code>)</summary>\n\n%s\n",
			statusIcon[r.Status], mdtext.HTML(r.Service), mdtext.HTML(r.Environment), what, mdtext.HTML(r.Path),
			strings.TrimSuffix(it.close, "\n\n</details>\n\n")+"text")
		items = append(items, it)
	}
	return items
}

// removalText is the plain-text list of a removal.
func removalText(rm *Removal) string {
	var b strings.Builder
	if len(rm.Deletes) > 0 {
		if rm.Source == SourceRendering {
			b.WriteString("Deleted on merge, if they carry the target's ApplySet label (rendered at the base; the cluster was not read):\n")
		} else {
			b.WriteString("Deleted on merge (members of the target's ApplySet, listed in the cluster):\n")
		}
		for _, id := range rm.Deletes {
			b.WriteString("  " + id + "\n")
		}
	}
	if len(rm.Kept) > 0 {
		b.WriteString("Kept: a target at the head renders them:\n")
		for _, k := range rm.Kept {
			b.WriteString("  " + k.ID + "  (" + k.RenderedBy + ")\n")
		}
	}
	return b.String()
}
