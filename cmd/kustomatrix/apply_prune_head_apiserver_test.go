package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kustomatrix/kustomatrix/internal/kube"
	"github.com/kustomatrix/kustomatrix/internal/kubetest"
)

// TestApplyPrunedWhenAnotherTargetDoesNotRender: one broken service must
// not stop the others' deployments. When another target does not render at
// the head, what a prune-enabled target's prune may delete is unknown: the
// target is applied in full without pruning, and the apply then fails
// (exit 3) saying so. The next apply, once the other target renders again,
// prunes.
func TestApplyPrunedWhenAnotherTargetDoesNotRender(t *testing.T) {
	c := kubetest.Start(t)
	t.Setenv("KUBECONFIG", c.Kubeconfig)
	t.Setenv("KUBECACHEDIR", filepath.Join(t.TempDir(), "kubectl-cache"))
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	for k, v := range map[string]string{"GIT_CONFIG_GLOBAL": os.DevNull, "GIT_CONFIG_NOSYSTEM": "1",
		"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"} {
		t.Setenv(k, v)
	}
	cl := &pruneCluster{t: t, c: c}
	r := newPruneRepo(t, map[string]string{
		".kustomatrix.yaml":                  "prune: [\"apps/**\"]\n",
		"apps/shop/prod/kustomization.yaml":  "namespace: shop\nresources: [ns.yaml, settings.yaml, legacy.yaml]\n",
		"apps/shop/prod/ns.yaml":             "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
		"apps/shop/prod/settings.yaml":       configMap("settings", `a: "1"`),
		"apps/shop/prod/legacy.yaml":         configMap("legacy", `a: "1"`),
		"apps/other/prod/kustomization.yaml": "namespace: shop\nresources: [cm.yaml]\n",
		"apps/other/prod/cm.yaml":            configMap("other", `a: "1"`),
	})
	r.commit("shop, other")
	cl.kmx(r, 0, "apply", "--target", "apps/shop/prod")
	cl.kmx(r, 0, "apply", "--target", "apps/other/prod")
	legacy := cl.uid("shop", "configmap", "legacy")

	// shop changes a ConfigMap, adds one and drops legacy (a prune);
	// other breaks.
	r.write("apps/shop/prod/kustomization.yaml", "namespace: shop\nresources: [ns.yaml, settings.yaml, added.yaml]\n")
	r.write("apps/shop/prod/settings.yaml", configMap("settings", `a: "2"`))
	r.write("apps/shop/prod/added.yaml", configMap("added", `b: "1"`))
	r.git("rm", "-q", "apps/shop/prod/legacy.yaml")
	r.write("apps/other/prod/kustomization.yaml", "namespace: shop\nresources: [cm.yaml, missing.yaml]\n")
	r.commit("shop changed; other broken")

	_, errOut := cl.kmx(r, exitFailure, "apply", "--target", "apps/shop/prod")
	for _, want := range []string{"apps/shop/prod was applied", "pruning was skipped", "apps/other/prod does not render at the head", "missing.yaml"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("apply with another target broken: stderr does not say %q\n%s", want, errOut)
		}
	}
	if got, _, _ := c.Kubectl("get", "configmap", "settings", "--namespace=shop", "-o", "jsonpath={.data.a}"); got != "2" {
		t.Errorf("the changed ConfigMap was not applied: a=%q", got)
	}
	cl.exists("shop", "configmap", "added")
	if got := cl.uid("shop", "configmap", "legacy"); got != legacy {
		t.Fatalf("legacy was pruned (or recreated) although what apps/other/prod deploys is unknown")
	}
	// The new object is a member of the set, so a later prune can take it.
	id, _, _ := c.Kubectl("get", "configmap", "added", "--namespace=shop", "-o", "jsonpath={.metadata.labels.applyset\\.kubernetes\\.io/part-of}")
	if want := kube.ApplySetID(applySetParent("apps/shop/prod"), "shop"); id != want {
		t.Errorf("added carries part-of %q, want %q", id, want)
	}

	// other fixed: the next apply prunes.
	r.write("apps/other/prod/kustomization.yaml", "namespace: shop\nresources: [cm.yaml]\n")
	r.commit("other fixed")
	cl.kmx(r, 0, "apply", "--target", "apps/shop/prod")
	cl.gone("shop", "configmap", "legacy")
	cl.exists("shop", "configmap", "added")
	cl.exists("shop", "configmap", "other")
}
