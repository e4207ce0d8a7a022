package generator_test

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kustomatrix/kustomatrix/generator"
)

// hostileNames are file names that are legal on Linux and macOS and that
// YAML, globs or kustomize's own syntax give a meaning to.
var hostileNames = []string{
	"release: notes.txt", "a #b.txt", "#lead.txt", "it's.txt", `say "hi".txt`, "-lead.txt",
	"{brace}.txt", "[bracket].txt", "*star.txt", "?q.txt", "two words.txt", "tab\there.txt",
	"ünïcödé.txt", "k=v.txt", "null", "{}",
}

// asContent are the names kustomize reads as inline content, not as a
// file, in the fields that accept both: it parses an entry as resources
// first, and "#lead.txt" (a comment), "null" and "{}" are empty ones.
var asContent = map[string]bool{"#lead.txt": true, "null": true, "{}": true}

// The pieces the cases are made of. Every kustomization also has
// cm.yaml, the ConfigMap "the-map", as a resource.
const (
	theMap  = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: the-map\ndata:\n  a: \"1\"\n"
	smPatch = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: the-map\ndata:\n  b: \"2\"\n"
	labels  = "apiVersion: builtin\nkind: LabelTransformer\nmetadata:\n  name: labels\nlabels:\n  x: y\nfieldSpecs:\n- path: metadata/labels\n  create: true\n"
	gen     = "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: gen\nliterals:\n- a=b\n"
	// A validator must leave the resources as they are: no labels.
	validator = "apiVersion: builtin\nkind: LabelTransformer\nmetadata:\n  name: check\nlabels: {}\nfieldSpecs: []\n"
	// crds are OpenAPI definitions, by type name.
	crd = `{"io.x.v1.Foo": {"Schema": {"properties": {"spec": {"type": "object"}}}}}`
)

// fieldCase is one field of a kustomization given a file name: the
// kustomization's fields (besides resources: [cm.yaml]), the files it
// needs, and the file kustomize is to read because of the name (the name
// itself when empty).
type fieldCase struct {
	kust  func(f string) map[string]any
	files func(f string) map[string]string
	reads func(f string) string
	// inline: the field may hold inline content, so kustomize reads a name
	// in asContent as content.
	inline bool
	// wantRead says whether kustomize reads the file of a name; nil: always.
	wantRead func(f string) bool
}

func file(content string) func(f string) map[string]string {
	return func(f string) map[string]string { return map[string]string{f: content} }
}

// dir makes f a directory holding a kustomization.
func dir(kust string) func(f string) map[string]string {
	return func(f string) map[string]string {
		return map[string]string{f + "/kustomization.yaml": kust, f + "/cm2.yaml": strings.ReplaceAll(theMap, "the-map", "other")}
	}
}

func inDir(f string) string { return f + "/kustomization.yaml" }

func list(key string) func(f string) map[string]any {
	return func(f string) map[string]any { return map[string]any{key: []string{f}} }
}

