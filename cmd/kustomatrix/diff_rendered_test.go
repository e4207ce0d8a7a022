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
