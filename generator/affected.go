package generator

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// AffectedTarget names one target in the result of Affected.
type AffectedTarget struct {
	Service     string `json:"service"`
	Environment string `json:"environment"`
	Path        string `json:"path"`
}

// AffectedResult says which targets a change affects. Targets always lists
// every target that will run: all of them when All is true.
type AffectedResult struct {
	All     bool             `json:"all"`
	Reason  string           `json:"reason"`
	Targets []AffectedTarget `json:"targets"`
	Removed []AffectedTarget `json:"removed"`
}

// ChangeSet is what Affected needs to know about a change.
type ChangeSet struct {
	// Files are the changed paths (both sides of a rename; deleted files too).
	Files []string
	// Everything, when set, is the reason every target is affected (the base
	// is unreachable, say); Files are then not consulted.
	Everything string
	// BaseTargets are the targets at the base, when known (from the paths
	// file committed there); targets gone at the head are reported removed.
	BaseTargets []AffectedTarget
}

// Affected maps a change to the targets whose dependency closure it touches.
// A broken root still counts: its closure covers its whole directory.
func Affected(r *Repo, cs ChangeSet) *AffectedResult {
	res := &AffectedResult{Targets: []AffectedTarget{}, Removed: removedTargets(r, cs)}
	reason := cs.Everything
	if reason == "" {
		reason = globalChange(r.Config.GlobalPaths(), cs.Files)
	}
	if reason != "" {
		res.All, res.Reason = true, reason
		for _, t := range r.Targets {
			res.Targets = append(res.Targets, AffectedTarget{t.Service, t.Environment, t.Path})
		}
		return res
	}
	ch := newChangeIndex(cs.Files)
	for _, t := range r.Targets {
		if ch.touches(t.Inputs) {
			res.Targets = append(res.Targets, AffectedTarget{t.Service, t.Environment, t.Path})
		}
	}
	res.Reason = fmt.Sprintf("%d changed file(s) affect %d of %d target(s)", len(cs.Files), len(res.Targets), len(r.Targets))
	return res
}

// globalChange returns why a change affects everything, or "".
func globalChange(globals, files []string) string {
	for _, f := range files {
		for _, g := range globals {
			if ok, _ := doublestar.Match(g, f); ok {
				return fmt.Sprintf("global dependency changed: %s (matches %q)", f, g)
			}
		}
	}
	return ""
}

// changeIndex holds a change so that a target's inputs are checked against
// it with a lookup each. The change is the small side: indexing it, rather
// than the inputs of every target (330,000 of them for 10,000 services),
// makes Affected cost one pass over the inputs.
type changeIndex struct {
	files map[string]bool // the changed paths
	// dirs are the directories whose "dir/**" input a changed path hits:
	// the path itself and its parents up to "." ("**") or "/".
	dirs  map[string]bool
	paths []string
}

func newChangeIndex(files []string) *changeIndex {
	ch := &changeIndex{files: make(map[string]bool, len(files)), dirs: map[string]bool{}, paths: files}
	for _, f := range files {
		ch.files[f] = true
		for d := f; ; d = path.Dir(d) {
			ch.dirs[d] = true
			if d == "." || d == "/" {
				break
			}
		}
	}
	return ch
}

// touches reports whether a changed path is among the inputs (globs of
// closureGlobs: exact paths, "dir/**", "**", and escaped literals).
func (ch *changeIndex) touches(inputs []string) bool {
	for _, in := range inputs {
		switch {
		case in == "**":
			if ch.dirs["."] {
				return true
			}
		case strings.Contains(in, `\`):
			for _, f := range ch.paths {
				if ok, _ := doublestar.Match(in, f); ok {
					return true
				}
			}
		case strings.HasSuffix(in, "/**"):
			if ch.dirs[strings.TrimSuffix(in, "/**")] {
				return true
			}
		default:
			if ch.files[in] {
				return true
			}
		}
	}
	return false
}

// removedTargets reports targets of the base that the head no longer has.
// Without the base's target list it falls back to deleted kustomization
// files whose directory holds no target now.
func removedTargets(r *Repo, cs ChangeSet) []AffectedTarget {
	now := map[string]bool{}
	for _, t := range r.Targets {
		now[t.Path] = true
	}
	out := []AffectedTarget{}
	if cs.BaseTargets != nil {
		for _, t := range cs.BaseTargets {
			if !now[t.Path] {
				out = append(out, t)
			}
		}
	} else {
		for _, f := range cs.Files {
			base := path.Base(f)
			if !isKustomizationName(base) || now[path.Dir(f)] || r.hasKustomization(path.Dir(f)) {
				continue
			}
			np := splitName(path.Dir(f), nil)
			out = append(out, AffectedTarget{Service: np.candidates[len(np.candidates)-1], Environment: np.environment, Path: path.Dir(f)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func isKustomizationName(n string) bool {
	for _, k := range kustomizationFileNames {
		if n == k {
			return true
		}
	}
	return false
}
