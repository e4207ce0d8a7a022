package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	rpt "github.com/kustomatrix/kustomatrix/internal/report"
)

// TestDiffRenderedFetchesBase: what a fork's pull request runs. The
// checkout has depth 1, so the base commit is fetched (that one commit)
// from origin; the diff is the target rendered at the base against the
// head, and the output, the step summary and the report all say it is
// rendered, not compared with the cluster. No kubeconfig is needed.
func TestDiffRenderedFetchesBase(t *testing.T) {
	origin := newPruneRepo(t, map[string]string{
		".kustomatrix.yaml":              "",
		"apps/a/prod/kustomization.yaml": "namespace: default\nresources: [cm.yaml]\n",
		"apps/a/prod/cm.yaml":            configMap("settings", `a: "1"`),
	})
	if _, _, code := captureRun("generate", "--repo", origin.dir); code != 0 {
		t.Fatal("generate failed")
	}
	base := origin.commit("base")
	origin.write("apps/a/prod/cm.yaml", configMap("settings", `a: "2"`))
	origin.commit("head")
	clone := filepath.Join(t.TempDir(), "clone")
	origin.git("clone", "-q", "--depth", "1", "file://"+origin.dir, clone)

	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "no-such-kubeconfig"))
	summaryFile := filepath.Join(t.TempDir(), "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summaryFile)
	t.Setenv("GITHUB_OUTPUT", filepath.Join(t.TempDir(), "output"))
	reports := t.TempDir()
	out, errOut, code := captureRun("diff", "--target", "apps/a/prod", "--base", base, "--repo", clone, "--report", reports, "--github-output")
	if code != 0 || !strings.Contains(out, `+  a: "2"`) || !strings.Contains(errOut, "rendered diff: the target at "+base) {
		t.Fatalf("diff --base in a depth-1 clone: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	summary, _ := os.ReadFile(summaryFile)
	if !strings.Contains(string(summary), "rendered against base "+base[:12]) || !strings.Contains(string(summary), "not compared with the cluster") {
		t.Fatalf("the step summary does not say the diff is rendered:\n%s", summary)
	}
	rs, err := rpt.Read(reports)
	if err != nil || len(rs) != 1 || rs[0].RenderedFrom != base || rs[0].Status != rpt.StatusChanges {
		t.Fatalf("reports: %+v %v", rs, err)
	}
}

// TestDiffRenderedBaseDoesNotRender: a fork's pull request can fix a target
// that does not render at the base. Every object is then shown as created,
// and the output, the step summary and the report say the base did not
// render and why. A target that does not render at the head still fails.
func TestDiffRenderedBaseDoesNotRender(t *testing.T) {
	r := newPruneRepo(t, map[string]string{
		".kustomatrix.yaml":              "",
		"apps/a/prod/kustomization.yaml": "namespace: default\nresources: [cm.yaml, missing.yaml]\n",
		"apps/a/prod/cm.yaml":            configMap("settings", `a: "1"`),
	})
	if _, _, code := captureRun("generate", "--repo", r.dir); code != 0 {
		t.Fatal("generate failed")
	}
	base := r.commit("base: missing.yaml does not exist")
	r.write("apps/a/prod/kustomization.yaml", "namespace: default\nresources: [cm.yaml]\n")
	r.commit("head: fixed")

	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "no-such-kubeconfig"))
	summaryFile := filepath.Join(t.TempDir(), "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summaryFile)
	reports := t.TempDir()
	out, errOut, code := captureRun("diff", "--target", "apps/a/prod", "--base", base, "--repo", r.dir, "--report", reports)
	if code != 0 || !strings.Contains(out, `+  a: "1"`) || !strings.Contains(out, "+kind: ConfigMap") {
		t.Fatalf("diff --base of a target that does not render at the base: exit %d, want 0 and the ConfigMap as created\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	note := "does not render at base " + base[:12]
	for what, text := range map[string]string{"stdout": out, "stderr": errOut} {
		if !strings.Contains(text, note) || !strings.Contains(text, "missing.yaml") || !strings.Contains(text, "shown as created") {
			t.Errorf("%s does not say the target %s (missing.yaml), every object shown as created:\n%s", what, note, text)
		}
	}
	if !strings.Contains(errOut, "configmap/settings -n default: "+statusCreated) {
		t.Errorf("stderr does not list the ConfigMap as created:\n%s", errOut)
	}
	summary, _ := os.ReadFile(summaryFile)
	title, _, _ := strings.Cut(string(summary), "\n")
	if !strings.Contains(title, note) || !strings.Contains(title, "not compared with the cluster") {
		t.Errorf("the step summary's title does not say the base did not render:\n%s", summary)
	}
	rs, err := rpt.Read(reports)
	if err != nil || len(rs) != 1 || rs[0].RenderedFrom != base || rs[0].Status != rpt.StatusChanges || !strings.Contains(rs[0].Diff, note) {
		t.Fatalf("reports: %+v %v", rs, err)
	}

	// Broken at the head: still a failure.
	r.write("apps/a/prod/kustomization.yaml", "namespace: default\nresources: [cm.yaml, gone.yaml]\n")
	out, errOut, code = captureRun("diff", "--target", "apps/a/prod", "--base", base, "--repo", r.dir)
	if code != exitFailure || !strings.Contains(errOut, "gone.yaml") {
		t.Errorf("diff --base of a target that does not render at the head: exit %d, want %d naming gone.yaml\nstdout:\n%s\nstderr:\n%s", code, exitFailure, out, errOut)
	}
}
