package generator

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
)

// refKind says how kustomize resolves a path found in a kustomization.
type refKind int

const (
	// refKustomization may be a file or a directory holding a kustomization
	// (resources, components, generators, transformers, validators).
	refKustomization refKind = iota
	// refFile is a file, or for generator sources a directory of files.
	refFile
	// refDir is a directory read as a whole (a helm chart home).
	refDir
)

// reference is one path a kustomization names, with the field it came from
// and its position, so diagnostics can point at it.
type reference struct {
	Value string
	Field string
	Kind  refKind
	// Line and Col are set by the parser only for guessed references; the
	// others are found by kustomization.position when a diagnostic needs
	// them: walking a YAML node tree of every kustomization for positions
	// that are almost never reported doubled the cost of parsing.
	Line int
	Col  int
	at   string // the scalar whose position is the reference's; "" for Value
	// exact: the position is that of the scalar as written, never that of a
	// generator's "key=path" entry ending in it.
	exact bool
	// path and inRepo are resolve(dir, Value), worked out by the parser,
	// which runs on every core (resolved says it did).
	path             string
	inRepo, resolved bool
	// kust (the kustomization at path, if any) and kind (what is there)
	// are looked up once by analyzer.link (linked says it did).
	kust   *kustomization
	kind   pathKind
	linked bool
}

// target returns the repository path the reference names: resolve of it
// from the kustomization's directory.
func (r *reference) target(dir string) (string, bool) {
	if r.resolved {
		return r.path, r.inRepo
	}
	return resolve(dir, r.Value)
}

// resolveRefs works out the target of every reference of k.
func (k *kustomization) resolveRefs() {
	for i := range k.Refs {
		r := &k.Refs[i]
		r.path, r.inRepo = resolve(k.Dir, r.Value)
		r.resolved = true
	}
}

// posKey is the scalar whose position is the reference's.
func (r reference) posKey() string {
	if r.at != "" {
		return r.at
	}
	return r.Value
}

// kustomization is one parsed kustomization file.
type kustomization struct {
	Dir       string // slash-separated, relative to the repository root; "." for the root
	File      string // the kustomization file itself, relative to the repository root
	Component bool   // kind: Component (never a deploy target)
	Refs      []reference
	Err       *Diagnostic // the file does not parse: it is kept, and its whole directory is an input

	data    []byte // the file, for positions; nil when it does not parse
	posOnce sync.Once
	pos     map[string][2]int // scalarPositions(data), once a diagnostic needs it
}

// position returns the line and column where a reference of k was written
// (0 when unknown), as scalarPositions and positionOf find them.
func (k *kustomization) position(r reference) (line, col int) {
	if r.Line > 0 || k.data == nil {
		return r.Line, r.Col
	}
	k.posOnce.Do(func() { k.pos = scalarPositions(k.data) })
	var p [2]int
	if r.exact {
		p = k.pos[r.posKey()]
	} else {
		p = positionOf(k.pos, r.posKey())
	}
	return p[0], p[1]
}

// yamlLineRe finds the line number in a YAML parser's error message.
var yamlLineRe = regexp.MustCompile(`\bline (\d+)\b`)

// kustomizationFileNames are the names kustomize looks for, in its order.
var kustomizationFileNames = konfig.RecognizedKustomizationFileNames()

