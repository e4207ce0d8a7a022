package generator

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Symbolic links, followed as kustomize follows them: through the
// operating system, so that a kustomization reached through a link is
// the one in its real directory, and the load restrictor judges a file by
// its real path. The walk does not descend links (a link to a directory of
// roots would make them roots twice); it records them, with their targets,
// and the analyzer follows the paths references name through them.

// linkPath is a repository path with its symbolic links followed.
type linkPath struct {
	real  string   // the path followed, relative to the repository
	links []string // the links met on the way, in order, each once
	// problem, when set, is why there is no real path: KindCycle for a
	// loop of links, KindEscape for a link out of the repository,
	// KindMissing for a link fsys cannot follow (detail says why).
	problem, detail string
	outside         string // for KindEscape: where the path leads, if it exists
}

// maxLinks is how many links filepath.EvalSymlinks follows before it
// calls a path a loop.
const maxLinks = 255

// resolveLinks returns p with its symbolic links followed, and how they were
// followed: nil when p goes through no link (always, in a repository
// without links, at the cost of a length check).
func (a *analyzer) resolveLinks(p string) (string, *linkPath) {
	if len(a.links) == 0 || !a.throughLink(p) {
		return p, nil
	}
	a.mu.Lock()
	lp, ok := a.followed[p]
	a.mu.Unlock()
	if !ok {
		lp = a.follow(p)
		a.mu.Lock()
		a.followed[p] = lp
		a.mu.Unlock()
	}
	return lp.real, lp
}

// throughLink reports whether p or one of its parents is a link.
func (a *analyzer) throughLink(p string) bool {
	for i := 0; ; {
		j := strings.IndexByte(p[i:], '/')
		if j < 0 {
			_, ok := a.links[p]
			return ok
		}
		if _, ok := a.links[p[:i+j]]; ok {
			return true
		}
		i += j + 1
	}
}

// follow resolves p one element at a time, as filepath.EvalSymlinks does,
// with the targets the walk read: every link met is known, so that a
// change to any of them (the middle of a chain, say) is a change to the
// build. The directories it passes through are real ones, walked, so
// a.links knows every link among them; a path that leaves the repository
// is left to fsys.CleanedAbs, since it may come back in.
func (a *analyzer) follow(p string) *linkPath {
	lp := &linkPath{}
	dest, rest := ".", p
	for hops := 0; rest != ""; {
		var c string
		c, rest, _ = strings.Cut(rest, "/")
		switch {
		case c == "" || c == ".":
			continue
		case c == ".." && dest == ".":
			if !a.reenter(lp, filepath.Dir(a.dir), &dest, &rest) {
				return lp
			}
			continue
		case c == "..":
			dest = path.Dir(dest)
			continue
		}
		next := joinRel(dest, c)
		target, isLink := a.links[next]
		if !isLink {
			dest = next
			continue
		}
		if hops++; hops > maxLinks {
			lp.problem = KindCycle
			return lp
		}
		if !slices.Contains(lp.links, next) {
			lp.links = append(lp.links, next)
		}
		switch {
		case target == "":
			// fsys cannot say where the link points: where it leads, then.
			d, f, err := a.fsys.CleanedAbs(filepath.Join(a.dir, filepath.FromSlash(next)))
			if err != nil {
				lp.problem, lp.detail = KindMissing, err.Error()
				return lp
			}
			if !a.reenter(lp, d.Join(f), &dest, &rest) {
				return lp
			}
		case filepath.IsAbs(target):
			if !a.reenter(lp, filepath.Clean(target), &dest, &rest) {
				return lp
			}
		default:
			// Not path.Join: "link/.." is not "." when link is a link.
			rest = filepath.ToSlash(target) + "/" + rest // from dest, the link's directory
		}
	}
	lp.real = dest
	return lp
}

// reenter goes on following at an absolute path, the rest still to
// follow from it: from the top of the repository if the path is in it;
// else the operating system follows all of it (fsys.CleanedAbs), and it
// counts if it ends in the repository. It reports whether follow goes on.
func (a *analyzer) reenter(lp *linkPath, abs string, dest, rest *string) bool {
	if rel, ok := a.repoRel(abs); ok {
		*dest, *rest = ".", rel+"/"+*rest
		return true
	}
	if d, f, err := a.fsys.CleanedAbs(filepath.Join(abs, filepath.FromSlash(*rest))); err == nil {
		if rel, ok := a.repoRel(d.Join(f)); ok {
			*dest, *rest = rel, ""
			return true
		}
		lp.outside = d.Join(f)
	}
	lp.problem = KindEscape
	return false
}

// repoRel returns abs relative to the repository, slash-separated, if it
// is in it: below dir as given or as its own links resolve.
func (a *analyzer) repoRel(abs string) (string, bool) {
	a.realOnce.Do(func() {
		a.realRoot = a.dir
		if d, f, err := a.fsys.CleanedAbs(a.dir); err == nil {
			a.realRoot = d.Join(f)
		}
	})
	for _, root := range []string{a.dir, a.realRoot} {
		rel, err := filepath.Rel(root, abs)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return filepath.ToSlash(rel), true
		}
	}
	return "", false
}

// addLinks adds the links a path goes through to a closure: changing one
// changes what the build reads.
func addLinks(set inputSet, lp *linkPath) {
	for _, l := range lp.links {
		set[l] = set[l] || false
	}
}

