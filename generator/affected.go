package generator

import (
	"bytes"
	"encoding/json"
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
	// Why says what made the target run (or, in Removed, why it is gone):
	// "added", "closure touched: <file>", "settings changed", ...
	Why string `json:"why,omitempty"`
}

// AffectedResult says which targets a change affects. Targets always lists
// every target that will run: all of them when All is true.
type AffectedResult struct {
	All     bool             `json:"all"`
	Reason  string           `json:"reason"`
	Targets []AffectedTarget `json:"targets"`
	Removed []AffectedTarget `json:"removed"`
	// Promoted are targets that appeared only because the kustomization
	// that included them at the base does not load at the head (a garbled
	// overlay): running them would deploy a bare base on its own. They are
	// not in Targets; the caller fails, naming them.
	Promoted []AffectedTarget `json:"promoted,omitempty"`
}

// ChangeSet is what Affected needs to know about a change between two
// commits (the base, which the cluster or the target branch holds, and the
// head).
type ChangeSet struct {
	// Files are the changed paths (both sides of a rename; deleted files
	// too), slash-separated and relative to the repository.
	Files []string
	// Everything, when set, is the reason every target is affected (the base
	// is unreachable, say); Files are then not consulted.
	Everything string
	// Base is the repository at the base commit, scanned with the
	// configuration committed there. Targets at both ends make added and
	// removed targets exact. Nil when there is no base commit (a --files
	// list): removed targets are then unknown, and the reason says so.
	Base *Repo
	// SharedExplained says the shared generated files (the deploy
	// workflows, the composite actions) are, at both ends, exactly what
	// Render writes for that end's configuration and targets (see
	// SharedFilesGenerated): a change to them then follows from changes
	// Affected compares itself (an environment's credentials, say), and is
	// not by itself a reason for every target to run.
	SharedExplained bool
}

// Affected maps a change to the targets it affects. A target at the head
// is affected when
//   - it was not a target at the base (a new directory, or one no longer
//     referenced by another kustomization);
//   - a changed file is in its closure at the head or at the base;
//   - what the pipeline does for it changed: its service or environment
//     name, its environment's settings (credentials, GitHub environment,
//     deployments), whether it is pruned.
//
// Every target is affected when a file every target's run shares changed
// (the deploy workflow, the composite actions, globalDependencies) or a
// configuration setting every target shares did. Removed lists the
// targets of the base that are not targets at the head. A broken root still
// counts: its closure covers its whole directory.
func Affected(head *Repo, cs ChangeSet) *AffectedResult {
	res := &AffectedResult{Targets: []AffectedTarget{}, Removed: removedTargets(head, cs.Base)}
	reason := cs.Everything
	if reason == "" {
		reason = globalChange(head, cs)
	}
	if reason != "" {
		res.All, res.Reason = true, reason
		for _, t := range head.Targets {
			res.Targets = append(res.Targets, AffectedTarget{Service: t.Service, Environment: t.Environment, Path: t.Path})
		}
		return res
	}
	var before map[string]*Target
	if cs.Base != nil {
		before = make(map[string]*Target, len(cs.Base.Targets))
		for _, t := range cs.Base.Targets {
			before[t.Path] = t
		}
	}
	ch := newChangeIndex(cs.Files)
	for _, t := range head.Targets {
		why := targetChange(head, cs.Base, t, before, ch)
		if why == "" {
			continue
		}
		at := AffectedTarget{Service: t.Service, Environment: t.Environment, Path: t.Path, Why: why}
		if why == "added" {
			if by := promotedBy(head, cs.Base, t); by != "" {
				at.Why = fmt.Sprintf("appeared only because %s, which includes it at the base, does not load at the head: fix %s", by, by)
				res.Promoted = append(res.Promoted, at)
				continue
			}
		}
		res.Targets = append(res.Targets, at)
	}
	res.Reason = fmt.Sprintf("%d changed file(s) affect %d of %d target(s)", len(cs.Files), len(res.Targets), len(head.Targets))
	if cs.Base == nil {
		res.Reason += "; removed targets are not known without a base commit"
	}
	return res
}

