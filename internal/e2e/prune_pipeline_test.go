package e2e

import (
	"slices"
	"strings"
	"testing"
)

// TestPipelineRenamePrune runs a rename of a prune-enabled service through
// the generated pipeline (../shared/cases/05 for real): the pull request's
// comment lists what merging deletes, read from the cluster with the diff's
// credentials, and keeps what the renamed service renders; the push applies
// the renamed service, then the removed targets job deletes only what no
// target renders any more.
func TestPipelineRenamePrune(t *testing.T) {
	p := newPipeline(t)
	first := p.repo.commitAll("manifests and pipeline")
	if run := p.push(t, "0000000000000000000000000000000000000000"); run.Code != 0 {
		t.Fatalf("first push: act exit %d\n%s", run.Code, tail(run.Raw, 80))
	}
	uid := func(ns, kind, name string) string {
		out, _, _ := p.cluster.Kubectl("get", kind, name, "-n", ns, "--ignore-not-found", "-o", "jsonpath={.metadata.uid}")
		return out
	}
	// The debug component's ConfigMap has a generated name (a hash suffix).
	debugConfigMap := func() string {
		out, _, _ := p.cluster.Kubectl("get", "configmaps", "-n", "shop-checkout-dev", "-o", "name")
		for _, n := range strings.Fields(out) {
			if strings.HasPrefix(n, "configmap/debug-settings-") {
				return strings.TrimPrefix(n, "configmap/")
			}
		}
		return ""
	}
	deployment, debug := uid("shop-checkout-dev", "deployment", "checkout-api"), debugConfigMap()
	if deployment == "" || debug == "" {
		t.Fatal("the first push did not apply checkout dev with its debug ConfigMap")
	}

	// checkout (prune: apps/checkout/**) renamed checkout-v2, which drops
	// the debug component in dev: the objects keep their names.
	p.repo.git("mv", "apps/checkout", "apps/checkout-v2")
	edit(t, p.repo, "apps/checkout-v2/overlays/dev/kustomization.yaml", "component", func(s string) string {
		return strings.Replace(s, "components:\n  - ../../../../components/debug\n", "", 1)
	})
	if out, code := p.repo.kustomatrix("generate"); code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, out)
	}
	p.repo.git("checkout", "-q", "-b", "feature")
	p.repo.commitAll("checkout renamed checkout-v2, without the debug component in dev")

	run := p.pullRequest(t, first)
	if run.Code != 0 {
		t.Fatalf("pull request: act exit %d\n%s", run.Code, tail(run.Raw, 80))
	}
	removedLegs(t, run)
	body := p.comment(t, run)
	for _, want := range []string{
		"**Removed targets**",
		"| `checkout` / `dev` (`apps/checkout/overlays/dev`) | 🗑️ deletes 1 object(s), listed in the cluster; keeps ",
		"  configmap/" + debug + " -n shop-checkout-dev\n",
		"  deployment.apps/checkout-api -n shop-checkout-dev  (apps/checkout-v2/overlays/dev)\n",
		"| `checkout` / `prod` (`apps/checkout/overlays/prod`) | nothing deleted; keeps ",
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("the comment lacks %q:\n%s", want, body)
		}
	}
	if debugConfigMap() == "" {
		t.Fatal("a pull request deleted from the cluster")
	}

	// The merge.
	p.repo.git("checkout", "-q", "main")
	p.repo.git("merge", "-q", "--ff-only", "feature")
	run = p.push(t, first)
	if run.Code != 0 {
		t.Fatalf("push: act exit %d\n%s", run.Code, tail(run.Raw, 80))
	}
	removedLegs(t, run)
	if got := uid("shop-checkout-dev", "deployment", "checkout-api"); got != deployment {
		t.Fatalf("Deployment shop-checkout-dev/checkout-api, which checkout-v2 renders, was deleted (uid %s, now %q)\n%s", deployment, got, run.output("removed targets/"))
	}
	if debugConfigMap() != "" {
		t.Fatalf("the debug ConfigMap, which no target renders any more, was not pruned\n%s", run.output("removed targets/"))
	}
}

// removedLegs wants the removed targets job to have run for checkout's
// three environments, successfully.
func removedLegs(t *testing.T, run *actRun) {
	t.Helper()
	got := run.deployLegs()
	for _, env := range []string{"dev", "prod", "staging"} {
		if !slices.Contains(got, "removed targets/"+env+"=success") {
			t.Fatalf("removed targets %s did not succeed: legs %v\n%s", env, got, tail(run.Raw, 60))
		}
	}
}