// reportLinkProblem says why a reference's links cannot be followed.
func (a *analyzer) reportLinkProblem(at refAt, lp *linkPath) {
	r := at.r
	switch {
	case lp.problem == KindEscape && a.rootOnly && r.Kind != refDir && lp.outside != "" && !a.fsys.IsDir(lp.outside):
		// A file, not a kustomization directory: kustomize refuses it.
		a.reportAt(at, KindLoadRestrictor, "%s %q is a symbolic link to %q, outside %q; kustomize's load restrictor rootOnly rejects it (set kustomize.loadRestrictor: none to allow it)", r.Field, r.Value, lp.outside, at.k.Dir)
	case lp.problem == KindCycle:
		a.reportAt(at, KindCycle, "%s %q goes round a loop of symbolic links from %q", r.Field, r.Value, lp.links[0])
	case lp.problem == KindEscape:
		a.reportAt(at, KindEscape, "%s %q leaves the repository through the symbolic link %q: only a change git records (in the git repository around a manifest repository in a subdirectory) marks this target", r.Field, r.Value, lp.links[len(lp.links)-1])
	default:
		a.reportAt(at, KindMissing, "%s %q cannot be followed through the symbolic link %q: %s", r.Field, r.Value, lp.links[0], lp.detail)
	}
}

// addFileLink adds to a closure the file a linked kustomization file
// leads to. kustomize reads its kustomization file through the load
// restrictor: under rootOnly, a link to a file outside the directory is
// as good as no kustomization file.
func (a *analyzer) addFileLink(k *kustomization, set inputSet) {
	if _, ok := a.links[k.File]; !ok {
		return
	}
	rp, lp := a.resolveLinks(k.File)
	addLinks(set, lp)
	to := rp
	switch {
	case lp.problem == KindEscape && !a.rootOnly:
		a.report(Diagnostic{Path: k.File, Kind: KindEscape, Message: "kustomization file is a symbolic link out of the repository: its changes cannot be tracked"})
		return
	case lp.problem == KindEscape:
		to = lp.outside
	case lp.problem != "":
		return // it was read all the same: the file system changed since
	default:
		set[rp] = set[rp] || false
	}
	if a.rootOnly && !within(k.Dir, to) {
		a.report(Diagnostic{Path: k.File, Kind: KindLoadRestrictor,
			Message: fmt.Sprintf("kustomization file is a symbolic link to %q, outside %q; kustomize's load restrictor rootOnly rejects it and finds no kustomization here (set kustomize.loadRestrictor: none to allow it)", to, k.Dir)})
	}
}

// danglingKustomizations reports the links named like a kustomization
// file that lead nowhere, in visible directories that hold no
// kustomization: kustomize finds none there, and neither does the scan.
func (a *analyzer) danglingKustomizations() []Diagnostic {
	var out []Diagnostic
	for l := range a.links {
		dir, name := path.Split(l)
		dir = strings.TrimSuffix(dir, "/")
		if dir == "" {
			dir = "."
		}
		if !slices.Contains(kustomizationFileNames, name) || a.kusts[dir] != nil || isHidden(l) {
			continue
		}
		rp, lp := a.resolveLinks(l)
		switch {
		case lp.problem == KindCycle:
			out = append(out, Diagnostic{Path: l, Kind: KindCycle, Message: fmt.Sprintf("kustomization file goes round a loop of symbolic links; kustomize finds no kustomization in %q", dir)})
		case lp.problem != "" || a.stat(rp) == pathMissing:
			out = append(out, Diagnostic{Path: l, Kind: KindMissing, Message: fmt.Sprintf("kustomization file is a dangling symbolic link; kustomize finds no kustomization in %q", dir)})
		}
	}
	return out
}

// linkedRoots reports directory links that lead to a root: no
// kustomization references them (else the root would not be one), so a
// tool that builds every kustomization directory, Flux or kubectl
// kustomize, would build the link as a root of its own, under its own name
// (clusters/staging -> production). The walk does not follow directory
// links, so the link is no target here; that is said, never left quiet.
func (a *analyzer) linkedRoots(roots []string) []Diagnostic {
	isRoot := map[string]bool{}
	for _, r := range roots {
		isRoot[r] = true
	}
	var out []Diagnostic
	for l := range a.links {
		if isHidden(l) {
			continue
		}
		rp, lp := a.resolveLinks(l)
		if lp != nil && lp.problem != "" || !isRoot[rp] {
			continue
		}
		out = append(out, Diagnostic{Path: l, Kind: KindSymlink, Message: fmt.Sprintf(
			"symbolic link to the root %q, which is not a target of its own: kustomatrix does not follow directory links to find roots; give %q a kustomization.yaml with resources: [%s] to deploy it under its own name", rp, l, relPath(l, rp))})
	}
	slices.SortFunc(out, func(x, y Diagnostic) int { return strings.Compare(x.Path, y.Path) })
	return out
}

// relPath is the slash path from directory from to to.
func relPath(from, to string) string {
	r, err := filepath.Rel(filepath.FromSlash(path.Join("/", from)), filepath.FromSlash(path.Join("/", to)))
	if err != nil {
		return to
	}
	return filepath.ToSlash(r)
}