// marshal writes v as YAML, quoting names as YAML needs.
func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var fieldCases = map[string]fieldCase{
	"resources":      {kust: list("resources"), files: file(strings.ReplaceAll(theMap, "the-map", "other"))},
	"resources dir":  {kust: list("resources"), files: dir("resources: [cm2.yaml]\n"), reads: inDir},
	"bases":          {kust: list("bases"), files: dir("resources: [cm2.yaml]\n"), reads: inDir},
	"components":     {kust: list("components"), files: dir("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [cm2.yaml]\n"), reads: inDir},
	"crds":           {kust: list("crds"), files: file(crd)},
	"configurations": {kust: list("configurations"), files: file("nameReference:\n- kind: ConfigMap\n  fieldSpecs:\n  - path: spec/config\n    kind: Foo\n")},
	"generators":     {kust: list("generators"), files: file(gen), inline: true},
	"transformers":   {kust: list("transformers"), files: file(labels), inline: true},
	"validators":     {kust: list("validators"), files: file(validator), inline: true},
	"openapi.path": {kust: func(f string) map[string]any { return map[string]any{"openapi": map[string]string{"path": f}} },
		files: file(`{"definitions": {}}`)},
	"configMapGenerator.files": {kust: func(f string) map[string]any {
		return map[string]any{"configMapGenerator": []any{map[string]any{"name": "g", "files": []string{"key=" + f}}}}
	}, files: file("x\n"), wantRead: noEquals},
	// A key taken from a name that is not a valid key fails the build,
	// after the file is read.
	"configMapGenerator.files without key": {kust: func(f string) map[string]any {
		return map[string]any{"configMapGenerator": []any{map[string]any{"name": "g", "files": []string{f}}}}
	}, files: file("x\n"), wantRead: func(f string) bool { return !strings.Contains(f, "=") }},
	"configMapGenerator.envs": {kust: func(f string) map[string]any {
		return map[string]any{"configMapGenerator": []any{map[string]any{"name": "g", "envs": []string{f}}}}
	}, files: file("A=1\n")},
	"configMapGenerator.env": {kust: func(f string) map[string]any {
		return map[string]any{"configMapGenerator": []any{map[string]any{"name": "g", "env": f}}}
	}, files: file("A=1\n")},
	"secretGenerator.files": {kust: func(f string) map[string]any {
		return map[string]any{"secretGenerator": []any{map[string]any{"name": "s", "files": []string{"key=" + f}}}}
	}, files: file("x\n"), wantRead: noEquals},
	"secretGenerator.envs": {kust: func(f string) map[string]any {
		return map[string]any{"secretGenerator": []any{map[string]any{"name": "s", "envs": []string{f}}}}
	}, files: file("A=1\n")},
	"patches.path": {kust: func(f string) map[string]any { return map[string]any{"patches": []any{map[string]string{"path": f}}} },
		files: file(smPatch)},
	"patchesJson6902.path": {kust: func(f string) map[string]any {
		return map[string]any{"patchesJson6902": []any{map[string]any{"path": f, "target": map[string]string{"version": "v1", "kind": "ConfigMap", "name": "the-map"}}}}
	}, files: file("- op: add\n  path: /data/b\n  value: \"2\"\n")},
	"patchesStrategicMerge": {kust: list("patchesStrategicMerge"), files: file(smPatch), inline: true},
	"replacements.path": {kust: func(f string) map[string]any {
		return map[string]any{"replacements": []any{map[string]string{"path": f}}}
	},
		files: file("source: {kind: ConfigMap, name: the-map, fieldPath: data.a}\ntargets:\n- select: {kind: ConfigMap, name: the-map}\n  fieldPaths: [data.c]\n  options: {create: true}\n")},
	// A plugin configuration file names files too, and so does an inline one.
	"transformer file path": {kust: func(string) map[string]any { return map[string]any{"transformers": []string{"pt.yaml"}} },
		files: func(f string) map[string]string {
			return map[string]string{f: smPatch, "pt.yaml": "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: p\npath: " + quote(f) + "\n"}
		}},
	"generator file files": {kust: func(string) map[string]any { return map[string]any{"generators": []string{"g.yaml"}} },
		files: func(f string) map[string]string {
			return map[string]string{f: "x\n", "g.yaml": "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: g\nfiles:\n- " + quote("key="+f) + "\n"}
		}, wantRead: noEquals},
	"transformer file paths": {kust: func(string) map[string]any { return map[string]any{"transformers": []string{"psm.yaml"}} },
		files: func(f string) map[string]string {
			return map[string]string{f: smPatch, "psm.yaml": "apiVersion: builtin\nkind: PatchStrategicMergeTransformer\nmetadata:\n  name: p\npaths:\n- " + quote(f) + "\n"}
		}, inline: true},
	"inline transformer path": {kust: func(f string) map[string]any {
		return map[string]any{"transformers": []string{"apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: p\npath: " + quote(f) + "\n"}}
	}, files: file(smPatch)},
}

