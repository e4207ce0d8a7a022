package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/kustomatrix/kustomatrix/internal/kubetest"
)

// e2eConfig replaces the example's configuration: every environment reaches
// the test cluster through its default kubeconfig secret (KUBECONFIG_<ENV>).
// The example's AWS OIDC environment cannot run offline.
const e2eConfig = `deployBranch: main
globalDependencies:
  - "scripts/ci/**"
`

// pipeline is a scratch manifest repository with its generated pipeline,
// a real cluster, and act ready to run the pipeline against it.
type pipeline struct {
	t       *testing.T
	repo    *scratchRepo
	cluster *kubetest.Cluster
	act     *actEnv
}

func newPipeline(t *testing.T) *pipeline {
	t.Helper()
	skipShort(t)
	c := kubetest.Start(t)
	repo := newScratchRepo(t, filepath.Join(projectRoot(t), "testdata", "example"))
	repo.write(".kustomatrix.yaml", e2eConfig)
	if out, code := repo.kustomatrix("generate"); code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, out)
	}
	kc := kubeconfigJSON(t, c.Kubeconfig)
	secrets := map[string]string{"KUBECONFIG_DEV": kc, "KUBECONFIG_STAGING": kc, "KUBECONFIG_PROD": kc}
	return &pipeline{t: t, repo: repo, cluster: c, act: newActEnv(t, filepath.Dir(c.KubectlPath), secrets)}
}

// kubeconfigJSON turns a kubeconfig into one line of JSON (kubectl reads
// JSON too), which fits a dotenv secret file.
func kubeconfigJSON(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (p *pipeline) push(before string) *actRun {
	head := p.repo.git("rev-parse", "HEAD")
	return p.act.run(p.repo, "push", map[string]any{
		"ref": "refs/heads/main", "before": before, "after": head,
		"repository": map[string]any{"full_name": "acme/manifests", "default_branch": "main"},
	})
}

func (p *pipeline) pullRequest(base string) *actRun {
	head := p.repo.git("rev-parse", "HEAD")
	return p.act.run(p.repo, "pull_request", map[string]any{
		"action": "synchronize", "number": 7,
		"pull_request": map[string]any{"number": 7,
			"base": map[string]any{"sha": base, "ref": "main"},
			"head": map[string]any{"sha": head, "ref": "feature"}},
		"repository": map[string]any{"full_name": "acme/manifests", "default_branch": "main"},
	})
}

func (p *pipeline) kubectl(args ...string) string {
	p.t.Helper()
	out, errOut, code := p.cluster.Kubectl(args...)
	if code != 0 {
		p.t.Fatalf("kubectl %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

var allLegs = func() []string {
	var l []string
	for _, s := range []string{"cart", "catalog", "checkout", "frontend"} {
		for _, e := range []string{"dev", "prod", "staging"} {
			l = append(l, s+"/"+e+"=success")
		}
	}
	return l
}()

func legs(ls ...string) []string {
	slices.Sort(ls)
	return ls
}

func assertLegs(t *testing.T, run *actRun, want []string) {
	t.Helper()
	if got := run.deployLegs(); !slices.Equal(got, want) {
		t.Fatalf("deploy legs that ran:\n got %v\nwant %v\n%s", got, want, tail(run.Raw, 60))
	}
}

// TestPipeline runs the generated pipeline through its life: the first push
// applies everything, pull requests diff exactly the affected services, a
// push without manifest changes applies nothing, a removed service is
// reported and left in the cluster, and a broken service fails alone.
func TestPipeline(t *testing.T) {
	p := newPipeline(t)
	first := p.repo.commitAll("manifests and pipeline")

	t.Run("first push applies every service", func(t *testing.T) {
		run := p.push("0000000000000000000000000000000000000000")
		if run.Code != 0 {
			t.Fatalf("act exit %d\n%s", run.Code, tail(run.Raw, 80))
		}
		assertLegs(t, run, allLegs)
		if got := run.result("result"); got != "success" {
			t.Fatalf("aggregator result %q, want success", got)
		}
		for _, svc := range []string{"cart", "catalog", "checkout", "frontend"} {
			for _, env := range []string{"dev", "staging", "prod"} {
				ns := "shop-" + svc + "-" + env
				managers := p.kubectl("get", "deployments", "-n", ns, "-o", "jsonpath={.items[*].metadata.managedFields[*].manager}")
				if !strings.Contains(managers, "kustomatrix") {
					t.Errorf("deployments in %s: managers %q, want kustomatrix", ns, managers)
				}
			}
		}
	})

	t.Run("pull request changing one service diffs only it", func(t *testing.T) {
		p.repo.git("checkout", "-q", "-b", "feature")
		edit(t, p.repo, "apps/cart/overlays/dev/kustomization.yaml", "replicas", func(s string) string {
			return s + "\nreplicas:\n  - name: cart-api\n    count: 3\n"
		})
		p.repo.commitAll("scale cart in dev")
		run := p.pullRequest(first)
		if run.Code != 0 {
			t.Fatalf("act exit %d\n%s", run.Code, tail(run.Raw, 80))
		}
		assertLegs(t, run, legs("cart/dev=success"))
		out := run.output("cart/")
		if !strings.Contains(out, "deployment.apps/cart-api -n shop-cart-dev: changed") || !strings.Contains(out, "+  replicas: 3") {
			t.Fatalf("cart diff does not report the change:\n%s", out)
		}
		if got := p.kubectl("get", "deployment", "cart-api", "-n", "shop-cart-dev", "-o", "jsonpath={.spec.replicas}"); got == "3" {
			t.Fatal("a pull request applied to the cluster")
		}
		p.repo.git("checkout", "-q", "main")
		p.repo.git("branch", "-q", "-D", "feature")
	})
}

// edit rewrites a file of the scratch repository.
func edit(t *testing.T, r *scratchRepo, rel, what string, f func(string) string) {
	t.Helper()
	before := r.read(rel)
	after := f(before)
	if after == before {
		t.Fatalf("editing %s (%s) changed nothing", rel, what)
	}
	r.write(rel, after)
}
