package generator

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode"

	"sigs.k8s.io/kustomize/api/types"
)

// Root determination that no bad input can shrink. analyzer.roots finds
// the kustomizations nothing references; two kinds of bad input would make
// that quietly wrong:
//   - kustomizations referencing each other in a ring are all referenced,
//     so none of them is a root: ringRoots keeps them, with a [cycle]
//     diagnostic (kustomize fails on each, loudly);
//   - a kustomization that does not parse (or is empty) references what its
//     garbled text says, which lenientRefs cannot always read: its base
//     would become a root of its own, with a job that applies a bare base.
//     holdBack keeps such a base out of the roots, with a diagnostic, and
//     the broken kustomization's targets read it.

// refGraph is the reference graph analyzer.roots counts: edges of visible
// kustomizations and of the hidden ones they use, each edge with the
// reference it comes from, for positions.
type refGraph struct {
	nodes []*kustomization // sorted by directory
	edges map[*kustomization][]refEdge
}

type refEdge struct {
	to *kustomization
	r  *reference
}

// refGraph builds the graph once, after link, for roots (what nothing
// references), ringRoots and holdBack (which follow the edges).
func (a *analyzer) refGraph() *refGraph {
	g := &refGraph{edges: map[*kustomization][]refEdge{}}
	var queue []*kustomization
	for d, k := range a.kusts {
		if !isHidden(d) {
			queue = append(queue, k)
		}
	}
	visited := map[*kustomization]bool{}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		if visited[k] {
			continue
		}
		visited[k] = true
		g.nodes = append(g.nodes, k)
		for i := range k.Refs {
			r := &k.Refs[i]
			if r.Kind != refKustomization {
				continue
			}
			if sub, _ := a.lookup(k, r); sub != nil && sub != k {
				g.edges[k] = append(g.edges[k], refEdge{sub, r})
				if isHidden(sub.Dir) {
					queue = append(queue, sub) // the visible ones are queued already
				}
			}
		}
	}
	sort.Slice(g.nodes, func(i, j int) bool { return g.nodes[i].Dir < g.nodes[j].Dir })
	return g
}

// ringRoots returns the kustomizations that no root reaches because they
// reference each other in a ring that nothing else references (and so
// every kustomization of such a ring that may be a target), with a [cycle]
// diagnostic for each ring.
func (a *analyzer) ringRoots(g *refGraph, roots []string) ([]string, []Diagnostic) {
	starts := make([]*kustomization, len(roots))
	for i, r := range roots {
		starts[i] = a.kusts[r]
	}
	reached := g.reach(starts)
	var rest []*kustomization
	for _, k := range g.nodes {
		if !reached[k] {
			rest = append(rest, k)
		}
	}
	if len(rest) == 0 {
		return nil, nil
	}
	comp := components(rest, g.edges)
	// A ring is a component of several kustomizations that no kustomization
	// outside it references (one referenced from outside is below a ring,
	// or below a kustomization that is no root, a component say).
	entered := map[int]bool{}
	for _, k := range rest {
		for _, e := range g.edges[k] {
			if c, ok := comp[e.to]; ok && c != comp[k] {
				entered[c] = true
			}
		}
	}
	members := map[int][]*kustomization{}
	for _, k := range rest {
		members[comp[k]] = append(members[comp[k]], k)
	}
	var out []string
	var diags []Diagnostic
	for c, ks := range members {
		if len(ks) < 2 || entered[c] {
			continue
		}
		diags = append(diags, ringDiagnostic(ks, g.edges))
		for _, k := range ks {
			if !k.Component && !isHidden(k.Dir) {
				out = append(out, k.Dir)
			}
		}
	}
	sort.Strings(out)
	return out, diags
}

