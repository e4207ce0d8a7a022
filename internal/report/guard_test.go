package report

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kustomatrix/kustomatrix/internal/render"
	"github.com/kustomatrix/kustomatrix/internal/summary"
)

func object(apiVersion, kind, ns, name string) render.Object {
	return render.Object{APIVersion: apiVersion, Kind: kind, Namespace: ns, Name: name,
		YAML: []byte("apiVersion: " + apiVersion + "\nkind: " + kind + "\n")}
}

// secretDiff is kubectl diff's chunk for another team's Secret: kubectl
// masked data, not the annotation.
const secretDiff = `--- /tmp/LIVE-1/v1.Secret.payments.db
+++ /tmp/MERGED-2/v1.Secret.payments.db
@@ -1,9 +1,6 @@
 apiVersion: v1
 data:
-  password: '*** (before)'
+  password: '*** (after)'
 kind: Secret
 metadata:
-  annotations:
-    kubectl.kubernetes.io/last-applied-configuration: |
-      {"apiVersion":"v1","data":{"password":"aHVudGVyMg=="},"kind":"Secret"}
   name: db
`

func TestGuardMasksAndFlags(t *testing.T) {
	objs := []render.Object{
		object("apps/v1", "Deployment", "shop", "web"),
		object("v1", "Service", "shop", "web"),
		object("v1", "ConfigMap", "shop", "web"),
		object("v1", "Secret", "payments", "db"),
		object("v1", "Namespace", "", "shop"),
		object("v1", "ConfigMap", "payments", "settings"),
	}
	cmDiff := "--- a\n+++ b\n@@ -1 +1 @@\n-x: 1\n+x: 2\n"
	rows := Guard(objs, []summary.Row{
		{ID: "deployment.apps/web -n shop", Status: "changed", Diff: []byte(cmDiff)},
		{ID: "service/web -n shop", Status: "unchanged"},
		{ID: "configmap/web -n shop", Status: "unchanged"},
		{ID: "secret/db -n payments", Status: "changed", Diff: []byte(secretDiff)},
		{ID: "namespace/shop", Status: "unchanged"},
		{ID: "configmap/settings -n payments", Status: "unchanged"},
		{ID: "secret/gone -n shop", Status: "no longer rendered", Diff: []byte("--- a\n+++ b\n@@ -1,2 +0,0 @@\n-data:\n-  token: dG9rZW4=\n")},
	})
	secret := string(rows[3].Diff)
	if strings.Contains(secret, "aHVudGVyMg==") || strings.Contains(string(rows[6].Diff), "dG9rZW4=") {
		t.Fatalf("a Secret's value shows:\n%s\n%s", secret, rows[6].Diff)
	}
	if !strings.HasPrefix(secret, flagPrefix+"secret/db -n payments: outside the target's namespace shop\n") {
		t.Errorf("the Secret in another namespace is not flagged in its diff:\n%s", secret)
	}
	got := map[string]string{}
	for _, r := range rows {
		if r.Note != "" {
			got[r.ID] = r.Note
		}
	}
	want := map[string]string{
		"secret/db -n payments":          "outside the target's namespace shop",
		"configmap/settings -n payments": "outside the target's namespace shop",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flagged rows (-want +got):\n%s", diff)
	}
	if string(rows[0].Diff) != cmDiff {
		t.Errorf("a Deployment's diff was changed:\n%s", rows[0].Diff)
	}
}

func TestOutside(t *testing.T) {
	for name, tc := range map[string]struct {
		objs []render.Object
		want []string
	}{
		"one namespace": {objs: []render.Object{object("v1", "ConfigMap", "a", "x"), object("v1", "Namespace", "", "a")}},
		"cluster-scoped and defaulted objects": {objs: []render.Object{
			object("v1", "ConfigMap", "a", "x"), object("rbac.authorization.k8s.io/v1", "ClusterRole", "", "r"), object("v1", "ConfigMap", "", "d")}},
		"a tie flags every namespaced object": {objs: []render.Object{
			object("v1", "ConfigMap", "a", "x"), object("v1", "Secret", "b", "y"), object("v1", "Namespace", "", "b")},
			want: []string{"configmap/x -n a", "secret/y -n b"}},
		"creating the namespace does not make it the target's": {objs: []render.Object{
			object("v1", "ConfigMap", "a", "x"), object("v1", "ConfigMap", "a", "y"),
			object("v1", "Namespace", "", "b"), object("v1", "Secret", "b", "z")},
			want: []string{"secret/z -n b"}},
	} {
		t.Run(name, func(t *testing.T) {
			var got []string
			for id := range Outside(tc.objs) {
				got = append(got, id)
			}
			if diff := cmp.Diff(tc.want, got, sortStrings); diff != "" {
				t.Errorf("flagged (-want +got):\n%s", diff)
			}
		})
	}
}

var sortStrings = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

