package replay

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// CommitResult is the truth and kustomatrix's answers for one commit.
type CommitResult struct {
	Commit  string `json:"commit"`
	Parent  string `json:"parent"`
	Subject string `json:"subject"`
	// Changed are roots at both ends whose output differs, or that build
	// at one end only.
	Changed []string `json:"changed"`
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	// Unknown are roots at both ends that fail to build at both: their
	// output cannot be compared, and they count for neither recall nor
	// precision.
	Unknown []string `json:"unknown,omitempty"`
	// OneSide are the Changed roots that build at one end only, with why.
	OneSide map[string]string `json:"buildsAtOneEndOnly,omitempty"`

	Static *Answer `json:"static"`
	Render *Answer `json:"render"`

	Misses []Miss `json:"misses,omitempty"`
	// Extra are the targets static affected planned beyond the truth
	// (unknown excluded), each with the reason it costs precision.
	Extra map[string]string `json:"extra,omitempty"`
	// RenderMissing and RenderExtra compare --render with the truth among
	// the roots that build at both ends (or at the one end they exist).
	RenderMissing []string `json:"renderMissing,omitempty"`
	RenderExtra   []string `json:"renderExtra,omitempty"`

	Builds  int     `json:"builds"`
	Reused  int     `json:"reused"`
	Seconds float64 `json:"seconds"` // the whole commit: checkouts, builds, both kustomatrix runs
	// StaticSeconds and RenderSeconds are the wall time of the two
	// kustomatrix runs.
	StaticSeconds float64 `json:"staticSeconds"`
	RenderSeconds float64 `json:"renderSeconds"`

	truth, affected map[string]bool
}

// Miss is a target whose output changed (or that appeared or disappeared)
// and that static affected did not plan: a missed deploy.
type Miss struct {
	Commit  string `json:"commit"`
	Subject string `json:"subject"`
	Target  string `json:"target"`
	Kind    string `json:"kind"`
	Why     string `json:"why,omitempty"`
}

// Kinds of misses.
const (
	MissBecameRoot  = "role: became a root (a reference to it went away)"
	MissStoppedRoot = "role: stopped being a root (now referenced)"
	MissAdded       = "new root directory"
	MissDeleted     = "root deleted"
	MissNotTarget   = "output changed: not a kustomatrix target"
	MissClosure     = "output changed: closure missed the change"
	MissFailed      = "kustomatrix failed"
)

// score computes the truth of one commit from its two sides, asks the
// binary under test, and compares.
func (r *runner) score(ctx context.Context, c commit, ps, cs *side) *CommitResult {
	res := &CommitResult{Commit: c.Hash, Parent: c.Parent, Subject: c.Subject, Builds: cs.builds,
		Reused: len(cs.results) - cs.builds, OneSide: map[string]string{}, Extra: map[string]string{}}
	res.truthOf(ps, cs)
	dir := r.wts[cs.wt]
	if r.o.InParent {
		dir = r.wts[ps.wt]
	}
	t0 := time.Now()
	res.Static = r.kmx.affected(ctx, dir, c.Parent, c.Hash, "--scan")
	res.StaticSeconds = time.Since(t0).Seconds()
	if r.o.RenderAll || len(res.truth) > 0 || res.Static.Err != "" || len(res.Static.paths()) > 0 {
		t0 = time.Now()
		res.Render = r.kmx.affected(ctx, dir, c.Parent, c.Hash, "--render")
		res.RenderSeconds = time.Since(t0).Seconds()
	} else {
		res.Render = &Answer{Skipped: true, Targets: []string{}, Removed: []string{}}
	}
	changed, _ := diffNames(ctx, r.git, c.Parent, c.Hash)
	res.affected = map[string]bool{}
	if res.Static.Err == "" {
		res.affected = res.Static.paths()
	}
	r.misses(ctx, res, ps, cs, changed)
	res.extras(ps, cs, changed)
	res.compareRender(ps, cs)
	return res
}

// truthOf compares the two sides: roots added, removed, and at both ends
// with a different output (or building at one end only).
func (res *CommitResult) truthOf(ps, cs *side) {
	res.truth = map[string]bool{}
	before, after := setOf(ps.tree.Roots), setOf(cs.tree.Roots)
	for _, root := range cs.tree.Roots {
		if !before[root] {
			res.Added = append(res.Added, root)
			res.truth[root] = true
			continue
		}
		bp, bc := ps.results[root], cs.results[root]
		switch {
		case !bp.ok() && !bc.ok():
			res.Unknown = append(res.Unknown, root)
			continue
		case !bp.ok():
			res.OneSide[root] = "fails to build at the parent: " + bp.Err
		case !bc.ok():
			res.OneSide[root] = "fails to build at the commit: " + bc.Err
		case bp.Hash == bc.Hash:
			continue
		}
		res.Changed = append(res.Changed, root)
		res.truth[root] = true
	}
	for _, root := range ps.tree.Roots {
		if !after[root] {
			res.Removed = append(res.Removed, root)
			res.truth[root] = true
		}
	}
}