// components returns the strongly connected components of the graph
// restricted to nodes (Tarjan's algorithm), as a component number per node.
func components(nodes []*kustomization, edges map[*kustomization][]refEdge) map[*kustomization]int {
	in := map[*kustomization]bool{}
	for _, k := range nodes {
		in[k] = true
	}
	index, low := map[*kustomization]int{}, map[*kustomization]int{}
	onStack := map[*kustomization]bool{}
	comp := map[*kustomization]int{}
	var stack []*kustomization
	next, count := 0, 0
	var visit func(k *kustomization)
	visit = func(k *kustomization) {
		index[k], low[k] = next, next
		next++
		stack = append(stack, k)
		onStack[k] = true
		for _, e := range edges[k] {
			switch {
			case !in[e.to]:
			case !containsKey(index, e.to):
				visit(e.to)
				low[k] = min(low[k], low[e.to])
			case onStack[e.to]:
				low[k] = min(low[k], index[e.to])
			}
		}
		if low[k] != index[k] {
			return
		}
		for {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[top] = false
			comp[top] = count
			if top == k {
				break
			}
		}
		count++
	}
	for _, k := range nodes {
		if !containsKey(index, k) {
			visit(k)
		}
	}
	return comp
}

func containsKey[K comparable, V any](m map[K]V, k K) bool {
	_, ok := m[k]
	return ok
}

// ringDiagnostic names a ring: the shortest cycle through its first
// directory, and the others of the ring when it holds more.
func ringDiagnostic(ks []*kustomization, edges map[*kustomization][]refEdge) Diagnostic {
	sort.Slice(ks, func(i, j int) bool { return ks[i].Dir < ks[j].Dir })
	first := ks[0]
	inRing := map[*kustomization]bool{}
	for _, k := range ks {
		inRing[k] = true
	}
	// Breadth first from first's references, back to first.
	type step struct {
		k    *kustomization
		prev int
	}
	var steps []step
	seen := map[*kustomization]bool{}
	var firstRef *reference
	for _, e := range edges[first] {
		if inRing[e.to] && !seen[e.to] {
			seen[e.to] = true
			steps = append(steps, step{e.to, -1})
		}
	}
	end := -1
	for i := 0; i < len(steps) && end < 0; i++ {
		for _, e := range edges[steps[i].k] {
			if e.to == first {
				end = i
				break
			}
			if inRing[e.to] && !seen[e.to] {
				seen[e.to] = true
				steps = append(steps, step{e.to, i})
			}
		}
	}
	cycle := []string{first.Dir}
	var rev []string
	for i := end; i >= 0; i = steps[i].prev {
		rev = append(rev, steps[i].k.Dir)
		if steps[i].prev < 0 {
			for _, e := range edges[first] {
				if e.to == steps[i].k {
					firstRef = e.r
					break
				}
			}
		}
	}
	slices.Reverse(rev)
	cycle = append(append(cycle, rev...), first.Dir)
	msg := fmt.Sprintf("kustomizations reference each other in a ring, %s, that no other kustomization includes: kustomize refuses to build them; each stays a target (components and hidden directories aside, and unless discovery excludes it)", strings.Join(cycle, " -> "))
	if len(ks) > len(cycle)-1 {
		var others []string
		for _, k := range ks {
			if !slices.Contains(cycle, k.Dir) {
				others = append(others, k.Dir)
			}
		}
		msg += fmt.Sprintf(" (the ring also holds %s)", strings.Join(others, ", "))
	}
	d := Diagnostic{Path: first.File, Kind: KindCycle, Message: msg}
	if firstRef != nil {
		d.Line, d.Col = first.position(*firstRef)
	}
	return d
}

