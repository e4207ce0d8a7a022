package generator

import (
	"fmt"
	"path"
	"path/filepath"
	"runtime"
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
	kustomize Kustomize // its remoteResources decide which remote references are refused
	kusts     map[string]*kustomization
	mu        sync.Mutex
	memo      map[*kustomization]inputSet
	diags     map[Diagnostic]bool
	statCache map[string]pathKind
	seen      listings // what the walk saw, answering most stats
	// links are the repository's symbolic links (usually none), followed
	// as the operating system follows them (and so kustomize) by follow,
	// which remembers each path in followed.
	links    symlinks
	followed map[string]*linkPath
	realOnce sync.Once
	realRoot string // dir with its own links followed
}

type pathKind int

const (
	pathMissing pathKind = iota
	pathFile
	pathDir
)

// newAnalyzer takes the directory listings a walk of the repository read
// (nil: none) to answer stats; it asks fsys about other paths.
func newAnalyzer(fsys filesys.FileSystem, dir string, kz Kustomize, kusts map[string]*kustomization, seen listings) *analyzer {
	return &analyzer{fsys: fsys, dir: dir, rootOnly: kz.LoadRestrictor != LoadRestrictorNone, kustomize: kz, kusts: kusts,
		memo: map[*kustomization]inputSet{}, diags: map[Diagnostic]bool{}, statCache: map[string]pathKind{}, seen: seen,
		followed: map[string]*linkPath{}}
}

// roots returns the kustomization directories that no other kustomization
// references and that are neither components nor hidden, sorted. Only
// references that count are followed: those of visible kustomizations, and
// of hidden ones that visible ones use (a base kept in .shared/, say); a
// stray kustomization under .github references nothing.
func (a *analyzer) roots(g *refGraph) []string {
	referenced := map[*kustomization]bool{}
	for _, es := range g.edges {
		for _, e := range es {
			referenced[e.to] = true
		}
	}
	var roots []string
	for d, k := range a.kusts {
		if !referenced[k] && !k.Component && !isHidden(d) {
			roots = append(roots, d)
		}
	}
	sort.Strings(roots)
	return roots
}

// link looks up, on every core, the kustomization each reference names and
// what is at its path, once: the root search and the closures would
// otherwise hash the same paths again and again, one after the other.
func (a *analyzer) link() {
	all := make([]*kustomization, 0, len(a.kusts))
	for _, k := range a.kusts {
		all = append(all, k)
	}
	parallelFor(len(all), func(i int) {
		k := all[i]
		for j := range k.Refs {
			r := &k.Refs[j]
			if !r.resolved || !r.inRepo {
				continue
			}
			rp, lp := a.resolveLinks(r.path)
			r.kust = a.kusts[rp]
			// A guessed reference (k.Err) is only ever stat'ed when it
			// names a kustomization; most are words, not paths.
			if (k.Err == nil || r.kust != nil) && (lp == nil || lp.problem == "") {
				r.kind = a.stat(rp)
			}
			r.linked = true
		}
	})
}

