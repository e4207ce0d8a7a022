package generator

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/types"
)

// FuzzPathsArePaths: whatever its characters, every value of a field that
// kustomize only ever reads as a path is a reference of that field; a
// value of a field that may hold inline content is one only when kustomize
// would not read it as content. The oracle decodes with kustomize's own
// Unmarshal, so this also holds the fast path to it.
func FuzzPathsArePaths(f *testing.F) {
	for _, b := range fixtureFiles(f, func(p string) bool { return isKustomizationName(path.Base(p)) }) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k := parseKustomization("app", "app/kustomization.yaml", data)
		var kt types.Kustomization
		if k.Err != nil || kt.Unmarshal(data) != nil {
			return
		}
		kt.FixKustomization()
		refs := map[string][]string{}
		for _, r := range k.Refs {
			refs[r.Field] = append(refs[r.Field], r.Value)
			switch {
			case r.Field == "patchesStrategicMerge" && isInline(r.Value):
				t.Fatalf("inline content taken for a path: %#v", r)
			case r.Kind == refKustomization && r.Field != "resources" && r.Field != "components" && isInlineConfig(r.Value):
				t.Fatalf("an inline plugin configuration taken for a path: %#v", r)
			}
		}
		want := map[string][]string{
			"resources":      kt.Resources,
			"components":     kt.Components,
			"crds":           kt.Crds,
			"configurations": kt.Configurations,
			"openapi":        {kt.OpenAPI["path"]},
		}
		for _, p := range kt.Patches {
			want["patches"] = append(want["patches"], p.Path)
		}
		for _, r := range kt.Replacements {
			want["replacements"] = append(want["replacements"], r.Path)
		}
		for _, g := range kt.ConfigMapGenerator {
			want["configMapGenerator"] = append(want["configMapGenerator"], g.EnvSources...)
		}
		for field, values := range want {
			for _, v := range values {
				if v != "" && !slices.Contains(refs[field], v) {
					t.Fatalf("%s %q is not a reference; references: %q", field, v, refs[field])
				}
			}
		}
	})
}

// TestAliasBombIsNotContent: an entry whose aliases expand without end is
// taken for a path at once, not expanded by kyaml for ever.
func TestAliasBombIsNotContent(t *testing.T) {
	var b strings.Builder
	b.WriteString("kind: ConfigMap\nmetadata:\n  name: x\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [%s*a%d]\n", i, i, strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 9), i-1)
	}
	bomb := b.String()
	data, err := yaml.Marshal(map[string][]string{"patchesStrategicMerge": {bomb}, "transformers": {bomb}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *kustomization, 1)
	go func() { done <- parseKustomization("app", "app/kustomization.yaml", data) }()
	select {
	case k := <-done:
		if len(k.Refs) != 2 {
			t.Errorf("references %+v, want the two entries as paths", k.Refs)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("parseKustomization expands the aliases of an entry")
	}
}

// FuzzPlainPath: what plainPath lets skip kustomize's parse, kustomize
// does not read as content.
func FuzzPlainPath(f *testing.F) {
	for _, s := range []string{"a.yaml", "../base/x.yaml", "...", ".", "..", "null", "nulls", "~", "-", "---", "-x", "1e3", "true", "0x1F", "a/b-c_d.e", "_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !plainPath(v) {
			return
		}
		if _, err := resourceFactory.SliceFromBytes([]byte(v)); err == nil {
			t.Fatalf("plainPath(%q), but kustomize reads it as content", v)
		}
		if _, err := resMapFactory.NewResMapFromBytes([]byte(v)); err == nil {
			t.Fatalf("plainPath(%q), but kustomize reads it as a plugin configuration", v)
		}
	})
}