// holdBack removes from the roots every kustomization that a kustomization
// kustomize cannot load may reference, and returns the held ones by the
// broken kustomization, with a diagnostic for each. A broken kustomization
// is one that does not parse, or is empty (a file truncated to nothing,
// which parses): it may reference a root when its text names it, or nearly
// (mayName), or, when its text names no root at all, when the root is a base
// of its service (nearBase). A root is held only for a broken kustomization
// that some target still reads (or is): its targets read the held root in
// its place (widenHeld), so nothing drops out of every target. The broken
// one stays whatever it was.
func (a *analyzer) holdBack(g *refGraph, roots, rings []string, envWords map[string]bool) ([]string, map[*kustomization][]*kustomization, []Diagnostic) {
	var broken []*kustomization
	var diags []Diagnostic
	for _, k := range g.nodes {
		switch {
		case k.Err != nil:
			broken = append(broken, k)
		case len(k.Refs) == 0 && !k.Component && a.emptyKustomization(k):
			broken = append(broken, k)
			diags = append(diags, Diagnostic{Path: k.File, Kind: KindYAML,
				Message: "kustomization is empty: kustomize refuses to build it"})
		}
	}
	if len(broken) == 0 {
		return roots, nil, diags
	}
	pairs := a.mayReference(g, broken, roots, envWords)
	// Only for a broken kustomization a kept root (or a ring) reaches: not
	// one below the held root itself, say. Releasing a root only widens
	// what the kept ones reach, so this settles.
	for changed := len(pairs) > 0; changed; {
		changed = false
		isHeld := map[*kustomization]bool{}
		for _, p := range pairs {
			isHeld[p.x] = true
		}
		var starts []*kustomization
		for _, r := range append(append([]string{}, roots...), rings...) {
			if k := a.kusts[r]; !isHeld[k] {
				starts = append(starts, k)
			}
		}
		reached := g.reach(starts)
		pairs = slices.DeleteFunc(pairs, func(p heldPair) bool {
			changed = changed || !reached[p.b]
			return !reached[p.b]
		})
	}
	held := map[*kustomization][]*kustomization{}
	by := map[*kustomization][]string{}
	for _, p := range pairs {
		held[p.b] = append(held[p.b], p.x)
		by[p.x] = append(by[p.x], p.b.File)
	}
	var kept []string
	for _, r := range roots {
		x := a.kusts[r]
		if len(by[x]) == 0 {
			kept = append(kept, r)
			continue
		}
		diags = append(diags, Diagnostic{Path: x.File, Kind: KindYAML,
			Message: fmt.Sprintf("not a target of its own: %s cannot be loaded and may reference this kustomization; its targets read this one instead, until it loads again", strings.Join(by[x], ", "))})
	}
	return kept, held, diags
}

// heldPair is a root x that the broken kustomization b may reference.
type heldPair struct{ b, x *kustomization }

// mayReference pairs each broken kustomization with the roots it may
// reference (see holdBack); never with a root that reaches it, which it
// cannot reference without a cycle.
func (a *analyzer) mayReference(g *refGraph, broken []*kustomization, roots []string, envWords map[string]bool) []heldPair {
	isBroken := map[*kustomization]bool{}
	for _, b := range broken {
		isBroken[b] = true
	}
	var pairs []heldPair
	for _, b := range broken {
		words := a.brokenWords(b)
		// named: b's text names some kustomization, as lenientRefs reads
		// it or nearly; only one that names none at all holds back the
		// bases of its service.
		named := len(g.edges[b]) > 0
		var xs []*kustomization
		for _, r := range roots {
			// A kustomization never references a directory above it:
			// kustomize refuses that as a cycle.
			if x := a.kusts[r]; !isBroken[x] && !within(x.Dir, b.Dir) && mayName(b.Dir, words, x.Dir) {
				xs = append(xs, x)
			}
		}
		if len(xs) == 0 && !named {
			for _, r := range roots {
				if x := a.kusts[r]; !isBroken[x] && nearBase(b.Dir, x.Dir, envWords) {
					xs = append(xs, x)
				}
			}
		}
		for _, x := range xs {
			if !g.reach([]*kustomization{x})[b] {
				pairs = append(pairs, heldPair{b, x})
			}
		}
	}
	return pairs
}

// reach returns the kustomizations the given ones reference, directly or
// not, themselves included.
func (g *refGraph) reach(starts []*kustomization) map[*kustomization]bool {
	reached := map[*kustomization]bool{}
	stack := append([]*kustomization{}, starts...)
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if reached[k] {
			continue
		}
		reached[k] = true
		for _, e := range g.edges[k] {
			stack = append(stack, e.to)
		}
	}
	return reached
}

// emptyKustomization reports whether kustomize refuses k as empty (it
// parses, but sets nothing: a file truncated to nothing, or only comments).
func (a *analyzer) emptyKustomization(k *kustomization) bool {
	data, err := a.fsys.ReadFile(filepath.Join(a.dir, filepath.FromSlash(k.File)))
	if err != nil {
		return false
	}
	parses, empty := kustomizationContent(data)
	return parses && empty
}

