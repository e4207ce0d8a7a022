package replay

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the result of a replay over one repository.
type Report struct {
	Repo string `json:"repo"`
	Kmx  string `json:"kmx"`
	Rev  string `json:"rev"`
	// From is the parent of the oldest commit replayed, To the newest:
	// the replayed range is From..To (first parent).
	From    string `json:"from"`
	To      string `json:"to"`
	Commits int    `json:"commits"`

	Truth     int     `json:"truthTargets"`    // Σ over commits of |changed ∪ added ∪ removed|
	Hits      int     `json:"hits"`            // Σ |truth ∩ static affected|
	Affected  int     `json:"affectedTargets"` // Σ |static affected \ unknown|
	Recall    float64 `json:"staticRecall"`
	Precision float64 `json:"staticPrecision"`

	AllTrue          int            `json:"allTrue"` // commits static affected answered all: true
	AllReasons       map[string]int `json:"allReasons,omitempty"`
	StaticErrors     int            `json:"staticErrors"`
	RenderErrors     int            `json:"renderErrors"`
	RenderRuns       int            `json:"renderRuns"`       // commits --render ran on (see Options.RenderAll)
	RenderMismatches int            `json:"renderMismatches"` // commits where --render ≠ truth (errors included)
	Unknown          int            `json:"unknown"`          // Σ roots failing at both ends
	OneSide          int            `json:"buildsAtOneEndOnly"`

	Builds        int     `json:"builds"`
	Reused        int     `json:"reused"`
	Seconds       float64 `json:"seconds"`
	StaticSeconds float64 `json:"staticSeconds"` // Σ wall time of affected --scan
	RenderSeconds float64 `json:"renderSeconds"` // Σ wall time of affected --render

	MissKinds   map[string]int `json:"missKinds,omitempty"`
	ExtraKinds  map[string]int `json:"extraKinds,omitempty"` // why static affected planned more than the truth
	Misses      []Miss         `json:"misses"`
	RenderDiffs []RenderDiff   `json:"renderDiffs"`
	Notes       []string       `json:"notes,omitempty"` // where the replay's finder may legitimately disagree
	// BuildFailures counts, per first line of the error, the roots that
	// failed to build (each root once per commit range), so a repository
	// that mostly does not build offline shows.
	BuildFailures map[string]int `json:"buildFailures,omitempty"`
	// Skipped are the commits that could not be checked out, with why.
	Skipped []string        `json:"skipped,omitempty"`
	Results []*CommitResult `json:"results"`

	notes, failed map[string]bool
}

// RenderDiff is a commit where affected --render did not equal the truth.
type RenderDiff struct {
	Commit  string   `json:"commit"`
	Subject string   `json:"subject"`
	Missing []string `json:"missing,omitempty"` // changed, but --render dropped or never planned it
	Extra   []string `json:"extra,omitempty"`   // planned by --render, output the same
	Err     string   `json:"error,omitempty"`
}

func newReport(o Options, commits []commit) *Report {
	return &Report{Repo: o.Repo, Kmx: o.Kmx, Rev: o.Rev, From: commits[0].Parent, To: commits[len(commits)-1].Hash,
		AllReasons: map[string]int{}, MissKinds: map[string]int{}, ExtraKinds: map[string]int{},
		BuildFailures: map[string]int{}, Misses: []Miss{}, RenderDiffs: []RenderDiff{},
		notes: map[string]bool{}, failed: map[string]bool{}}
}

func (rep *Report) add(res *CommitResult, ps, cs *side) {
	rep.Commits++
	rep.Results = append(rep.Results, res)
	rep.Truth += len(res.truth)
	unknown := setOf(res.Unknown)
	for t := range res.affected {
		if !unknown[t] {
			rep.Affected++
		}
		if res.truth[t] {
			rep.Hits++
		}
	}
	if res.Static.All {
		rep.AllTrue++
		rep.AllReasons[res.Static.Reason]++
	}
	if res.Static.Err != "" {
		rep.StaticErrors++
	}
	if res.Render.Err != "" {
		rep.RenderErrors++
	}
	if !res.Render.Skipped {
		rep.RenderRuns++
	}
	rep.StaticSeconds += res.StaticSeconds
	rep.RenderSeconds += res.RenderSeconds
	if !res.renderExact() {
		rep.RenderMismatches++
		rep.RenderDiffs = append(rep.RenderDiffs, RenderDiff{Commit: res.Commit, Subject: res.Subject,
			Missing: res.RenderMissing, Extra: res.RenderExtra, Err: res.Render.Err})
	}
	rep.Unknown += len(res.Unknown)
	rep.OneSide += len(res.OneSide)
	rep.Builds += res.Builds
	rep.Reused += res.Reused
	rep.Misses = append(rep.Misses, res.Misses...)
	for _, m := range res.Misses {
		rep.MissKinds[m.Kind]++
	}
	for _, why := range res.Extra {
		if strings.HasPrefix(why, "all: ") {
			why = "all: true"
		}
		rep.ExtraKinds[why]++
	}
	for _, s := range []*side{ps, cs} {
		for _, n := range s.tree.Notes {
			rep.notes[n] = true
		}
		for root, b := range s.results {
			if !b.ok() && !rep.failed[root+"\x00"+b.Err] {
				rep.failed[root+"\x00"+b.Err] = true
				rep.BuildFailures[failureKind(b)]++
			}
		}
	}
}