// parseKustomization extracts every local path a kustomization names. It
// decodes with kustomize's own types and Unmarshal (strict on unknown
// fields, as kustomize is), or for the usual shape of a kustomization with
// fastUnmarshal, which gives the same result faster; positions come later,
// from a yaml.v3 node tree, for the references a diagnostic points at
// (kustomization.position).
func parseKustomization(dir, file string, data []byte) *kustomization {
	k := &kustomization{Dir: dir, File: file}
	var kt types.Kustomization
	if !fastUnmarshal(data, &kt) {
		if err := kt.Unmarshal(data); err != nil {
			msg := firstLine(err.Error())
			line := 1
			if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
				line, _ = strconv.Atoi(m[1])
			}
			k.Err = &Diagnostic{Path: file, Line: line, Kind: KindYAML,
				Message: fmt.Sprintf("kustomization does not parse, its whole directory counts as input: %s", msg)}
			k.Refs = lenientRefs(data)
			k.resolveRefs()
			return k
		}
	}
	kt.FixKustomization()
	k.Component = kt.Kind == types.ComponentKind
	k.data = data
	add := func(field string, kind refKind, values ...string) {
		for _, v := range values {
			if v != "" {
				k.Refs = append(k.Refs, reference{Value: v, Field: field, Kind: kind})
			}
		}
	}
	// Only these four fields may hold inline content, and kustomize tries
	// that first: a value is a path only when it does not parse as content,
	// whatever its characters and whether or not a file of that name exists.
	plugins := func(field string, values []string) {
		for _, v := range values {
			if isInlineConfig(v) {
				k.Refs = append(k.Refs, inlineConfigRefs(field, v)...)
			} else {
				add(field, refKustomization, v)
			}
		}
	}
	add("resources", refKustomization, kt.Resources...)
	add("components", refKustomization, kt.Components...)
	plugins("generators", kt.Generators)
	plugins("transformers", kt.Transformers)
	plugins("validators", kt.Validators)
	add("crds", refFile, kt.Crds...)
	add("configurations", refFile, kt.Configurations...)
	// patches[].patch and patchesJson6902[].patch are content, and .path a
	// path, always (PatchTransformer, PatchJson6902Transformer).
	for _, p := range kt.Patches {
		add("patches", refFile, p.Path)
	}
	for _, p := range kt.PatchesJson6902 {
		add("patchesJson6902", refFile, p.Path)
	}
	for _, p := range kt.PatchesStrategicMerge {
		if !isInline(string(p)) {
			add("patchesStrategicMerge", refFile, string(p))
		}
	}
	for _, r := range kt.Replacements {
		add("replacements", refFile, r.Path)
	}
	add("openapi", refFile, kt.OpenAPI["path"])
	for _, g := range kt.ConfigMapGenerator {
		add("configMapGenerator", refFile, sourcePaths(g.KvPairSources)...)
	}
	for _, g := range kt.SecretGenerator {
		add("secretGenerator", refFile, sourcePaths(g.KvPairSources)...)
	}
	k.Refs = append(k.Refs, helmRefs(&kt)...)
	k.resolveRefs()
	return k
}

// lenientRefs guesses the references of a kustomization that does not
// parse: every word that may be a path, and the whole value of each line
// (a path may hold spaces, ": " or " #"), as written and as YAML reads it.
// Only those naming a kustomization directory are used (deps.go), so that
// a broken overlay does not turn its base into a deploy target of its own,
// and the base stays in its closure.
func lenientRefs(data []byte) []reference {
	var refs []reference
	for i, line := range strings.Split(string(data), "\n") {
		seen := map[string]bool{}
		guess := func(w string) {
			if w == "" || seen[w] || strings.Contains(w, "://") {
				return
			}
			seen[w] = true
			refs = append(refs, reference{Value: w, Kind: refKustomization, Line: i + 1})
		}
		for _, w := range strings.Fields(line) {
			guess(strings.Trim(w, `-'",[]{}:`))
		}
		for _, v := range lineValues(line) {
			guess(v)
			var s string
			if yaml.Unmarshal([]byte(v), &s) == nil {
				guess(s)
			}
		}
	}
	return refs
}

// lineValues returns what follows a line's sequence dashes, and what
// follows its first ": " too: "- my: base" may be the path "my: base" or
// the value "base" of a key.
func lineValues(line string) []string {
	t := strings.TrimSpace(line)
	for t == "-" || strings.HasPrefix(t, "- ") {
		t = strings.TrimLeft(t[1:], " ")
	}
	out := []string{t}
	if _, rest, ok := strings.Cut(t, ": "); ok {
		out = append(out, strings.TrimSpace(rest))
	}
	return out
}

