package report

import (
	"fmt"
	"strings"
	"testing"
)

func TestRenderRemovals(t *testing.T) {
	reports := []Report{
		{Service: "cart", Environment: "prod", Path: "apps/shop-cart/prod", Status: StatusChanges, Diff: "+  replicas: 2\n"},
		// The same service and environment, removed: a directory moved.
		{Service: "cart", Environment: "prod", Path: "apps/cart/prod", Status: StatusChanges, Removal: &Removal{
			Pruned: true, Source: SourceCluster, Deletes: []string{"configmap/cart-legacy -n shop"},
			Kept: []Kept{{ID: "deployment.apps/cart -n shop", RenderedBy: "apps/shop-cart/prod"}}}},
		{Service: "web", Environment: "dev", Path: "apps/web/dev", Status: StatusChanges, Removal: &Removal{
			Pruned: true, Source: SourceRendering, Deletes: []string{"service/web -n web", "deployment.apps/web -n web"}}},
		{Service: "old", Environment: "dev", Path: "apps/old/dev", Status: StatusNoChanges, Removal: &Removal{}},
		{Service: "bad", Environment: "dev", Path: "apps/bad/dev", Status: StatusError, Diff: "kustomize build apps/bad/dev: boom", Removal: &Removal{Pruned: true}},
		{Service: "gone", Environment: "dev", Path: "apps/gone/dev", Status: StatusSkipped, Removal: &Removal{}},
		{Service: "none", Environment: "dev", Path: "apps/none/dev", Status: StatusNoChanges, Removal: &Removal{
			Pruned: true, Source: SourceCluster, Note: "no ApplySet parent | in the cluster"}},
	}
	body, err := Render(reports, Options{Workflow: "kustomatrix"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"1 target(s): 🟡 1 with changes. 6 removed target(s): merging deletes 3 object(s) (2 not known: see below).",
		"| `cart` | 🟡 changes |", // the grid has the head's target only
		"| `cart` / `prod` (`apps/cart/prod`) | 🗑️ deletes 1 object(s), listed in the cluster; keeps 1 that a target at the head renders |",
		"| `web` / `dev` (`apps/web/dev`) | 🗑️ deletes at most 2 object(s): from the rendering at the base (the cluster was not read); only those carrying the target's ApplySet label |",
		"| `old` / `dev` (`apps/old/dev`) | kept: pruning is not enabled for it, nothing is deleted |",
		"| `bad` / `dev` (`apps/bad/dev`) | ❌ error: the list of deletions failed (below) |",
		"| `gone` / `dev` (`apps/gone/dev`) | ⏭️ unknown: its job left no list of deletions |",
		"| `none` / `dev` (`apps/none/dev`) | nothing deleted (no ApplySet parent \\| in the cluster) |",
		"Deleted on merge (members of the target's ApplySet, listed in the cluster):\n  configmap/cart-legacy -n shop\nKept: a target at the head renders them:\n  deployment.apps/cart -n shop  (apps/shop-cart/prod)\n",
		"Deleted on merge, if they carry the target's ApplySet label (rendered at the base; the cluster was not read):\n  service/web -n web\n",
		"<code>bad</code> / <code>dev</code>: removed, error (<code>apps/bad/dev</code>)</summary>\n\n```text\nkustomize build apps/bad/dev: boom\n```",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "| `old` |") || strings.Contains(body, "| `web` |") {
		t.Errorf("removed targets in the grid of the head's targets:\n%s", body)
	}
}

// A list of deletions too long for a comment is cut like a diff, with a
// pointer to the run; the removed targets' table stays whole.
func TestRenderRemovalsWithinLimit(t *testing.T) {
	var ids []string
	for i := range 5000 {
		ids = append(ids, fmt.Sprintf("configmap/settings-%04d -n shop", i))
	}
	reports := []Report{{Service: "cart", Environment: "prod", Path: "apps/cart/prod", Status: StatusChanges,
		Removal: &Removal{Pruned: true, Source: SourceCluster, Deletes: ids}}}
	body, err := Render(reports, Options{Workflow: "kustomatrix", RunURL: "https://github.com/acme/m/actions/runs/1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > MaxCommentLength {
		t.Fatalf("%d bytes", len(body))
	}
	for _, want := range []string{"🗑️ deletes 5000 object(s), listed in the cluster", "  configmap/settings-0000 -n shop\n", "to stay within GitHub's comment size limit"} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q", want)
		}
	}
}

func TestReadKeepsARemovedTargetBesideItsSuccessor(t *testing.T) {
	dir := t.TempDir()
	for _, r := range []Report{
		{Service: "cart", Environment: "prod", Path: "apps/shop-cart/prod", Status: StatusNoChanges},
		{Service: "cart", Environment: "prod", Path: "apps/cart/prod", Status: StatusNoChanges, Removal: &Removal{Pruned: true, Source: SourceCluster}},
	} {
		if _, err := Write(dir, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Read(dir)
	if err != nil || len(got) != 2 {
		t.Fatalf("Read: %v, %d reports", err, len(got))
	}
	if _, err := Write(dir, Report{Service: "x", Environment: "y", Path: "z", Status: StatusNoChanges, Removal: &Removal{Source: "guess"}}); err == nil {
		t.Error("a removal with an unknown source was written")
	}
}