// kustomizationContent says whether kustomize parses a kustomization file
// and, if it does, whether it finds it empty (and refuses it).
func kustomizationContent(data []byte) (parses, empty bool) {
	var kt types.Kustomization
	if kt.Unmarshal(data) != nil {
		return false, false
	}
	kt.FixKustomization()
	return true, kt.CheckEmpty() != nil
}

// nearBase reports whether root is a base of the service of the overlay at
// dir: dir names an environment (apps/cart/overlays/prod, apps/cart/prod),
// root names none and lies in the service's directory (apps/cart/base).
// This is what an overlay whose text is lost most likely referenced.
func nearBase(dir, root string, envWords map[string]bool) bool {
	np := splitName(dir, envWords)
	if np.environment == DefaultEnvironment || splitName(root, envWords).environment != DefaultEnvironment {
		return false
	}
	segs := strings.Split(dir, "/")
	i := lastIndex(segs, func(s string) bool { return overlayMarkers[s] })
	if i < 0 || i+1 >= len(segs) {
		i = lastIndex(segs, func(s string) bool { return isEnvironmentWord(s, envWords) })
	}
	if i <= 0 {
		return false // the service is the repository: too far to guess
	}
	service := strings.Join(segs[:i], "/")
	return within(service, root) && !within(dir, root)
}

// word is a word of a broken kustomization that may be a path: as written,
// and the repository path it names when that exists (then it is no garbled
// name of anything else).
type word struct {
	text, names string
}

// brokenWords returns the words of a kustomization that does not parse
// that may be paths: its text split at blanks and YAML's flow punctuation,
// and lenientRefs' guesses.
func (a *analyzer) brokenWords(k *kustomization) []word {
	seen := map[string]bool{}
	var out []word
	add := func(w string) {
		w = strings.Trim(w, "-:")
		if len(w) < 2 || len(w) > 512 || seen[w] {
			return
		}
		seen[w] = true
		wd := word{text: w}
		if p, ok := resolve(k.Dir, w); ok && a.stat(p) != pathMissing {
			wd.names = p
		}
		out = append(out, wd)
	}
	data, _ := a.fsys.ReadFile(filepath.Join(a.dir, filepath.FromSlash(k.File)))
	for _, w := range strings.FieldsFunc(string(data), func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(`,[]{}'"`, r)
	}) {
		add(w)
	}
	for _, r := range k.Refs {
		add(r.Value)
	}
	return out
}

// mayName reports whether one of the words of a broken kustomization in
// dir names the kustomization in target, or nearly does (a byte in five
// garbled, lost or added; exactly, for a reference shorter than five):
// relative to dir, as written or cleaned ("./../base/"). A word that names
// some other existing path is taken at its word.
func mayName(dir string, words []word, target string) bool {
	rel, err := filepath.Rel(filepath.FromSlash(dir), filepath.FromSlash(target))
	if err != nil {
		return false
	}
	rel = filepath.ToSlash(rel)
	tol := len(rel) / 5
	for _, w := range words {
		switch {
		case w.names == target:
			return true
		case w.names != "":
		case editDistance(w.text, rel, tol) <= tol:
			return true
		case path.Clean(w.text) != w.text && editDistance(path.Clean(w.text), rel, tol) <= tol:
			return true
		}
	}
	return false
}

// editDistance returns the Levenshtein distance of two strings, in bytes,
// or some number above limit once it is sure to exceed it.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			best = min(best, cur[j])
		}
		if best > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// widenHeld adds to every target that reads a broken kustomization the
// closures of the kustomizations held back for it: what it may reference.
func (a *analyzer) widenHeld(targets []*Target, held map[*kustomization][]*kustomization) {
	if len(held) == 0 {
		return
	}
	for _, t := range targets {
		set, _ := a.closure(a.kusts[t.Path], map[*kustomization]bool{})
		var add []inputSet
		for b, xs := range held {
			if _, ok := set[b.File]; !ok {
				continue
			}
			for _, x := range xs {
				sub, _ := a.closure(x, map[*kustomization]bool{})
				add = append(add, sub)
			}
		}
		if len(add) == 0 {
			continue
		}
		merged := inputSet{}
		for _, s := range append(add, set) {
			for q, d := range s {
				merged[q] = merged[q] || d
			}
		}
		t.Inputs = globs(merged)
	}
}