// helmRefs lists a kustomization's helm inputs: values files, and the chart
// home directory where kustomize looks for (or pulls) charts.
func helmRefs(kt *types.Kustomization) []reference {
	if len(kt.HelmCharts) == 0 {
		return nil
	}
	var refs []reference
	add := func(field string, kind refKind, v string) {
		if v == "" {
			return
		}
		refs = append(refs, reference{Value: v, Field: field, Kind: kind, exact: true})
	}
	home := "charts" // kustomize's default chart home, relative to the kustomization
	if kt.HelmGlobals != nil && kt.HelmGlobals.ChartHome != "" {
		home = kt.HelmGlobals.ChartHome
	}
	add("helmGlobals.chartHome", refDir, home)
	for _, c := range kt.HelmCharts {
		add("helmCharts.valuesFile", refFile, c.ValuesFile)
		for _, v := range c.AdditionalValuesFiles {
			add("helmCharts.additionalValuesFiles", refFile, v)
		}
	}
	return refs
}

// sourcePaths returns the files of a generator's `files` ("[key=]path") and
// `envs` entries.
func sourcePaths(s types.KvPairSources) []string {
	var out []string
	for _, f := range s.FileSources {
		if p, ok := fileSourcePath(f); ok {
			out = append(out, p)
		}
	}
	out = append(out, s.EnvSources...)
	if s.EnvSource != "" {
		out = append(out, s.EnvSource)
	}
	return out
}

// fileSourcePath returns the file of a generator's `files` entry as
// kustomize's generators.ParseFileSource finds it: the whole entry, or
// what follows the one "=" of "key=path". An entry with more than one "=",
// or an empty key or path, is an error to kustomize, which reads nothing.
func fileSourcePath(f string) (string, bool) {
	key, p, found := strings.Cut(f, "=")
	if !found {
		return f, true
	}
	return p, key != "" && p != "" && !strings.Contains(p, "=")
}

// kustomize's factories, stateless, which tell inline content as it does.
var (
	resourceFactory = resource.NewFactory(nil)
	resMapFactory   = resmap.NewFactory(resourceFactory)
)

// scalarPositions maps each scalar value of a YAML document to the line and
// column of its first occurrence. A kustomization names a path once in the
// usual case; for a repeated path the first position is good enough.
func scalarPositions(data []byte) map[string][2]int {
	pos := map[string][2]int{}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return pos
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode {
			if _, ok := pos[n.Value]; !ok {
				pos[n.Value] = [2]int{n.Line, n.Column}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	return pos
}

// positionOf finds where a path was written, also as the value of a
// generator's "key=path" entry.
func positionOf(pos map[string][2]int, v string) [2]int {
	if p, ok := pos[v]; ok {
		return p
	}
	for s, p := range pos {
		if strings.HasSuffix(s, "="+v) {
			return p
		}
	}
	return [2]int{}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// pluginPaths returns the local paths a generator, transformer or validator
// configuration file names. Builtin plugins (ConfigMapGenerator,
// PatchTransformer, ...) configured from a file read further files, relative
// to the kustomization, just as the fields of a kustomization do.
func pluginPaths(data []byte) []string {
	var out []string
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			break // io.EOF, or not YAML: kustomize will say so
		}
		for _, key := range []string{"path", "env", "valuesFile", "chartHome"} {
			if s, ok := doc[key].(string); ok {
				out = append(out, s)
			}
		}
		for _, key := range []string{"envs", "additionalValuesFiles"} {
			out = append(out, stringList(doc[key])...)
		}
		// PatchStrategicMergeTransformer's paths, as the field it configures.
		for _, p := range stringList(doc["paths"]) {
			if !isInline(p) {
				out = append(out, p)
			}
		}
		for _, f := range stringList(doc["files"]) {
			if p, ok := fileSourcePath(f); ok {
				out = append(out, p)
			}
		}
		if rs, ok := doc["replacements"].([]any); ok {
			for _, r := range rs {
				if m, ok := r.(map[string]any); ok {
					if s, ok := m["path"].(string); ok {
						out = append(out, s)
					}
				}
			}
		}
	}
	return out
}

func stringList(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
