package generator

import (
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// inputSet is a dependency closure: repository paths mapped to whether they
// are read as a whole directory.
type inputSet map[string]bool

// analyzer computes dependency closures over the parsed kustomizations.
// Closures of shared bases are memoised, so a base used by a thousand
// services is walked once.
type analyzer struct {
	fsys      filesys.FileSystem
	dir       string
	rootOnly  bool
	kusts     map[string]*kustomization
	mu        sync.Mutex
	memo      map[string]inputSet
	diags     map[Diagnostic]bool
	statCache map[string]pathKind
}

type pathKind int

const (
	pathMissing pathKind = iota
	pathFile
	pathDir
)

func newAnalyzer(fsys filesys.FileSystem, dir, restrictor string, kusts map[string]*kustomization) *analyzer {
	return &analyzer{fsys: fsys, dir: dir, rootOnly: restrictor != LoadRestrictorNone, kusts: kusts,
		memo: map[string]inputSet{}, diags: map[Diagnostic]bool{}, statCache: map[string]pathKind{}}
}

// roots returns the kustomization directories that no other kustomization
// references and that are neither components nor hidden, sorted. Only
// references that count are followed: those of visible kustomizations, and
// of hidden ones that visible ones use (a base kept in .shared/, say); a
// stray kustomization under .github references nothing.
func (a *analyzer) roots() []string {
	referenced := map[string]bool{}
	var queue []string
	for d := range a.kusts {
		if !isHidden(d) {
			queue = append(queue, d)
		}
	}
	visited := map[string]bool{}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if visited[d] {
			continue
		}
		visited[d] = true
		k := a.kusts[d]
		for _, r := range k.Refs {
			if r.Kind != refKustomization {
				continue
			}
			if p, ok := resolve(k.Dir, r.Value); ok && a.kusts[p] != nil && p != k.Dir {
				referenced[p] = true
				if isHidden(p) {
					queue = append(queue, p)
				}
			}
		}
	}
	var roots []string
	for d, k := range a.kusts {
		if !referenced[d] && !k.Component && !isHidden(d) {
			roots = append(roots, d)
		}
	}
	sort.Strings(roots)
	return roots
}

// isHidden reports whether a repository path is in a hidden directory.
func isHidden(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if strings.HasPrefix(seg, ".") && seg != "." && seg != ".." {
			return true
		}
	}
	return false
}

// resolve joins a reference to the directory of its kustomization. It
// reports false for references leaving the repository (including absolute
// paths), which cannot be tracked.
func resolve(dir, ref string) (string, bool) {
	if strings.HasPrefix(ref, "/") || filepath.IsAbs(ref) {
		return "", false
	}
	p := path.Join(dir, ref)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}

func (a *analyzer) stat(p string) pathKind {
	a.mu.Lock()
	k, ok := a.statCache[p]
	a.mu.Unlock()
	if ok {
		return k
	}
	full := filepath.Join(a.dir, filepath.FromSlash(p))
	switch {
	case a.fsys.IsDir(full):
		k = pathDir
	case a.fsys.Exists(full):
		k = pathFile
	default:
		k = pathMissing
	}
	a.mu.Lock()
	a.statCache[p] = k
	a.mu.Unlock()
	return k
}

func (a *analyzer) report(d Diagnostic) {
	a.mu.Lock()
	a.diags[d] = true
	a.mu.Unlock()
}

func (a *analyzer) diagnostics() []Diagnostic {
	out := make([]Diagnostic, 0, len(a.diags))
	for d := range a.diags {
		out = append(out, d)
	}
	return out
}

// closureGlobs returns the closure of a root as sorted doublestar globs.
func (a *analyzer) closureGlobs(root string) []string {
	set, _ := a.closure(root, map[string]bool{})
	globs := make([]string, 0, len(set))
	for p, dir := range set {
		if coveredByDir(set, p) {
			continue // a file inside a directory input adds nothing
		}
		g := escapeGlob(p)
		if dir {
			if p == "." {
				g = "**"
			} else {
				g += "/**"
			}
		}
		globs = append(globs, g)
	}
	sort.Strings(globs)
	return globs
}

// coveredByDir reports whether a parent directory of p is a whole-directory input.
func coveredByDir(set inputSet, p string) bool {
	if set["."] {
		return p != "."
	}
	for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
		if set[d] {
			return true
		}
	}
	return false
}

// closure returns every path the build of the kustomization in dir reads.
// stack holds the kustomizations being visited, to detect cycles; a closure
// that met a cycle is not memoised, since it is cut short.
func (a *analyzer) closure(dir string, stack map[string]bool) (inputSet, bool) {
	a.mu.Lock()
	memo, ok := a.memo[dir]
	a.mu.Unlock()
	if ok {
		return memo, false
	}
	set := inputSet{}
	k := a.kusts[dir]
	set[k.File] = false
	if k.Err != nil {
		set[dir] = true
	}
	stack[dir] = true
	defer delete(stack, dir)
	cyclic := false
	for _, r := range k.Refs {
		if a.addRef(k, r, set, stack) {
			cyclic = true
		}
	}
	if cyclic {
		return set, true
	}
	return a.remember(dir, set), false
}

