package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kustomatrix/kustomatrix/internal/kubetest"
)

// runIn runs the CLI in a repository with the cluster's environment and a
// step summary file, as a workflow step would.
func runIn(t *testing.T, r *scratchRepo, c *kubetest.Cluster, summary string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(kustomatrixBin(t), args...)
	cmd.Dir = r.Dir
	cmd.Env = append(c.Env(), "GITHUB_STEP_SUMMARY="+summary)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestRuntimeCommands drives diff, apply and prune against a real API
// server: a namespace that does not exist yet, server-side apply with the
// kustomatrix field manager, an exact exit code for changes, a rollout
// wait that times out (the server has no controllers, so it must), an
// ApplySet prune, and the deletion of a removed target.
func TestRuntimeCommands(t *testing.T) {
	skipShort(t)
	c := kubetest.Start(t)
	r := newScratchRepo(t, filepath.Join(projectRoot(t), "testdata", "golden", "overlays", "input"))
	r.write(".kustomatrix.yaml", "prune:\n  - \"apps/api/**\"\n")
	r.commitAll("manifests")
	summary := filepath.Join(t.TempDir(), "summary.md")
	target := "apps/api/overlays/dev"

	out, errOut, code := runIn(t, r, c, summary, "diff", "--server", "--target", target)
	if code != 0 || !strings.Contains(errOut, "deployment.apps/api -n billing-api-dev: will be created") {
		t.Fatalf("diff before the namespace exists: exit %d\n%s\n%s", code, out, errOut)
	}
	if b, _ := os.ReadFile(summary); !strings.Contains(string(b), "will be created") {
		t.Fatalf("step summary lacks the statuses:\n%s", b)
	}

	if out, errOut, code = runIn(t, r, c, summary, "apply", "--target", target); code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	managers, _, _ := c.Kubectl("get", "deployment", "api", "-n", "billing-api-dev", "-o", "jsonpath={.metadata.managedFields[*].manager}")
	if !strings.Contains(managers, "kustomatrix") {
		t.Fatalf("field managers %q, want kustomatrix", managers)
	}

	if out, errOut, code = runIn(t, r, c, summary, "diff", "--server", "--exit-code", "--target", target); code != 0 {
		t.Fatalf("diff right after apply: exit %d (want 0, no changes)\n%s\n%s", code, out, errOut)
	}
	deployment := r.read("apps/api/base/deployment.yaml")
	r.write("apps/api/base/deployment.yaml", strings.Replace(deployment, "replicas: 1", "replicas: 5", 1))
	out, errOut, code = runIn(t, r, c, summary, "diff", "--server", "--exit-code", "--target", target)
	if code != 1 || !strings.Contains(out, "+  replicas: 5") || !strings.Contains(errOut, "deployment.apps/api -n billing-api-dev: changed") {
		t.Fatalf("diff of a change: exit %d (want 1)\n%s\n%s", code, out, errOut)
	}

	_, errOut, code = runIn(t, r, c, summary, "apply", "--wait", "2s", "--target", target)
	if code != 3 || !strings.Contains(errOut, "rollout of deployment/api did not finish") {
		t.Fatalf("apply --wait on a server without controllers: exit %d (want 3, a rollout timeout)\n%s", code, errOut)
	}

	// Dropping the Service from the base: the ApplySet prunes it.
	r.write("apps/api/base/kustomization.yaml", strings.Replace(r.read("apps/api/base/kustomization.yaml"), "  - service.yaml\n", "", 1))
	out, errOut, code = runIn(t, r, c, summary, "apply", "--target", target)
	if code != 0 || !strings.Contains(out, "service/api pruned") {
		t.Fatalf("apply after dropping the Service: exit %d\n%s\n%s", code, out, errOut)
	}
	if got, _, _ := c.Kubectl("get", "services", "-n", "billing-api-dev", "-o", "name"); strings.Contains(got, "/api\n") || strings.HasSuffix(got, "/api") {
		t.Fatalf("the Service was not pruned: %q", got)
	}

	// The whole target removed: prune renders it at the base and deletes it.
	base := r.commitAll("api dev as deployed")
	if err := os.RemoveAll(filepath.Join(r.Dir, "apps", "api", "overlays", "dev")); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code = runIn(t, r, c, summary, "prune", "--target", target, "--base", base); code != 0 {
		t.Fatalf("prune: exit %d\n%s\n%s", code, out, errOut)
	}
	if got, _, _ := c.Kubectl("get", "deployments", "-n", "billing-api-dev", "-o", "name"); strings.Contains(got, "/api\n") || strings.HasSuffix(got, "/api") {
		t.Fatalf("prune left the deployment: %q", got)
	}
	if got, _, _ := c.Kubectl("get", "namespace", "billing-api-dev", "-o", "name"); !strings.Contains(got, "billing-api-dev") {
		t.Fatal("prune deleted the Namespace; cluster-scoped objects are never pruned")
	}
	// A target without prune: enabled is kept, and says so.
	out, _, code = runIn(t, r, c, summary, "prune", "--target", "apps/worker/overlays/dev", "--base", base)
	if code != 0 || !strings.Contains(out, "kept; pruning is not enabled") {
		t.Fatalf("prune of a target without prune: exit %d\n%s", code, out)
	}
}