// misses lists the truth static affected did not plan, each with its kind.
func (r *runner) misses(ctx context.Context, res *CommitResult, ps, cs *side, changed []string) {
	var known map[string]bool // kustomatrix's own targets at the commit, asked only when needed
	for _, t := range sortedKeys(res.truth) {
		if res.affected[t] {
			continue
		}
		m := Miss{Commit: res.Commit, Subject: res.Subject, Target: t}
		_, atParent := ps.tree.Kusts[t]
		_, atCommit := cs.tree.Kusts[t]
		switch {
		case res.Static.Err != "":
			m.Kind, m.Why = MissFailed, res.Static.Err
		case slices.Contains(res.Added, t) && atParent:
			m.Kind = MissBecameRoot
		case slices.Contains(res.Added, t):
			m.Kind = MissAdded
		case slices.Contains(res.Removed, t) && atCommit:
			m.Kind = MissStoppedRoot
		case slices.Contains(res.Removed, t):
			m.Kind = MissDeleted
		default:
			if known == nil {
				var err error
				if known, err = r.kmx.listTargets(ctx, r.wts[cs.wt]); err != nil {
					known = map[string]bool{}
				}
			}
			m.Kind, m.Why = MissClosure, explain(ps, cs, t, changed)
			if !known[t] {
				m.Kind = MissNotTarget
			}
			if why, ok := res.OneSide[t]; ok {
				m.Why = why + "; " + m.Why
			}
		}
		res.Misses = append(res.Misses, m)
	}
}

// explain names the changed files the root's builds read, with what is
// special about them (a symlink, a name with ": ", a submodule).
func explain(ps, cs *side, root string, changed []string) string {
	seen := map[string]bool{}
	var parts []string
	for _, s := range []*side{ps, cs} {
		b := s.results[root]
		if b == nil {
			continue
		}
		for _, f := range b.Reads.touchedBy(changed) {
			if seen[f] {
				continue
			}
			seen[f] = true
			parts = append(parts, fmt.Sprintf("%q%s", f, tags(ps, cs, b.Reads, f)))
		}
	}
	if len(parts) == 0 {
		return "no changed file among the paths the builds read"
	}
	if len(parts) > 5 {
		parts = append(parts[:5], fmt.Sprintf("and %d more", len(parts)-5))
	}
	return "changed inputs: " + strings.Join(parts, ", ")
}

func tags(ps, cs *side, reads *readSet, f string) string {
	var t []string
	if via, ok := reads.Via[f]; ok {
		t = append(t, fmt.Sprintf("read through the symlink %q", via))
	}
	for _, s := range []*side{ps, cs} {
		p := filepath.Join(s.tree.Top, filepath.FromSlash(f))
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			t = append(t, "a symlink")
			break
		}
		if _, err := os.Lstat(filepath.Join(p, ".git")); err == nil {
			t = append(t, "a submodule")
			break
		}
	}
	if strings.Contains(f, ": ") {
		t = append(t, `a name with ": "`)
	}
	if len(t) == 0 {
		return ""
	}
	return " (" + strings.Join(t, ", ") + ")"
}

// extras explains each target static affected planned beyond the truth.
func (res *CommitResult) extras(ps, cs *side, changed []string) {
	unknown := setOf(res.Unknown)
	for t := range res.affected {
		if res.truth[t] || unknown[t] {
			continue
		}
		_, inP := ps.results[t]
		_, inC := cs.results[t]
		switch {
		case !inP && !inC && slices.Contains(res.Static.Removed, t):
			res.Extra[t] = "listed as removed, but not a root at the parent (a guess)"
		case !inP && !inC:
			res.Extra[t] = "not a root by the replay's finder at either end"
		case res.Static.All:
			res.Extra[t] = "all: " + res.Static.Reason
		case readAny(ps, cs, t, changed):
			res.Extra[t] = "inputs changed, output the same (only --render can drop it)"
		default:
			res.Extra[t] = "no changed file is read by its build (closure wider than the build)"
		}
	}
}

func readAny(ps, cs *side, root string, changed []string) bool {
	for _, s := range []*side{ps, cs} {
		if b := s.results[root]; b != nil && len(b.Reads.touchedBy(changed)) > 0 {
			return true
		}
	}
	return false
}

// compareRender compares --render with the truth over the roots added,
// the roots removed, and the roots at both ends that build at both: a root
// that fails to build at one end is changed, but what --render should make
// of it (run it, with the reason) is not a render difference.
func (res *CommitResult) compareRender(ps, cs *side) {
	got := map[string]bool{}
	if res.Render.Err == "" {
		got = res.Render.paths()
	}
	comparable := map[string]bool{}
	for _, s := range []*side{ps, cs} {
		for _, root := range s.tree.Roots {
			comparable[root] = true
		}
	}
	for _, root := range ps.tree.Roots {
		if b := cs.results[root]; b != nil && !(b.ok() && ps.results[root].ok()) {
			delete(comparable, root)
		}
	}
	for _, root := range sortedKeys(comparable) {
		switch {
		case res.truth[root] && !got[root]:
			res.RenderMissing = append(res.RenderMissing, root)
		case !res.truth[root] && got[root]:
			res.RenderExtra = append(res.RenderExtra, root)
		}
	}
}

// renderExact reports whether --render answered, and equalled the truth
// (or was not run: nothing to render, nothing changed).
func (res *CommitResult) renderExact() bool {
	return res.Render.Err == "" && len(res.RenderMissing) == 0 && len(res.RenderExtra) == 0
}

func (res *CommitResult) summary() string {
	s := fmt.Sprintf("truth %d, static %d (%d missed), render %s, built %d reused %d, %.1fs: %s",
		len(res.truth), len(res.affected), len(res.Misses), renderWord(res), res.Builds, res.Reused, res.Seconds, res.Subject)
	if res.Static.All {
		s += " [all: " + res.Static.Reason + "]"
	}
	return s
}

func renderWord(res *CommitResult) string {
	switch {
	case res.Render.Err != "":
		return "failed"
	case res.Render.Skipped:
		return "not run"
	case res.renderExact():
		return "exact"
	}
	return fmt.Sprintf("differs (-%d +%d)", len(res.RenderMissing), len(res.RenderExtra))
}

func setOf(l []string) map[string]bool {
	m := make(map[string]bool, len(l))
	for _, s := range l {
		m[s] = true
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