// TestRenderShowsFlags: a report whose diff holds flagged objects is
// marked in the table and in the heading of its diff.
func TestRenderShowsFlags(t *testing.T) {
	rows := Guard([]render.Object{object("v1", "ConfigMap", "shop", "a"), object("v1", "ConfigMap", "shop", "b"), object("v1", "Secret", "payments", "db")},
		[]summary.Row{{ID: "secret/db -n payments", Status: "changed", Diff: []byte(secretDiff)}})
	r := Report{Service: "shop", Environment: "prod", Path: "apps/shop/prod", Status: StatusChanges, Diff: string(rows[0].Diff)}
	body, err := Render([]Report{r}, Options{Workflow: "k"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| `shop` | 🟡 changes ⚠️ |",
		"(<code>apps/shop/prod</code>) ⚠️ 1 object(s) outside the target's namespace</summary>",
		flagPrefix + "secret/db -n payments: outside the target's namespace shop\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	// Error output is not a diff: a line in it that looks like a flag
	// flags nothing.
	r.Status, r.Diff = StatusError, flagPrefix+"x\n"
	if body, _ := Render([]Report{r}, Options{Workflow: "k"}); strings.Contains(body, "error ⚠️") || strings.Contains(body, "namespace</summary>") {
		t.Errorf("error output raised a flag:\n%s", body)
	}
}

// TestRenderHostileNames: service and environment names come from
// directory names, paths and diffs from the pull request. A name with a
// newline and "<!--" used to end the table and open an HTML comment that
// hid every diff after it; now every name stays inside its cell or tag,
// on its line, and every diff block stays whole.
func TestRenderHostileNames(t *testing.T) {
	hostile := []Report{
		{Service: "cart\n\n<!--", Environment: "prod", Path: "apps/cart\n\n<!--/prod", Status: StatusChanges, Diff: "+ a\n"},
		{Service: "x</details>\n\n# Forged", Environment: "dev|x", Path: "apps/x", Status: StatusChanges, Diff: "+ </details>\n+ <!--\n"},
		{Service: "ev\u202eil", Environment: "st\u200bage", Path: "apps/\u2066e\u2069", Status: StatusChanges, Diff: "+ a: \u202eb\n"},
		{Service: "саrt", Environment: "prod", Path: "apps/саrt/prod", Status: StatusNoChanges},
		{Service: "zz-last", Environment: "prod", Path: "apps/zz/prod", Status: StatusChanges, Diff: "+ the last diff\n"},
	}
	body, err := Render(hostile, Options{Workflow: "kustomatrix"})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(body, "\n")
	inBlock, details, closing := false, 0, 0
	fence := ""
	for i, l := range lines {
		switch {
		case inBlock && l == fence:
			inBlock = false
			continue
		case inBlock:
			continue
		case strings.HasPrefix(l, "```"):
			inBlock, fence = true, strings.TrimRight(l, "abcdefghijklmnopqrstuvwxyz")
			continue
		}
		if i > 0 && strings.Contains(l, "<!--") && !strings.HasPrefix(l, "| `") {
			t.Errorf("line %d opens an HTML comment outside a code span: %q", i+1, l)
		}
		if strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "### kustomatrix: ") {
			t.Errorf("line %d is a forged heading: %q", i+1, l)
		}
		if strings.HasPrefix(l, "| ") {
			if cells := strings.Count(strings.ReplaceAll(l, `\|`, ""), "|"); cells != 5 {
				t.Errorf("line %d has %d pipes, want 5 (service and three environments): %q", i+1, cells, l)
			}
		}
		if strings.HasPrefix(l, "<details>") {
			details++
		}
		if l == "</details>" {
			closing++
		}
		if strings.ContainsAny(l, "\u202e\u200b\u2066\u2069") {
			t.Errorf("line %d keeps an invisible character: %q", i+1, l)
		}
	}
	if details != 4 || closing != 4 {
		t.Errorf("%d <details> and %d </details> lines, want one each per diff (4):\n%s", details, closing, body)
	}
	if !strings.Contains(body, "+ the last diff\n") {
		t.Errorf("the last diff is lost:\n%s", body)
	}
	for _, want := range []string{"`<U+0441><U+0430>rt`", "`cart<U+000A><U+000A><!--`", "<code>ev&lt;U+202E&gt;il</code>", "+ a: <U+202E>b\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

// TestRenderSaysRendered: a diff made without cluster credentials says so
// in its table cell and its heading; a cluster diff says nothing of it.
func TestRenderSaysRendered(t *testing.T) {
	base := strings.Repeat("a1", 20)
	r := Report{Service: "cart", Environment: "dev", Path: "apps/cart/dev", Status: StatusChanges, Diff: "+x\n", RenderedFrom: base}
	body, err := Render([]Report{r}, Options{Workflow: "k"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"changes (rendered) |", "rendered against base <code>" + base[:12] + "</code>, not compared with the cluster</summary>"} {
		if !strings.Contains(body, want) {
			t.Fatalf("the comment lacks %q:\n%s", want, body)
		}
	}
	r.RenderedFrom = ""
	if body, _ := Render([]Report{r}, Options{Workflow: "k"}); strings.Contains(body, "rendered") {
		t.Fatalf("a cluster diff is said to be rendered:\n%s", body)
	}
}
