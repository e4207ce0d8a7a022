package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kustomatrix/kustomatrix/generator"
	"github.com/kustomatrix/kustomatrix/internal/render"
)

// replayStep is one commit of a history built from the example: what it
// does to the tree.
type replayStep struct {
	name string
	edit func(t *testing.T, dir string)
}

func editFile(t *testing.T, dir, rel string, f func(string) string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	after := f(string(b))
	if after == string(b) {
		t.Fatalf("editing %s changed nothing", rel)
	}
	if err := os.WriteFile(p, []byte(after), 0o644); err != nil {
		t.Fatal(err)
	}
}

var replaySteps = []replayStep{
	{"a comment in a shared base", func(t *testing.T, d string) {
		editFile(t, d, "bases/web-service/networkpolicy.yaml", func(s string) string { return "# allow the ingress controller only\n" + s })
	}},
	{"keys reordered in a deployment", func(t *testing.T, d string) {
		editFile(t, d, "apps/cart/base/deployment.yaml", func(s string) string {
			return strings.Replace(s, "apiVersion: apps/v1\nkind: Deployment\n", "kind: Deployment\napiVersion: apps/v1\n", 1)
		})
	}},
	{"one overlay scaled", func(t *testing.T, d string) {
		editFile(t, d, "apps/cart/overlays/dev/kustomization.yaml", func(s string) string {
			return s + "\nreplicas:\n  - name: cart-api\n    count: 3\n"
		})
	}},
	{"a shared base changed", func(t *testing.T, d string) {
		editFile(t, d, "bases/web-service/networkpolicy.yaml", func(s string) string { return strings.Replace(s, "8080", "8081", 1) })
	}},
	{"a component changed", func(t *testing.T, d string) {
		editFile(t, d, "components/monitoring/scrape-annotations.yaml", func(s string) string { return strings.Replace(s, `"9090"`, `"9091"`, 1) })
	}},
	{"terraform only", func(t *testing.T, d string) {
		editFile(t, d, "terraform/main.tf", func(s string) string { return s + "\n# bigger nodes\n" })
	}},
	{"a kustomization reformatted", func(t *testing.T, d string) {
		editFile(t, d, "apps/frontend/overlays/prod/kustomization.yaml", func(s string) string { return "# frontend, production\n" + s + "\n\n" })
	}},
	{"a component no-op patch edit", func(t *testing.T, d string) {
		editFile(t, d, "components/monitoring/scrape-annotations.yaml", func(s string) string {
			return strings.Replace(s, "        prometheus.io/path: /metrics\n", "        prometheus.io/path: \"/metrics\"\n", 1)
		})
	}},
}

// TestReplayPrecisionAndRecall replays a history built from the example.
// For each commit the truth is the set of targets whose rendered output
// differs from the parent (every target built on both sides); affected is
// then scored with and without --render. Recall must be 1.0 both ways (a
// missed target is a missed deploy), precision 1.0 with --render.
func TestReplayPrecisionAndRecall(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../testdata/example")); err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t",
			"GIT_COMMITTER_EMAIL=t@e", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-q", "-m", "example")
	var report strings.Builder
	fmt.Fprintf(&report, "%-36s %5s %22s %22s\n", "commit", "truth", "closure P/R", "--render P/R")
	sum := map[bool][2]float64{}
	for _, step := range replaySteps {
		parent := git("rev-parse", "HEAD")
		step.edit(t, dir)
		git("add", "-A")
		git("commit", "-q", "-m", step.name)
		truth := renderTruth(t, dir, parent)
		scores := map[bool][2]float64{}
		for _, withRender := range []bool{false, true} {
			predicted := predict(t, dir, parent, withRender)
			p, r := precisionRecall(predicted, truth)
			scores[withRender] = [2]float64{p, r}
			s := sum[withRender]
			sum[withRender] = [2]float64{s[0] + p, s[1] + r}
			if r != 1 {
				t.Errorf("%s (render=%v): recall %.2f; missed %v (predicted %v)", step.name, withRender, r, minus(truth, predicted), predicted)
			}
			if withRender && p != 1 {
				t.Errorf("%s: precision with --render %.2f; extra %v", step.name, p, minus(predicted, truth))
			}
		}
		fmt.Fprintf(&report, "%-36s %5d %10.2f / %.2f %15.2f / %.2f\n", step.name, len(truth),
			scores[false][0], scores[false][1], scores[true][0], scores[true][1])
	}
	n := float64(len(replaySteps))
	fmt.Fprintf(&report, "%-36s %5s %10.2f / %.2f %15.2f / %.2f\n", "mean", "", sum[false][0]/n, sum[false][1]/n, sum[true][0]/n, sum[true][1]/n)
	t.Logf("replay of %d commits (precision / recall):\n%s", len(replaySteps), report.String())
}

// renderTruth builds every target of the commit checked out in dir and of
// its parent, and returns the paths whose canonical output differs (or
// that are new).
func renderTruth(t *testing.T, dir, parent string) map[string]bool {
	t.Helper()
	cfg, err := loadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := generator.Scan(filesys.MakeFsOnDisk(), dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	baseFS, baseRoot, err := render.AtCommit(dir, parent)
	if err != nil {
		t.Fatal(err)
	}
	defer baseFS.Close()
	truth := map[string]bool{}
	for _, tg := range repo.Targets {
		after, err := canonicalBuild(filesys.MakeFsOnDisk(), dir, tg.Path, cfg)
		if err != nil {
			t.Fatalf("building %s: %v", tg.Path, err)
		}
		before, err := canonicalBuild(baseFS, baseRoot, tg.Path, cfg)
		if err != nil || before != after {
			truth[tg.Path] = true
		}
	}
	return truth
}

func predict(t *testing.T, dir, base string, withRender bool) map[string]bool {
	t.Helper()
	args := []string{"affected", "--repo", dir, "--base", base}
	if withRender {
		args = append(args, "--render")
	}
	var out, errb bytes.Buffer
	if code := run(args, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("affected: exit %d\n%s", code, errb.String())
	}
	var res generator.AffectedResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, tg := range res.Targets {
		got[tg.Path] = true
	}
	return got
}

func precisionRecall(predicted, truth map[string]bool) (float64, float64) {
	hit := 0
	for p := range predicted {
		if truth[p] {
			hit++
		}
	}
	precision, recall := 1.0, 1.0
	if len(predicted) > 0 {
		precision = float64(hit) / float64(len(predicted))
	}
	if len(truth) > 0 {
		recall = float64(hit) / float64(len(truth))
	}
	return precision, recall
}

func minus(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
