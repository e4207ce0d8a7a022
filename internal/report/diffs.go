package report

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/kustomatrix/kustomatrix/internal/mdtext"
)

// diffItem is one report's text as a collapsible block.
type diffItem struct {
	r           Report
	text        string // the diff, ending in a newline
	lines       int
	open, close string // the block around the text, without a truncation note
	noteMax     int    // the length of the longest note a cut can add
}

func newDiffItem(r Report, runURL string) *diffItem {
	// A fence longer than any run of backticks in the text: the text can
	// never close it (CommonMark), whatever it holds; and no invisible
	// character (a bidi override, a zero-width space) hides in it.
	text, fence := mdtext.Block(r.Diff)
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	lines := strings.Count(text, "\n")
	lang := "diff"
	if r.Status != StatusChanges {
		lang = "text"
	}
	return &diffItem{
		r:     r,
		text:  text,
		lines: lines,
		open: fmt.Sprintf("<details><summary>%s <code>%s</code> / <code>%s</code>: %s (<code>%s</code>)%s</summary>\n\n%s%s\n",
			statusIcon[r.Status], mdtext.HTML(r.Service), mdtext.HTML(r.Environment), r.Status, mdtext.HTML(r.Path), flagNote(r)+renderedNote(r), fence, lang),
		close:   fence + "\n\n</details>\n\n",
		noteMax: max(len(note(lines, lines, runURL)), len(note(0, lines, runURL))),
	}
}

// note says how much of a cut diff is shown, and where the rest is. shown
// counts whole lines; 0 means the cut fell inside the first line.
func note(shown, total int, runURL string) string {
	where := "the job log"
	if runURL != "" {
		where = "the [workflow run](" + runURL + ")"
	}
	what := fmt.Sprintf("Cut to %d of %d lines", shown, total)
	if shown == 0 {
		what = fmt.Sprintf("Cut inside line 1 of %d", total)
	}
	return fmt.Sprintf("*%s to stay within GitHub's comment size limit; %s has the whole diff.*\n\n", what, where)
}

// full is the length of the whole block.
func (it *diffItem) full() int { return len(it.open) + len(it.text) + len(it.close) }

// cutLen bounds the length of the block with the text cut to c bytes: a
// cut text may gain a newline, and the note's numbers are at most the
// total's.
func (it *diffItem) cutLen(c int) int {
	return len(it.open) + c + 1 + len(it.close) + it.noteMax
}

// render writes the block, cut to c bytes of text when that is shorter
// than the whole block.
func (it *diffItem) render(c int, runURL string) string {
	if it.full() <= it.cutLen(c) {
		return it.open + it.text + it.close
	}
	text, whole := cutText(it.text, c)
	fence, _ := strings.CutSuffix(it.close, "\n\n</details>\n\n")
	return it.open + text + fence + "\n\n" + note(whole, it.lines, runURL) + "</details>\n\n"
}

// cutText returns at most c bytes of s, plus a newline, and how many whole
// lines that is: whole lines when at least one fits, else a prefix of the
// first that never splits a UTF-8 sequence.
func cutText(s string, c int) (string, int) {
	if len(s) <= c {
		return s, strings.Count(s, "\n")
	}
	if i := strings.LastIndexByte(s[:c], '\n'); i >= 0 {
		return s[:i+1], strings.Count(s[:i+1], "\n")
	}
	for c > 0 && !utf8.RuneStart(s[c]) {
		c--
	}
	if c == 0 {
		return "", 0
	}
	return s[:c] + "\n", 0
}

// diffPlan is how the diffs fit: each is cut to cut bytes of text when
// that is shorter, and the omitted ones are left out.
type diffPlan struct {
	cut     int
	omitted map[*diffItem]bool
}

// fitDiffs fits the blocks into avail bytes. Cutting is fair: one cap for
// all, so small diffs stay whole and only the largest are cut, as little
// as possible. When that cap would be below minKept, the largest diffs are
// left out, one at a time, until the rest fit with a useful cap.
func fitDiffs(items []*diffItem, avail int) diffPlan {
	// Largest first; among equals, the last in the table first, so the
	// top of the comment stays whole.
	bySize := make([]*diffItem, len(items))
	for i := range items {
		bySize[i] = items[len(items)-1-i]
	}
	sort.SliceStable(bySize, func(i, j int) bool { return len(bySize[i].text) > len(bySize[j].text) })
	for k := 0; k <= len(bySize); k++ {
		if c, ok := capFor(bySize[k:], avail); ok {
			omitted := map[*diffItem]bool{}
			for _, it := range bySize[:k] {
				omitted[it] = true
			}
			return diffPlan{cut: c, omitted: omitted}
		}
	}
	// Not reached: with every diff left out, nothing needs to fit.
	return diffPlan{omitted: map[*diffItem]bool{}}
}

// capFor finds the largest cap on the text of each block with which the
// blocks fit in avail bytes; ok is false when that cap is below minKept.
func capFor(items []*diffItem, avail int) (int, bool) {
	whole, longest := 0, 0
	for _, it := range items {
		whole += it.full()
		longest = max(longest, len(it.text))
	}
	if whole <= avail {
		return longest, true
	}
	cost := func(c int) int { // never decreases as c grows
		n := 0
		for _, it := range items {
			n += min(it.full(), it.cutLen(c))
		}
		return n
	}
	if cost(minKept) > avail {
		return 0, false
	}
	lo, hi := minKept, longest // cost(lo) fits, cost(hi) = whole does not
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if cost(mid) <= avail {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, true
}

// omittedNote says which diffs were left out, in at most max bytes: their
// names as long as they fit, then a count.
func omittedNote(items []*diffItem, omitted map[*diffItem]bool, runURL string, max int) string {
	var names []string
	for _, it := range items {
		if omitted[it] {
			names = append(names, mdtext.Code(it.r.Service+"/"+it.r.Environment))
		}
	}
	where := "the job logs have them"
	if runURL != "" {
		where = "the [workflow run](" + runURL + ") has them"
	}
	build := func(shown int) string {
		list := strings.Join(names[:shown], ", ")
		if rest := len(names) - shown; rest > 0 {
			if shown > 0 {
				list += ", "
			}
			list += fmt.Sprintf("%d more", rest)
		}
		return fmt.Sprintf("*Left out, largest first, to stay within GitHub's comment size limit: the diffs of %s; %s.*\n", list, where)
	}
	best := ""
	for shown := 0; shown <= len(names); shown++ {
		s := build(shown)
		if len(s) > max {
			break
		}
		best = s
	}
	if best != "" {
		return best
	}
	if s := fmt.Sprintf("*%d diff(s) left out.*\n", len(names)); len(s) <= max {
		return s
	}
	return ""
}