// failureKind groups build errors: the end of the message, where
// kustomize says what is wrong after the paths that say where.
func failureKind(b *buildResult) string {
	if b.Remote {
		return "needs a remote resource (not fetched)"
	}
	msg := b.Err
	if i := strings.LastIndex(msg, ": "); i >= 0 && len(msg)-i > 20 && len(msg)-i < 120 {
		msg = msg[i+2:]
	}
	if len(msg) > 120 {
		msg = "…" + msg[len(msg)-120:]
	}
	return msg
}

func (rep *Report) finish(d time.Duration) {
	rep.Seconds = d.Seconds()
	rep.Recall, rep.Precision = ratio(rep.Hits, rep.Truth), ratio(rep.Hits, rep.Affected)
	rep.Notes = sortedKeys(rep.notes)
	if len(rep.Notes) > 20 {
		rep.Notes = append(rep.Notes[:20], fmt.Sprintf("and %d more", len(rep.notes)-20))
	}
}

// ratio is n/d, and 1 when there is nothing to count.
func ratio(n, d int) float64 {
	if d == 0 {
		return 1
	}
	return float64(n) / float64(d)
}

// WriteTable writes one row per report, then each report's misses grouped
// by kind, its --render differences and why static affected planned more
// than the truth. At most limit lines are listed per group (0: all).
func WriteTable(w io.Writer, limit int, reps ...*Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REPO\tRANGE\tCOMMITS\tTRUTH\tRECALL\tPRECISION\tALL:TRUE\tUNKNOWN\t--RENDER≠TRUTH\tERRORS (static/render)\tBUILDS/REUSED\tTIME (total/static/render)")
	for _, r := range reps {
		fmt.Fprintf(tw, "%s\t%.10s..%.10s\t%d\t%d\t%.3f (%d/%d)\t%.3f (%d/%d)\t%d\t%d\t%d of %d\t%d/%d\t%d/%d\t%.0fs/%.0fs/%.0fs\n",
			r.Repo, r.From, r.To, r.Commits, r.Truth, r.Recall, r.Hits, r.Truth, r.Precision, r.Hits, r.Affected,
			r.AllTrue, r.Unknown, r.RenderMismatches, r.RenderRuns, r.StaticErrors, r.RenderErrors, r.Builds, r.Reused,
			r.Seconds, r.StaticSeconds, r.RenderSeconds)
	}
	tw.Flush()
	for _, r := range reps {
		r.writeDetails(w, limit)
	}
}

func (r *Report) writeDetails(w io.Writer, limit int) {
	fmt.Fprintf(w, "\n== %s\n", r.Repo)
	byKind := map[string][]Miss{}
	for _, m := range r.Misses {
		byKind[m.Kind] = append(byKind[m.Kind], m)
	}
	for _, kind := range sortedKeys(byKind) {
		fmt.Fprintf(w, "missed: %s: %d\n", kind, len(byKind[kind]))
		for i, m := range byKind[kind] {
			if limit > 0 && i == limit {
				fmt.Fprintf(w, "    … %d more\n", len(byKind[kind])-limit)
				break
			}
			fmt.Fprintf(w, "    %.10s %q %s", m.Commit, m.Subject, m.Target)
			if m.Why != "" {
				fmt.Fprintf(w, " — %s", m.Why)
			}
			fmt.Fprintln(w)
		}
	}
	writeCounts(w, "all: true", r.AllReasons)
	writeCounts(w, "static affected beyond the truth (targets)", r.ExtraKinds)
	writeCounts(w, "roots that fail to build offline (distinct root and error)", r.BuildFailures)
	r.writeRenderDiffs(w, limit)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "skipped (cannot be checked out): %s\n", s)
	}
}

// writeRenderDiffs lists the commits where --render was wrong, and counts
// those where it failed by error message (one message usually fails every
// commit of a repository).
func (r *Report) writeRenderDiffs(w io.Writer, limit int) {
	failed := map[string]int{}
	var wrong []RenderDiff
	for _, d := range r.RenderDiffs {
		if d.Err != "" {
			failed[d.Err]++
		} else {
			wrong = append(wrong, d)
		}
	}
	if len(wrong) > 0 {
		fmt.Fprintf(w, "--render answered ≠ truth: %d commit(s)\n", len(wrong))
	}
	for i, d := range wrong {
		if limit > 0 && i == limit {
			fmt.Fprintf(w, "    … %d more\n", len(wrong)-limit)
			break
		}
		fmt.Fprintf(w, "    %.10s %q", d.Commit, d.Subject)
		if len(d.Missing) > 0 {
			fmt.Fprintf(w, " missing: %s", strings.Join(d.Missing, " "))
		}
		if len(d.Extra) > 0 {
			fmt.Fprintf(w, " extra: %s", strings.Join(d.Extra, " "))
		}
		fmt.Fprintln(w)
	}
	writeCounts(w, "--render failed (commits, by error)", failed)
}

func writeCounts(w io.Writer, title string, m map[string]int) {
	if len(m) == 0 {
		return
	}
	keys := sortedKeys(m)
	sort.SliceStable(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	fmt.Fprintf(w, "%s:\n", title)
	for _, k := range keys {
		fmt.Fprintf(w, "    %5d  %s\n", m[k], k)
	}
}