// noEquals: kustomize refuses a "key=path" entry whose path holds a "=",
// reading nothing.
func noEquals(f string) bool { return !strings.Contains(f, "=") }

func quote(s string) string {
	b, _ := yaml.Marshal(s)
	return strings.TrimSuffix(string(b), "\n")
}

// TestPathsArePaths builds every field kind with every hostile name with
// kustomize, recording what it reads, and scans the same repository: the
// closure of the target holds the named file exactly when kustomize reads
// it, covers every read, and the scan reports nothing.
func TestPathsArePaths(t *testing.T) {
	for field, fc := range fieldCases {
		for _, name := range hostileNames {
			t.Run(field+"/"+name, func(t *testing.T) {
				t.Parallel()
				kust := fc.kust(name)
				kust["resources"] = append([]string{"cm.yaml"}, stringsOf(kust["resources"])...)
				files := fc.files(name)
				files["cm.yaml"] = theMap
				files["kustomization.yaml"] = marshal(t, kust)
				read := name
				if fc.reads != nil {
					read = fc.reads(name)
				}
				want := fc.wantRead == nil || fc.wantRead(name)
				want = want && !(fc.inline && asContent[name])
				checkReads(t, files, path.Join("app", read), want)
			})
		}
	}
}

// TestInlineContent: in the fields that accept inline content, YAML and
// compact JSON are content, read from no file, with no diagnostic.
func TestInlineContent(t *testing.T) {
	target := map[string]string{"version": "v1", "kind": "ConfigMap", "name": "the-map"}
	for name, kust := range map[string]map[string]any{
		"patches.patch yaml":            {"patches": []any{map[string]any{"patch": smPatch}}},
		"patches.patch json6902":        {"patches": []any{map[string]any{"patch": `[{"op":"add","path":"/data/b","value":"2"}]`, "target": target}}},
		"patches.patch json":            {"patches": []any{map[string]any{"patch": `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"the-map"},"data":{"b":"2"}}`}}},
		"patchesJson6902.patch yaml":    {"patchesJson6902": []any{map[string]any{"patch": "- op: add\n  path: /data/b\n  value: \"2\"\n", "target": target}}},
		"patchesJson6902.patch json":    {"patchesJson6902": []any{map[string]any{"patch": `[{"op":"add","path":"/data/b","value":"2"}]`, "target": target}}},
		"patchesStrategicMerge yaml":    {"patchesStrategicMerge": []string{smPatch}},
		"patchesStrategicMerge json":    {"patchesStrategicMerge": []string{`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"the-map"},"data":{"b":"2"}}`}},
		"patchesStrategicMerge comment": {"patchesStrategicMerge": []string{"# nothing: here\n", smPatch}},
		"generators yaml":               {"generators": []string{gen}},
		"generators json":               {"generators": []string{`{"apiVersion":"builtin","kind":"ConfigMapGenerator","metadata":{"name":"gen"},"literals":["a=b"]}`}},
		"transformers yaml":             {"transformers": []string{labels}},
		"transformers json":             {"transformers": []string{`{"apiVersion":"builtin","kind":"LabelTransformer","metadata":{"name":"l"},"labels":{"x":"y"},"fieldSpecs":[{"path":"metadata/labels","create":true}]}`}},
		"validators yaml":               {"validators": []string{validator}},
		"validators json":               {"validators": []string{`{"apiVersion":"builtin","kind":"LabelTransformer","metadata":{"name":"check"},"labels":{},"fieldSpecs":[]}`}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			kust["resources"] = []string{"cm.yaml"}
			checkReads(t, map[string]string{"cm.yaml": theMap, "kustomization.yaml": marshal(t, kust)}, "", false)
		})
	}
}

func stringsOf(v any) []string {
	s, _ := v.([]string)
	return s
}

