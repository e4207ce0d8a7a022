package generator

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/konfig"
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
	Line  int
	Col   int
}

// kustomization is one parsed kustomization file.
type kustomization struct {
	Dir       string // slash-separated, relative to the repository root; "." for the root
	File      string // the kustomization file itself, relative to the repository root
	Component bool   // kind: Component (never a deploy target)
	Refs      []reference
	Err       *Diagnostic // the file does not parse: it is kept, and its whole directory is an input
}

// yamlLineRe finds the line number in a YAML parser's error message.
var yamlLineRe = regexp.MustCompile(`\bline (\d+)\b`)

// kustomizationFileNames are the names kustomize looks for, in its order.
var kustomizationFileNames = konfig.RecognizedKustomizationFileNames()

// parseKustomization extracts every local path a kustomization names. It
// decodes with kustomize's own types and Unmarshal (strict on unknown
// fields, as kustomize is) and takes positions from a yaml.v3 node tree.
func parseKustomization(dir, file string, data []byte) *kustomization {
	k := &kustomization{Dir: dir, File: file}
	var kt types.Kustomization
	if err := kt.Unmarshal(data); err != nil {
		msg := firstLine(err.Error())
		line := 1
		if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		k.Err = &Diagnostic{Path: file, Line: line, Kind: KindYAML,
			Message: fmt.Sprintf("kustomization does not parse, its whole directory counts as input: %s", msg)}
		k.Refs = lenientRefs(data)
		return k
	}
	kt.FixKustomization()
	k.Component = kt.Kind == types.ComponentKind
	pos := scalarPositions(data)
	add := func(field string, kind refKind, values ...string) {
		for _, v := range values {
			if v == "" || isInline(v) {
				continue
			}
			p := positionOf(pos, v)
			k.Refs = append(k.Refs, reference{Value: v, Field: field, Kind: kind, Line: p[0], Col: p[1]})
		}
	}
	add("resources", refKustomization, kt.Resources...)
	add("components", refKustomization, kt.Components...)
	add("generators", refKustomization, kt.Generators...)
	add("transformers", refKustomization, kt.Transformers...)
	add("validators", refKustomization, kt.Validators...)
	add("crds", refFile, kt.Crds...)
	add("configurations", refFile, kt.Configurations...)
	for _, p := range kt.Patches {
		add("patches", refFile, p.Path)
	}
	for _, p := range kt.PatchesJson6902 {
		add("patchesJson6902", refFile, p.Path)
	}
	for _, p := range kt.PatchesStrategicMerge {
		add("patchesStrategicMerge", refFile, string(p))
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
	k.Refs = append(k.Refs, helmRefs(&kt, pos)...)
	return k
}

// lenientRefs guesses the references of a kustomization that does not
// parse: every word that may be a path. Only those naming a kustomization
// directory are used (deps.go), so that a broken overlay does not turn its
// base into a deploy target of its own, and the base stays in its closure.
func lenientRefs(data []byte) []reference {
	var refs []reference
	for i, line := range strings.Split(string(data), "\n") {
		for _, w := range strings.Fields(line) {
			w = strings.Trim(w, `-'",[]{}:`)
			if w == "" || strings.Contains(w, "://") {
				continue
			}
			refs = append(refs, reference{Value: w, Kind: refKustomization, Line: i + 1})
		}
	}
	return refs
}

// helmRefs lists a kustomization's helm inputs: values files, and the chart
// home directory where kustomize looks for (or pulls) charts.
func helmRefs(kt *types.Kustomization, pos map[string][2]int) []reference {
	if len(kt.HelmCharts) == 0 {
		return nil
	}
	var refs []reference
	add := func(field string, kind refKind, v string) {
		if v == "" {
			return
		}
		p := pos[v]
		refs = append(refs, reference{Value: v, Field: field, Kind: kind, Line: p[0], Col: p[1]})
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
		if i := strings.Index(f, "="); i >= 0 {
			f = f[i+1:]
		}
		out = append(out, f)
	}
	out = append(out, s.EnvSources...)
	if s.EnvSource != "" {
		out = append(out, s.EnvSource)
	}
	return out
}

// isInline reports whether a list entry is an inline YAML document rather
// than a path (generators, transformers and patchesStrategicMerge accept both).
func isInline(v string) bool {
	return strings.Contains(v, "\n") || strings.Contains(v, ": ")
}

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
		for _, key := range []string{"paths", "envs", "additionalValuesFiles"} {
			out = append(out, stringList(doc[key])...)
		}
		for _, f := range stringList(doc["files"]) {
			if i := strings.Index(f, "="); i >= 0 {
				f = f[i+1:]
			}
			out = append(out, f)
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