func (a *analyzer) remember(dir string, set inputSet) inputSet {
	a.mu.Lock()
	a.memo[dir] = set
	a.mu.Unlock()
	return set
}

// addRef adds what one reference makes kustomize read, and reports whether
// it met a cycle.
func (a *analyzer) addRef(k *kustomization, r reference, set inputSet, stack map[string]bool) bool {
	at := Diagnostic{Path: k.File, Line: r.Line, Col: r.Col}
	p, ok := resolve(k.Dir, r.Value)
	if k.Err != nil {
		// A guessed reference of an unparsable kustomization: follow it only
		// when it names another kustomization, and say nothing.
		if !ok || a.kusts[p] == nil || p == k.Dir || stack[p] || a.stat(p) != pathDir {
			return false
		}
		sub, cyclic := a.closure(p, stack)
		for q, d := range sub {
			set[q] = set[q] || d
		}
		return cyclic
	}
	if !ok {
		if isRemote(r.Value) {
			a.reportAt(at, KindRemote, "remote %s %q is not tracked: its changes do not mark this target as affected", r.Field, r.Value)
		} else {
			a.reportAt(at, KindEscape, "%s %q leaves the repository: its changes cannot be tracked", r.Field, r.Value)
		}
		return false
	}
	kind := a.stat(p)
	if r.Kind == refKustomization && a.kusts[p] != nil && kind == pathDir {
		if stack[p] {
			a.reportAt(at, KindCycle, "%s %q refers back to a kustomization that includes this one", r.Field, r.Value)
			return true
		}
		sub, cyclic := a.closure(p, stack)
		for q, d := range sub {
			set[q] = set[q] || d
		}
		return cyclic
	}
	switch kind {
	case pathDir:
		// A directory without a kustomization: kustomize fails on it as a
		// resource; generators read every file in it. Either way, all of it.
		set[p] = true
		if r.Kind == refKustomization {
			a.reportAt(at, KindMissing, "%s %q is a directory without a kustomization file", r.Field, r.Value)
		}
	case pathFile:
		set[p] = set[p] || false
		if r.Kind == refKustomization && r.Field != "resources" && r.Field != "components" {
			a.addPluginInputs(k, r, p, set)
		}
		if a.rootOnly && r.Kind != refDir && !within(k.Dir, p) {
			a.reportAt(at, KindLoadRestrictor, "%s %q is outside %q; kustomize's load restrictor rootOnly rejects it (set kustomize.loadRestrictor: none to allow it)", r.Field, r.Value, k.Dir)
		}
	default:
		if r.Kind == refDir {
			set[p] = true // a chart home that does not exist yet is created by kustomize
			return false
		}
		if isRemote(r.Value) {
			a.reportAt(at, KindRemote, "remote %s %q is not tracked: its changes do not mark this target as affected", r.Field, r.Value)
			return false
		}
		set[p] = false // creating it must mark the target as affected
		a.reportAt(at, KindMissing, "%s %q does not exist", r.Field, r.Value)
	}
	return false
}

// addPluginInputs adds the files a plugin configuration file names.
func (a *analyzer) addPluginInputs(k *kustomization, r reference, file string, set inputSet) {
	data, err := a.fsys.ReadFile(filepath.Join(a.dir, filepath.FromSlash(file)))
	if err != nil {
		return // stat said it exists; kustomize will report what it cannot read
	}
	for _, v := range pluginPaths(data) {
		if isRemote(v) {
			continue
		}
		a.addRef(k, reference{Value: v, Field: r.Field + " " + r.Value, Kind: refFile, Line: r.Line, Col: r.Col}, set, nil)
	}
}

func (a *analyzer) reportAt(at Diagnostic, kind, format string, args ...any) {
	at.Kind = kind
	at.Message = fmt.Sprintf(format, args...)
	a.report(at)
}

// within reports whether p is dir or below it.
func within(dir, p string) bool {
	return dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
}

// isRemote recognises the remote targets kustomize accepts: URLs, git SSH
// specs and host-prefixed repository paths (github.com/org/repo//dir?ref=x).
func isRemote(v string) bool {
	if strings.Contains(v, "://") || strings.HasPrefix(v, "git@") || strings.Contains(v, "?ref=") {
		return true
	}
	for _, h := range []string{"github.com/", "gitlab.com/", "bitbucket.org/"} {
		if strings.HasPrefix(v, h) {
			return true
		}
	}
	return false
}

// escapeGlob escapes doublestar's metacharacters in a literal path.
func escapeGlob(p string) string {
	if !strings.ContainsAny(p, `*?[]{}\`) {
		return p
	}
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[]{}\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