// promotedBy returns the base target that read t's kustomization and does
// not load at the head (a [yaml] diagnostic on its kustomization file), or
// "": t was a base of it, and is a root now only because its garbled text
// no longer names t.
func promotedBy(head, base *Repo, t *Target) string {
	if base == nil {
		return ""
	}
	var files []string
	for _, n := range kustomizationFileNames {
		files = append(files, path.Join(t.Path, n))
	}
	ch := newChangeIndex(files)
	broken := map[string]bool{}
	for _, d := range head.Diagnostics {
		if d.Kind == KindYAML && IsKustomizationFile(d.Path) {
			broken[path.Dir(d.Path)] = true
		}
	}
	fails := func(dir string) bool {
		return dir != t.Path && (broken[dir] || head.loads != nil && !head.loads(dir))
	}
	for _, b := range base.Targets {
		if b.Path == t.Path {
			continue
		}
		if _, ok := ch.touches(b.Inputs); !ok {
			continue
		}
		// b included t at the base: through its own kustomization, or a
		// base between them. One of those that does not load at the head
		// is why t is a root now.
		if fails(b.Path) {
			return b.Path
		}
		for _, in := range b.Inputs {
			if IsKustomizationFile(in) && fails(path.Dir(in)) {
				return path.Dir(in)
			}
		}
	}
	return ""
}

// targetChange says why one head target is affected, or "".
func targetChange(head, base *Repo, t *Target, before map[string]*Target, ch *changeIndex) string {
	var b *Target
	if base != nil {
		if b = before[t.Path]; b == nil {
			return "added"
		}
	}
	if f, ok := ch.touches(t.Inputs); ok {
		return "closure touched: " + f
	}
	if b == nil {
		return ""
	}
	if f, ok := ch.touches(b.Inputs); ok {
		return "closure at the base touched: " + f
	}
	if b.Service != t.Service || b.Environment != t.Environment {
		return fmt.Sprintf("renamed from service %q, environment %q", b.Service, b.Environment)
	}
	if targetSettings(base.Config, b) != targetSettings(head.Config, t) {
		return "pipeline settings changed"
	}
	return ""
}

// globalChange returns why a change affects every target, or "".
func globalChange(head *Repo, cs ChangeSet) string {
	configs := []*Config{head.Config}
	if cs.Base == nil {
		for _, f := range cs.Files {
			if f == ConfigFile {
				return ConfigFile + " changed, and without a base commit it cannot be compared"
			}
		}
	} else {
		configs = append(configs, cs.Base.Config)
		if a, b := sharedSettings(cs.Base.Config), sharedSettings(head.Config); a != b {
			return "a configuration setting every target shares changed in " + ConfigFile
		}
	}
	for _, c := range configs {
		globals := c.GlobalPaths()
		if cs.SharedExplained {
			globals = c.GlobalDependencies
		}
		for _, f := range cs.Files {
			for _, g := range globals {
				if ok, _ := doublestar.Match(g, f); ok {
					return fmt.Sprintf("global dependency changed: %s (matches %q)", f, g)
				}
			}
		}
	}
	return ""
}

// sharedSettings is the part of a configuration that decides how every
// target runs, as comparable text: all of it but the per-environment and
// per-target settings (compared target by target), discovery (which
// decides which targets there are, compared target by target) and what
// only the plan or the pull request comment reads.
func sharedSettings(c *Config) string {
	if c == nil {
		return ""
	}
	s := *c
	s.Environments, s.Prune, s.Discovery, s.Comment, s.Plan = nil, nil, Discovery{}, nil, Plan{}
	b, _ := json.Marshal(s)
	return string(b)
}

// targetSettings is what the pipeline does for one target beyond building
// it, as comparable text: its environment's settings (credentials, GitHub
// environment, deployments) and whether it is pruned.
func targetSettings(c *Config, t *Target) string {
	b, _ := json.Marshal(struct {
		Env   Environment
		Prune bool
	}{c.EnvironmentSettings(t.Environment), c.Prunes(t.Path)})
	return string(b)
}

// changeIndex holds a change so that a target's inputs are checked against
// it with a lookup each. The change is the small side: indexing it, rather
// than the inputs of every target (330,000 of them for 10,000 services),
// makes Affected cost one pass over the inputs.
type changeIndex struct {
	files map[string]string // the changed paths (and the names they stand for) -> the changed path
	// dirs are the directories whose "dir/**" input a changed path hits:
	// the path itself and its parents up to "." ("**") or "/".
	dirs  map[string]string // directory -> a changed path under it
	paths []string
}

func newChangeIndex(files []string) *changeIndex {
	ch := &changeIndex{files: make(map[string]string, len(files)), dirs: map[string]string{}, paths: files}
	for _, f := range files {
		ch.files[f] = f
		// kustomize refuses a directory with two kustomization files: a
		// second one added (or one of two removed) changes the build of
		// every target that reads the directory's kustomization, under
		// whichever name the closure has it.
		if IsKustomizationFile(f) {
			for _, n := range kustomizationFileNames {
				if alt := path.Join(path.Dir(f), n); ch.files[alt] == "" {
					ch.files[alt] = f
				}
			}
		}
		for d := f; ; d = path.Dir(d) {
			if _, ok := ch.dirs[d]; !ok {
				ch.dirs[d] = f
			}
			if d == "." || d == "/" {
				break
			}
		}
	}
	return ch
}