// parallelFor calls f(0) … f(n-1) on every core, each index once, and
// returns when all are done. f must touch only what index i owns.
func parallelFor(n int, f func(i int)) {
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// lookup returns the kustomization a reference of k names (nil if none) and
// what is at its path, as link found them. The kind is worked out on
// demand when link did not, so is not to be used for a guessed reference
// that names no kustomization.
func (a *analyzer) lookup(k *kustomization, r *reference) (*kustomization, pathKind) {
	if r.linked {
		return r.kust, r.kind
	}
	p, ok := r.target(k.Dir)
	if !ok {
		return nil, pathMissing
	}
	p, lp := a.resolveLinks(p)
	if lp != nil && lp.problem != "" {
		return nil, pathMissing
	}
	sub := a.kusts[p]
	if k.Err != nil && sub == nil {
		return nil, pathMissing
	}
	return sub, a.stat(p)
}

// isHidden reports whether a repository path is in a hidden directory.
func isHidden(p string) bool {
	for p != "" {
		seg := p
		if i := strings.IndexByte(p, '/'); i >= 0 {
			seg, p = p[:i], p[i+1:]
		} else {
			p = ""
		}
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
	if k, ok := a.seen.kind(p); ok {
		return k
	}
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

// closureGlobs sets the Inputs of every target: its closure as sorted
// doublestar globs. Closures are computed one after the other (their memo
// and cycle cuts depend on the order); turning them into globs, which
// touches every input of every target, runs on every core.
func (a *analyzer) closureGlobs(targets []*Target) {
	sets := make([]inputSet, len(targets))
	for i, t := range targets {
		sets[i], _ = a.closure(a.kusts[t.Path], map[*kustomization]bool{})
	}
	parallelFor(len(targets), func(i int) { targets[i].Inputs = globs(sets[i]) })
}

// globs returns a closure as sorted doublestar globs.
func globs(set inputSet) []string {
	dirs := false
	for _, dir := range set {
		dirs = dirs || dir
	}
	globs := make([]string, 0, len(set))
	for p, dir := range set {
		if dirs && coveredByDir(set, p) {
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

// closure returns every path the build of kustomization k reads.
// stack holds the kustomizations being visited, to detect cycles; a closure
// that met a cycle is not memoised, since it is cut short.
func (a *analyzer) closure(k *kustomization, stack map[*kustomization]bool) (inputSet, bool) {
	a.mu.Lock()
	memo, ok := a.memo[k]
	a.mu.Unlock()
	if ok {
		return memo, false
	}
	set := inputSet{}
	set[k.File] = false
	if len(a.links) > 0 {
		a.addFileLink(k, set)
	}
	if k.Err != nil {
		set[k.Dir] = true
	}
	stack[k] = true
	defer delete(stack, k)
	cyclic := false
	for i := range k.Refs {
		if a.addRef(k, &k.Refs[i], set, stack) {
			cyclic = true
		}
	}
	if cyclic {
		return set, true
	}
	return a.remember(k, set), false
}

func (a *analyzer) remember(k *kustomization, set inputSet) inputSet {
	a.mu.Lock()
	a.memo[k] = set
	a.mu.Unlock()
	return set
}

// addRef adds what one reference makes kustomize read, and reports whether
// it met a cycle.
func (a *analyzer) addRef(k *kustomization, r *reference, set inputSet, stack map[*kustomization]bool) bool {
	at := refAt{k, r}
	p, ok := r.target(k.Dir)
	if k.Err != nil {
		// A guessed reference of an unparsable kustomization: follow it only
		// when it names another kustomization, and say nothing.
		if !ok {
			return false
		}
		kust, kind := a.lookup(k, r)
		if kust == nil || kust == k || stack[kust] || kind != pathDir {
			return false
		}
		if _, lp := a.resolveLinks(p); lp != nil {
			addLinks(set, lp)
		}
		sub, cyclic := a.closure(kust, stack)
		for q, d := range sub {
			set[q] = set[q] || d
		}
		return cyclic
	}
	if !ok {
		if isRemote(r.Value) {
			a.reportRemote(at)
		} else {
			a.reportAt(at, KindEscape, "%s %q leaves the repository: only a change git records (in the git repository around a manifest repository in a subdirectory) marks this target", r.Field, r.Value)
			// A relative path stays in the closure as it leads out
			// ("../common/**"): git names changes outside a manifest
			// repository in a subdirectory the same way.
			if out := path.Join(k.Dir, r.Value); !path.IsAbs(r.Value) && !filepath.IsAbs(r.Value) {
				set[out] = true
			}
		}
		return false
	}
	p, lp := a.resolveLinks(p)
	if lp != nil {
		addLinks(set, lp)
		if lp.problem != "" {
			a.reportLinkProblem(at, lp)
			// Where a link out of the repository leads stays in the
			// closure as a relative path ("../common/**"), as git names a
			// change there to a manifest repository in a subdirectory.
			if rel, err := filepath.Rel(a.dir, lp.outside); lp.problem == KindEscape && lp.outside != "" && err == nil {
				set[filepath.ToSlash(rel)] = true
			}
			return false
		}
	}
	kust, kind := a.lookup(k, r)
	if r.Kind == refKustomization && kind == pathDir && p != k.Dir && within(p, k.Dir) {
		// kustomize refuses a base at or above a kustomization it loads
		// from: a link to a parent directory, say.
		a.reportAt(at, KindCycle, "%s %q is %q, a parent directory of this kustomization; kustomize refuses it as a cycle", r.Field, r.Value, p)
		return false
	}
	if r.Kind == refKustomization && kust != nil && kind == pathDir {
		if stack[kust] {
			a.reportAt(at, KindCycle, "%s %q refers back to a kustomization that includes this one", r.Field, r.Value)
			return true
		}
		sub, cyclic := a.closure(kust, stack)
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
		// The verdict is kustomize's: on the path with its links followed.
		if a.rootOnly && r.Kind != refDir && !within(k.Dir, p) {
			if lp != nil {
				a.reportAt(at, KindLoadRestrictor, "%s %q is a symbolic link to %q, outside %q; kustomize's load restrictor rootOnly rejects it (set kustomize.loadRestrictor: none to allow it)", r.Field, r.Value, p, k.Dir)
			} else {
				a.reportAt(at, KindLoadRestrictor, "%s %q is outside %q; kustomize's load restrictor rootOnly rejects it (set kustomize.loadRestrictor: none to allow it)", r.Field, r.Value, k.Dir)
			}
		}
	default:
		if r.Kind == refDir {
			set[p] = true // a chart home that does not exist yet is created by kustomize
			return false
		}
		if isRemote(r.Value) {
			a.reportRemote(at)
			return false
		}
		set[p] = false // creating it must mark the target as affected
		if lp != nil {
			a.reportAt(at, KindMissing, "%s %q is a dangling symbolic link: %q leads to %q, which does not exist", r.Field, r.Value, lp.links[0], p)
		} else {
			a.reportAt(at, KindMissing, "%s %q does not exist", r.Field, r.Value)
		}
	}
	return false
}

// addPluginInputs adds the files a plugin configuration file names.
func (a *analyzer) addPluginInputs(k *kustomization, r *reference, file string, set inputSet) {
	data, err := a.fsys.ReadFile(filepath.Join(a.dir, filepath.FromSlash(file)))
	if err != nil {
		return // stat said it exists; kustomize will report what it cannot read
	}
	for _, v := range pluginPaths(data) {
		if isRemote(v) {
			// Not tracked; refused unless kustomize.remoteResources allows it.
			if msg := a.kustomize.refusedMessage(r.Field+" "+r.Value, v); msg != "" {
				a.reportAt(refAt{k, r}, KindRemoteRefused, "%s", msg)
			}
			continue
		}
		a.addRef(k, &reference{Value: v, Field: r.Field + " " + r.Value, Kind: refFile, Line: r.Line, Col: r.Col, at: r.posKey(), exact: r.exact}, set, nil)
	}
}

// reportRemote reports a remote reference: refused by the configuration's
// kustomize.remoteResources (a build fails on it, and check too), or
// allowed but not tracked.
func (a *analyzer) reportRemote(at refAt) {
	r := at.r
	if msg := a.kustomize.refusedMessage(r.Field, r.Value); msg != "" {
		a.reportAt(at, KindRemoteRefused, "%s", msg)
		return
	}
	a.reportAt(at, KindRemote, "remote %s %q is allowed by kustomize.remoteResources but not tracked: its changes do not mark this target as affected", r.Field, r.Value)
}

// refAt is where a diagnostic about a reference points; its position is
// looked up only when one is reported.
type refAt struct {
	k *kustomization
	r *reference
}

func (a *analyzer) reportAt(at refAt, kind, format string, args ...any) {
	line, col := at.k.position(*at.r)
	a.report(Diagnostic{Path: at.k.File, Line: line, Col: col, Kind: kind, Message: fmt.Sprintf(format, args...)})
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
	if _, forced := cutPrefixFold(v, "git::"); forced {
		return true
	}
	// SCP style with any user (alice@host:repo), which kustomize clones.
	if u := gitUsername.FindString(v); u != "" {
		rest := v[len(u):]
		if c := strings.IndexByte(rest, ':'); c > 0 && !strings.Contains(rest[:c], "/") {
			return true
		}
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
	// Byte by byte: the metacharacters are ASCII, and a name that is not
	// valid UTF-8 must keep its bytes (checkInputPaths refuses it).
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if strings.IndexByte(`*?[]{}\`, p[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(p[i])
	}
	return b.String()
}