// checkReads writes files under app/ of a new repository, builds app with
// kustomize and scans the repository. Every file kustomize reads must be in
// the closure of app, and file (when not "") in it exactly when kustomize
// reads it, as wantRead says it does. A build that reads the file must
// succeed, unless the file is a generator's source (whose name may not be
// a valid key); a scan must report nothing but for a name kustomize refuses.
func checkReads(t *testing.T, files map[string]string, file string, wantRead bool) {
	t.Helper()
	repo := t.TempDir()
	for p, content := range files {
		full := filepath.Join(repo, "app", filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs := &recordingFS{FileSystem: filesys.MakeFsOnDisk(), reads: map[string]bool{}}
	_, buildErr := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, filepath.Join(repo, "app"))
	var reads []string
	for p := range fs.reads {
		rel, err := filepath.Rel(repo, p)
		if err != nil {
			t.Fatal(err)
		}
		reads = append(reads, filepath.ToSlash(rel))
	}
	if file != "" && slices.Contains(reads, file) != wantRead {
		t.Fatalf("kustomize read %q: %v, want %v (reads %q, build error %v)\n%s", file, !wantRead, wantRead, reads, buildErr, files["kustomization.yaml"])
	}
	if buildErr != nil && (file == "" || wantRead && !strings.Contains(buildErr.Error(), "not a valid key")) {
		t.Fatalf("kustomize build: %v\n%s", buildErr, files["kustomization.yaml"])
	}
	cfg, err := generator.LoadConfig(generator.ConfigFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := generator.Scan(filesys.MakeFsOnDisk(), repo, cfg)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	var inputs []string
	for _, tg := range r.Targets {
		if tg.Path == "app" {
			inputs = tg.Inputs
		}
	}
	if inputs == nil {
		t.Fatalf("no target app; targets %q", targetPaths(r))
	}
	for _, p := range reads {
		if !covered(inputs, p) {
			t.Errorf("kustomize read %q, which is not in the closure %q", p, inputs)
		}
	}
	if file != "" && !wantRead && covered(inputs, file) {
		t.Errorf("kustomize does not read %q, which is in the closure %q", file, inputs)
	}
	if buildErr == nil && len(r.Diagnostics) > 0 {
		t.Errorf("diagnostics for a kustomization kustomize builds: %v", r.Diagnostics)
	}
}

// TestBrokenKustomizationKeepsHostileBases: a kustomization that does not
// parse still keeps the bases it names, whatever their names, in its
// closure, and they do not become targets of their own.
func TestBrokenKustomizationKeepsHostileBases(t *testing.T) {
	repo := t.TempDir()
	bases := []string{"my: base", "base #1", "two words", "'quoted'", "ünï"}
	files := map[string]string{"app/kustomization.yaml": "resources:\n- '../bases/my: base'\n- \"../bases/base #1\"\n- ../bases/two words # a comment\n- \"../bases/'quoted'\"\n- ../bases/ünï\nbroken: [\n"}
	for _, b := range bases {
		files["bases/"+b+"/kustomization.yaml"] = "resources: [cm.yaml]\n"
		files["bases/"+b+"/cm.yaml"] = theMap
	}
	for p, content := range files {
		full := filepath.Join(repo, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := generator.LoadConfig(generator.ConfigFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := generator.Scan(filesys.MakeFsOnDisk(), repo, cfg)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if len(r.Targets) != 1 || r.Targets[0].Path != "app" {
		t.Fatalf("targets %q, want app alone", targetPaths(r))
	}
	for _, b := range bases {
		if p := "bases/" + b + "/kustomization.yaml"; !covered(r.Targets[0].Inputs, p) {
			t.Errorf("%q is not in the closure %q", p, r.Targets[0].Inputs)
		}
	}
}

func targetPaths(r *generator.Repo) []string {
	var out []string
	for _, t := range r.Targets {
		out = append(out, t.Path)
	}
	return out
}