// touches returns a changed path among the inputs and true (globs of closureGlobs:
// exact paths, "dir/**", "**", and escaped literals), or false. A changed path
// also touches every input below it (and an exact input, every changed
// path below it): a submodule bump is one changed path
// (the gitlink) for every file inside it, and a file replaced by a
// directory (or the reverse) changes what is below the path.
func (ch *changeIndex) touches(inputs []string) (string, bool) {
	for _, in := range inputs {
		switch {
		case in == "**":
			if f, ok := ch.dirs["."]; ok {
				return f, true
			}
		case strings.Contains(in, `\`):
			for _, f := range ch.paths {
				if ok, _ := doublestar.Match(in, f); ok {
					return f, true
				}
				if ok, _ := doublestar.Match(in, f+"/**"); ok {
					return f, true
				}
			}
		case strings.HasSuffix(in, "/**"):
			d := strings.TrimSuffix(in, "/**")
			if f, ok := ch.dirs[d]; ok {
				return f, true
			}
			if f, ok := ch.above(d); ok {
				return f, true
			}
		default:
			if f, ok := ch.files[in]; ok {
				return f, true
			}
			// A path the closure names that is a directory of changed
			// paths: a referenced base that --files sees deleted file by
			// file (at the head the closure holds only the missing path).
			if f, ok := ch.dirs[in]; ok {
				return f, true
			}
			if f, ok := ch.above(in); ok {
				return f, true
			}
		}
	}
	return "", false
}

// above returns a changed path that is a parent directory of p, if any. It
// walks p's parents from the top and stops at the first that no changed
// path lies under, which for almost every input is the first.
func (ch *changeIndex) above(p string) (string, bool) {
	for i := strings.IndexByte(p, '/'); i > 0; i = nextSlash(p, i) {
		d := p[:i]
		if _, ok := ch.dirs[d]; !ok {
			return "", false
		}
		if f, ok := ch.files[d]; ok {
			return f, true
		}
	}
	return "", false
}

// nextSlash returns the index of the next '/' in p after i, or -1.
func nextSlash(p string, i int) int {
	if j := strings.IndexByte(p[i+1:], '/'); j >= 0 {
		return i + 1 + j
	}
	return -1
}

// removedTargets reports the targets of the base that the head no longer
// has: deleted, or now referenced by another kustomization. Without the
// base (no base commit) nothing is reported: it is never guessed.
func removedTargets(head, base *Repo) []AffectedTarget {
	out := []AffectedTarget{}
	if base == nil {
		return out
	}
	now := map[string]bool{}
	for _, t := range head.Targets {
		now[t.Path] = true
	}
	for _, t := range base.Targets {
		if now[t.Path] || head.cannotSee(t.Path) {
			// Still there, or not known to be gone (a directory the scan
			// could not read, reported as [unreadable]): never removed,
			// so never pruned.
			continue
		}
		why := "deleted"
		switch {
		case !head.hasKustomization(t.Path):
		case len(filterRoots([]string{t.Path}, head.Config.Discovery)) == 0:
			why = "excluded by discovery in " + ConfigFile
		default:
			why = "no longer a root (referenced by another kustomization, or a component)"
		}
		out = append(out, AffectedTarget{Service: t.Service, Environment: t.Environment, Path: t.Path, Why: why})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// cannotSee reports whether dir lies in a directory the scan could not
// read.
func (r *Repo) cannotSee(dir string) bool {
	for _, u := range r.unreadable {
		if dir == u || strings.HasPrefix(dir, u+"/") || u == "." {
			return true
		}
	}
	return false
}

func isKustomizationName(n string) bool {
	for _, k := range kustomizationFileNames {
		if n == k {
			return true
		}
	}
	return false
}

// SharedFilesGenerated reports whether the files every target's run shares
// (the deploy workflows and the composite actions) are, as read, exactly
// what Render writes for r: then a difference between two commits follows
// from their configurations and targets, not from an edit by hand or
// another version of kustomatrix. read returns a file's content at r's
// commit, and false when it is missing.
func SharedFilesGenerated(r *Repo, read func(path string) ([]byte, bool)) bool {
	files, err := Render(r)
	if err != nil {
		return false
	}
	want := map[string][]byte{}
	for _, f := range files {
		want[f.Path] = f.Content
	}
	for _, p := range append(r.Config.GeneratedPaths(), r.Config.chunkPath()) {
		if p == r.Config.PathsFile() || p == r.Config.workflowPath() {
			continue
		}
		got, ok := read(p)
		w, generated := want[p]
		if ok != generated || (ok && !bytes.Equal(got, w)) {
			return false
		}
	}
	return true
}
