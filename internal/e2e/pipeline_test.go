package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/kustomatrix/kustomatrix/generator"
	"github.com/kustomatrix/kustomatrix/internal/ghtest"
	"github.com/kustomatrix/kustomatrix/internal/kubetest"
)

// e2eConfig replaces the example's configuration: every environment reaches
// the test cluster through its default kubeconfig secret (KUBECONFIG_<ENV>)
// (the example's AWS OIDC environment cannot run offline), checkout is the
// one service whose applies may delete, and applies to prod are recorded as
// GitHub deployments.
const e2eConfig = `deployBranch: main
globalDependencies:
  - "scripts/ci/**"
prune:
  - "apps/checkout/**"
environments:
  prod:
    deployments: true
`

// pipeline is a scratch manifest repository with its generated pipeline,
// a real cluster, and act ready to run the pipeline against it.
type pipeline struct {
	t       *testing.T
	repo    *scratchRepo
	cluster *kubetest.Cluster
	act     *actEnv
	github  *ghtest.GitHub // what the runs' kustomatrix steps reach as GitHub
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
	// Pull requests diff as the diff identity (kustomatrix identity diff):
	// it reads and dry-runs, and the API server refuses its real writes.
	dc := diffIdentityKubeconfig(t, c, repo)
	secrets := map[string]string{"KUBECONFIG_DEV": kc, "KUBECONFIG_STAGING": kc, "KUBECONFIG_PROD": kc,
		"KUBECONFIG_DEV_DIFF": dc, "KUBECONFIG_STAGING_DIFF": dc, "KUBECONFIG_PROD_DIFF": dc}
	cfg, err := generator.LoadConfig(generator.ConfigFile, []byte(e2eConfig))
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline{t: t, repo: repo, cluster: c, act: newActEnv(t, cfg, filepath.Dir(c.KubectlPath), secrets), github: ghtest.Start(t, "acme", "manifests")}
	p.act.apiURL = p.github.URL
	return p
}

// diffIdentityKubeconfig installs the diff identity that kustomatrix
// identity diff prints, for a ServiceAccount kustomatrix/diff, and returns
// a kubeconfig (one line of JSON) with a token of it.
func diffIdentityKubeconfig(t *testing.T, c *kubetest.Cluster, repo *scratchRepo) string {
	t.Helper()
	manifest, code := repo.kustomatrix("identity", "diff", "--service-account", "kustomatrix/diff")
	if code != 0 {
		t.Fatalf("identity diff: exit %d\n%s", code, manifest)
	}
	if _, errOut, code := c.Kubectl("create", "namespace", "kustomatrix"); code != 0 {
		t.Fatalf("create namespace kustomatrix: %s", errOut)
	}
	if _, errOut, code := c.KubectlStdin(strings.NewReader(manifest), "apply", "-f", "-"); code != 0 {
		t.Fatalf("applying the diff identity: %s", errOut)
	}
	token, errOut, code := c.Kubectl("create", "token", "diff", "--namespace=kustomatrix", "--duration=2h")
	if code != 0 {
		t.Fatalf("create token: %s", errOut)
	}
	ca, err := os.ReadFile(c.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Config", "current-context": "diff",
		"clusters": []any{map[string]any{"name": "test", "cluster": map[string]any{"server": c.Server,
			"certificate-authority-data": base64.StdEncoding.EncodeToString(ca)}}},
		"users":    []any{map[string]any{"name": "diff", "user": map[string]any{"token": strings.TrimSpace(token)}}},
		"contexts": []any{map[string]any{"name": "diff", "context": map[string]any{"cluster": "test", "user": "diff", "namespace": "default"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
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

func (p *pipeline) push(t *testing.T, before string) *actRun {
	head := p.repo.git("rev-parse", "HEAD")
	return p.act.run(t, p.repo, "push", map[string]any{
		"ref": "refs/heads/main", "before": before, "after": head,
		"repository": map[string]any{"full_name": "acme/manifests", "default_branch": "main"},
	})
}

func (p *pipeline) pullRequest(t *testing.T, base string) *actRun {
	return p.pullRequestFrom(t, base, "acme/manifests")
}

// pullRequestFrom is a pull request whose head is in headRepo (a fork when
// it is not acme/manifests).
func (p *pipeline) pullRequestFrom(t *testing.T, base, headRepo string) *actRun {
	head := p.repo.git("rev-parse", "HEAD")
	return p.act.run(t, p.repo, "pull_request", map[string]any{
		"action": "synchronize", "number": 7,
		"pull_request": map[string]any{"number": 7,
			"base": map[string]any{"sha": base, "ref": "main", "repo": map[string]any{"full_name": "acme/manifests"}},
			"head": map[string]any{"sha": head, "ref": "feature", "repo": map[string]any{"full_name": headRepo}}},
		"repository": map[string]any{"full_name": "acme/manifests", "default_branch": "main"},
	})
}

// comment returns the one comment the pipeline keeps on pull request #7,
// failing when there is none or more than one.
func (p *pipeline) comment(t *testing.T, run *actRun) string {
	t.Helper()
	cs := p.github.Comments(7)
	if len(cs) != 1 {
		out := ""
		if run != nil {
			out = tail(run.output("kustomatrix/result"), 40)
		}
		t.Fatalf("pull request #7 has %d comments, want exactly 1 (the sticky one)\n%s", len(cs), out)
	}
	if !strings.HasPrefix(cs[0].Body, "<!-- kustomatrix:kustomatrix -->\n") {
		t.Fatalf("the comment does not start with the workflow's marker:\n%s", cs[0].Body)
	}
	return cs[0].Body
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
		run := p.push(t, "0000000000000000000000000000000000000000")
		if run.Code != 0 {
			t.Fatalf("act exit %d\n%s", run.Code, tail(run.Raw, 80))
		}
		assertLegs(t, run, allLegs)
		if got := run.result("result"); got != "success" {
			t.Fatalf("aggregator result %q, want success", got)
		}
		// prod records its applies as GitHub deployments, the others do not.
		deps := p.github.Deployments()
		var got []string
		for _, d := range deps {
			got = append(got, fmt.Sprintf("%s %s %v ref=%t", d.Environment, d.Payload["target"], d.States, d.Ref == first))
		}
		slices.Sort(got)
		want := []string{
			"prod apps/cart/overlays/prod [in_progress success] ref=true",
			"prod apps/catalog/overlays/prod [in_progress success] ref=true",
			"prod apps/checkout/overlays/prod [in_progress success] ref=true",
			"prod apps/frontend/overlays/prod [in_progress success] ref=true",
		}
		if !slices.Equal(got, want) {
			t.Fatalf("GitHub deployments:\n got %q\nwant %q", got, want)
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
		run := p.pullRequest(t, first)
		if run.Code != 0 {
			t.Fatalf("act exit %d\n%s", run.Code, tail(run.Raw, 80))
		}
		assertLegs(t, run, legs("cart/dev=success"))
		out := run.output("cart/")
		if !strings.Contains(out, "deployment.apps/cart-api -n shop-cart-dev: changed") || !strings.Contains(out, "+  replicas: 3") {
			t.Fatalf("cart diff does not report the change:\n%s", out)
		}
		// Compared with the cluster, as the diff identity (not rendered).
		if strings.Contains(out, "rendered diff") {
			t.Fatalf("a pull request with diff credentials rendered its diff:\n%s", out)
		}
		if got := p.kubectl("get", "deployment", "cart-api", "-n", "shop-cart-dev", "-o", "jsonpath={.spec.replicas}"); got == "3" {
			t.Fatal("a pull request applied to the cluster")
		}
		body := p.comment(t, run)
		for _, want := range []string{"| `cart` |", "changes", "+  replicas: 3", "apps/cart/overlays/dev"} {
			if !strings.Contains(body, want) {
				t.Fatalf("the comment lacks %q:\n%s", want, body)
			}
		}
		if strings.Contains(body, "catalog") {
			t.Fatalf("the comment shows a service the change does not affect:\n%s", body)
		}
		if n := len(p.github.Deployments()); n != 4 {
			t.Fatalf("a pull request created deployments: %d, want the first push's 4", n)
		}
		p.repo.git("checkout", "-q", "main")
		p.repo.git("branch", "-q", "-D", "feature")
	})

	t.Run("pull request changing a shared base diffs exactly its dependents", func(t *testing.T) {
		p.onBranch(t, func() {
			edit(t, p.repo, "bases/web-service/networkpolicy.yaml", "port", func(s string) string {
				return strings.Replace(s, "8080", "8081", 1)
			})
		})
		run := p.pullRequest(t, first)
		if run.Code != 0 {
			t.Fatalf("act exit %d\n%s", run.Code, tail(run.Raw, 80))
		}
		var want []string
		for _, svc := range []string{"cart", "catalog", "checkout"} {
			for _, env := range []string{"dev", "prod", "staging"} {
				want = append(want, svc+"/"+env+"=success")
			}
		}
		assertLegs(t, run, legs(want...))
		if out := run.output("catalog/"); !strings.Contains(out, "networkpolicy.networking.k8s.io/catalog-allow-http -n shop-catalog-prod: changed") {
			t.Fatalf("catalog prod diff does not report the network policy change:\n%s", out)
		}
		// The same comment, updated: every dependent, and no longer cart's replicas.
		body := p.comment(t, run)
		for _, want := range []string{"| `cart` |", "| `catalog` |", "| `checkout` |", "8081"} {
			if !strings.Contains(body, want) {
				t.Fatalf("the updated comment lacks %q:\n%s", want, body)
			}
		}
		if strings.Contains(body, "+  replicas: 3") || strings.Contains(body, "| `frontend` |") {
			t.Fatalf("the updated comment still shows the earlier run, or an unaffected service:\n%s", body)
		}
	})

	t.Run("pull request changing a component diffs exactly its users", func(t *testing.T) {
		p.onBranch(t, func() {
			edit(t, p.repo, "components/monitoring/scrape-annotations.yaml", "annotation", func(s string) string {
				return strings.Replace(s, "prometheus.io/scrape:", "prometheus.io/scrape-extra:", 1)
			})
		})
		run := p.pullRequest(t, first)
		assertLegs(t, run, legs("cart/prod=success", "checkout/prod=success", "frontend/prod=success"))
	})

	t.Run("pull request touching only terraform runs no service job", func(t *testing.T) {
		p.onBranch(t, func() {
			edit(t, p.repo, "terraform/main.tf", "comment", func(s string) string { return s + "\n# resize the node pool\n" })
		})
		run := p.pullRequest(t, first)
		if run.Code != 0 {
			t.Fatalf("act exit %d\n%s", run.Code, tail(run.Raw, 80))
		}
		assertLegs(t, run, nil)
		if got := run.result("result"); got != "success" {
			t.Fatalf("aggregator result %q, want success", got)
		}
		if body := p.comment(t, run); strings.Contains(body, "| `cart` |") {
			t.Fatalf("the comment still shows the earlier run's targets:\n%s", body)
		}
	})

	t.Run("a pull request from a fork renders its diff and gets no comment", func(t *testing.T) {
		p.onBranch(t, func() {
			edit(t, p.repo, "apps/cart/overlays/dev/kustomization.yaml", "annotation", func(s string) string {
				return s + "\ncommonAnnotations:\n  fork: \"yes\"\n"
			})
		})
		before := p.comment(t, nil)
		// GitHub gives a fork's pull request no secrets (act is run with
		// none): no credentials, so the diff is rendered at the base, and
		// the required check still passes.
		run := p.pullRequestFrom(t, first, "someone/manifests")
		if run.Code != 0 {
			t.Fatalf("act exit %d\n%s", run.Code, tail(run.Raw, 80))
		}
		assertLegs(t, run, legs("cart/dev=success"))
		if got := run.result("result"); got != "success" {
			t.Fatalf("aggregator result %q, want success", got)
		}
		out := run.output("cart/")
		for _, want := range []string{"a pull request from a fork gets no secrets: the diff is rendered from the base commit, not compared with the cluster",
			"rendered diff: the target at " + first, `+    fork: "yes"`, "deployment.apps/cart-api -n shop-cart-dev"} {
			if !strings.Contains(out, want) {
				t.Fatalf("the fork's diff lacks %q:\n%s", want, tail(out, 60))
			}
		}
		if strings.Contains(out, "KUBECONFIG=") || strings.Contains(out, "kubectl diff") {
			t.Fatalf("the fork's diff reached for the cluster:\n%s", tail(out, 60))
		}
		if after := p.comment(t, run); after != before {
			t.Fatalf("a fork's run changed the comment:\n%s", after)
		}
	})

	t.Run("push without manifest changes applies nothing and a re-run diff is empty", func(t *testing.T) {
		edit(t, p.repo, "terraform/main.tf", "comment", func(s string) string { return s + "\n# merged\n" })
		before := p.repo.git("rev-parse", "HEAD")
		p.repo.commitAll("terraform only")
		run := p.push(t, before)
		if run.Code != 0 {
			t.Fatalf("act exit %d\n%s", run.Code, tail(run.Raw, 80))
		}
		assertLegs(t, run, nil)
		run = p.dispatch(t, "cart", "diff")
		if run.Code != 0 {
			t.Fatalf("act exit %d\n%s", run.Code, tail(run.Raw, 80))
		}
		assertLegs(t, run, legs("cart/dev=success", "cart/prod=success", "cart/staging=success"))
		out := run.output("cart/")
		if !strings.Contains(out, ": unchanged") || strings.Contains(out, ": changed") || strings.Contains(out, ": created") {
			t.Fatalf("diff after apply is not empty:\n%s", out)
		}
	})

	t.Run("a broken service fails alone", func(t *testing.T) {
		p.onBranch(t, func() {
			p.repo.write("apps/catalog/overlays/dev/kustomization.yaml", "resources:\n  - ../../base\n namespace: oops\n")
			edit(t, p.repo, "apps/cart/overlays/dev/kustomization.yaml", "label", func(s string) string {
				return s + "\ncommonAnnotations:\n  team: carts\n"
			})
			if out, code := p.repo.kustomatrix("generate"); code != 0 {
				t.Fatalf("generate with one broken kustomization must succeed: exit %d\n%s", code, out)
			}
		})
		run := p.pullRequest(t, first)
		if run.Code == 0 {
			t.Fatal("act succeeded although a service job failed")
		}
		assertLegs(t, run, legs("cart/dev=success", "catalog/dev=failure"))
		if out := run.output("catalog/"); !strings.Contains(out, "kustomize build apps/catalog/overlays/dev") {
			t.Fatalf("the failing job does not say what failed:\n%s", out)
		}
		// act stops a run when a reusable-workflow job fails (nektos/act
		// runner.handleFailure), so the aggregator cannot be watched here;
		// the plan-failure case below shows it failing for real.
	})

	t.Run("a failing plan fails the aggregator", func(t *testing.T) {
		p.onBranch(t, func() {
			p.repo.write(".kustomatrix.yaml", e2eConfig+"unknownKey: true\n")
		})
		run := p.pullRequest(t, first)
		assertLegs(t, run, nil)
		if got := run.result("plan"); got != "failure" {
			t.Fatalf("plan result %q, want failure", got)
		}
		if got := run.result("result"); got != "failure" {
			t.Fatalf("aggregator result %q, want failure\n%s", got, tail(run.Raw, 40))
		}
	})

	t.Run("a pipeline that drifted from the manifests fails the plan", func(t *testing.T) {
		p.onBranch(t, func() {
			// A reference dropped without running kustomatrix generate: the
			// committed paths file no longer says what checkout dev reads.
			edit(t, p.repo, "apps/checkout/overlays/dev/kustomization.yaml", "component", func(s string) string {
				return strings.Replace(s, "components:\n  - ../../../../components/debug\n", "", 1)
			})
		})
		run := p.pullRequest(t, first)
		assertLegs(t, run, nil)
		if got := run.result("plan"); got != "failure" {
			t.Fatalf("plan result %q, want failure\n%s", got, tail(run.Raw, 40))
		}
		if out := run.output("kustomatrix/plan"); !strings.Contains(out, "generated files are out of date; run: kustomatrix generate") || !strings.Contains(out, "kustomatrix-paths.yml") {
			t.Fatalf("the plan does not say the pipeline drifted:\n%s", tail(out, 40))
		}
		if got := run.result("result"); got != "failure" {
			t.Fatalf("aggregator result %q, want failure", got)
		}
	})

	t.Run("an object dropped from a prune-enabled target is pruned", func(t *testing.T) {
		edit(t, p.repo, "apps/checkout/overlays/dev/kustomization.yaml", "component", func(s string) string {
			return strings.Replace(s, "components:\n  - ../../../../components/debug\n", "", 1)
		})
		if out, code := p.repo.kustomatrix("generate"); code != 0 {
			t.Fatalf("generate: exit %d\n%s", code, out)
		}
		before := p.repo.git("rev-parse", "HEAD")
		p.repo.commitAll("checkout dev without the debug component")
		run := p.push(t, before)
		if run.Code != 0 {
			t.Fatalf("act exit %d\n%s", run.Code, tail(run.Raw, 80))
		}
		assertLegs(t, run, legs("checkout/dev=success"))
		if out := run.output("checkout/"); !strings.Contains(out, "pruned") {
			t.Fatalf("apply does not report the pruned object:\n%s", out)
		}
		if got := p.kubectl("get", "configmaps", "-n", "shop-checkout-dev", "-o", "name"); strings.Contains(got, "debug-settings") {
			t.Fatalf("the debug ConfigMap was not pruned: %q", got)
		}
	})

	t.Run("removed services: deleted only where pruning is enabled", func(t *testing.T) {
		for _, svc := range []string{"frontend", "checkout"} {
			if err := os.RemoveAll(filepath.Join(p.repo.Dir, "apps", svc)); err != nil {
				t.Fatal(err)
			}
		}
		if out, code := p.repo.kustomatrix("generate"); code != 0 {
			t.Fatalf("generate: exit %d\n%s", code, out)
		}
		before := p.repo.git("rev-parse", "HEAD")
		p.repo.commitAll("remove frontend and checkout")
		run := p.push(t, before)
		if run.Code != 0 {
			t.Fatalf("act exit %d\n%s", run.Code, tail(run.Raw, 80))
		}
		plan := run.output("kustomatrix/plan")
		for _, path := range []string{"apps/frontend/overlays/prod", "apps/checkout/overlays/dev"} {
			if !strings.Contains(plan, `"path": "`+path+`"`) || !strings.Contains(plan, `"removed": [`) {
				t.Fatalf("plan does not report %s as removed:\n%s", path, plan)
			}
		}
		if got := run.result("removed"); got != "" && got != "success" {
			t.Fatalf("removed job: %q", got)
		}
		for _, env := range []string{"dev", "staging", "prod"} {
			if got := p.kubectl("get", "deployments", "-n", "shop-frontend-"+env, "-o", "name"); !strings.Contains(got, "deployment.apps/") {
				t.Errorf("frontend %s was deleted although pruning is not enabled for it: %q", env, got)
			}
			if got := p.kubectl("get", "deployments", "-n", "shop-checkout-"+env, "-o", "name"); strings.Contains(got, "deployment.apps/") {
				t.Errorf("checkout %s was not deleted although pruning is enabled for it: %q", env, got)
			}
		}
		if out := run.output("removed targets/"); !strings.Contains(out, "apps/frontend/overlays/dev: kept") {
			t.Errorf("the removed job does not say frontend was kept:\n%s", out)
		}
	})
}

// onBranch makes a feature branch from main, lets f change the tree,
// commits, and returns to main after the calling test (the branch goes).
func (p *pipeline) onBranch(t *testing.T, f func()) {
	t.Helper()
	p.repo.git("checkout", "-q", "-B", "feature", "main")
	t.Cleanup(func() {
		p.repo.git("checkout", "-q", "-f", "main")
		p.repo.git("clean", "-q", "-fdx")
		p.repo.git("branch", "-q", "-D", "feature")
	})
	f()
	p.repo.commitAll("feature")
}

func (p *pipeline) dispatch(t *testing.T, service, mode string) *actRun {
	return p.act.run(t, p.repo, "workflow_dispatch", map[string]any{
		"ref":        "refs/heads/main",
		"inputs":     map[string]any{"service": service, "mode": mode},
		"repository": map[string]any{"full_name": "acme/manifests", "default_branch": "main"},
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

// TestPipelineMatrixLayout runs the matrix layout (more services than
// layout.maxServiceJobs: chunk jobs per environment, targets by index)
// through a first push and a pull request.
func TestPipelineMatrixLayout(t *testing.T) {
	skipShort(t)
	c := kubetest.Start(t)
	repo := newScratchRepo(t, filepath.Join(projectRoot(t), "testdata", "example"))
	cfgText := e2eConfig + "layout:\n  maxServiceJobs: 1\n"
	repo.write(".kustomatrix.yaml", cfgText)
	if out, code := repo.kustomatrix("generate"); code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, out)
	}
	if !strings.Contains(repo.read(".github/workflows/kustomatrix.yml"), "kustomatrix-deploy-chunk.yml") {
		t.Fatal("the workflow does not use the matrix layout")
	}
	kc := kubeconfigJSON(t, c.Kubeconfig)
	cfg, err := generator.LoadConfig(generator.ConfigFile, []byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline{t: t, repo: repo, cluster: c, act: newActEnv(t, cfg, filepath.Dir(c.KubectlPath),
		map[string]string{"KUBECONFIG_DEV": kc, "KUBECONFIG_STAGING": kc, "KUBECONFIG_PROD": kc,
			"KUBECONFIG_DEV_DIFF": kc, "KUBECONFIG_STAGING_DIFF": kc, "KUBECONFIG_PROD_DIFF": kc}), github: ghtest.Start(t, "acme", "manifests")}
	p.act.apiURL = p.github.URL
	first := repo.commitAll("manifests and pipeline")

	run := p.push(t, "0000000000000000000000000000000000000000")
	if run.Code != 0 {
		t.Fatalf("act exit %d\n%s", run.Code, tail(run.Raw, 80))
	}
	legs := run.chunkLegs()
	if len(legs) != 12 {
		t.Fatalf("%d chunk legs ran, want all 12 targets: %v\n%s", len(legs), legs, tail(run.Raw, 40))
	}
	for i, r := range legs {
		if r != "success" {
			t.Errorf("target %d: %s", i, r)
		}
	}
	for _, svc := range []string{"cart", "catalog", "checkout", "frontend"} {
		if got := p.kubectl("get", "deployments", "-n", "shop-"+svc+"-prod", "-o", "name"); !strings.Contains(got, "deployment.apps/") {
			t.Errorf("%s prod not applied: %q", svc, got)
		}
	}

	p.onBranch(t, func() {
		edit(t, repo, "apps/catalog/overlays/staging/kustomization.yaml", "annotation", func(s string) string {
			return s + "\ncommonAnnotations:\n  e2e.kustomatrix.dev/changed: \"yes\"\n"
		})
	})
	run = p.pullRequest(t, first)
	if run.Code != 0 {
		t.Fatalf("act exit %d\n%s", run.Code, tail(run.Raw, 80))
	}
	legs = run.chunkLegs()
	// Targets are in paths-file order: cart (dev, prod, staging), then
	// catalog (dev, prod, staging): catalog staging is index 5.
	if len(legs) != 1 || legs[5] != "success" {
		t.Fatalf("chunk legs %v; want only index 5 (catalog staging)", legs)
	}
	if out := run.output("staging (1 of 1)/"); !strings.Contains(out, "deployment.apps/catalog-api -n shop-catalog-staging: changed") {
		t.Fatalf("the chunk leg does not diff catalog staging:\n%s", out)
	}
	// A chunk leg's report names its target's service and environment.
	if body := p.comment(t, run); !strings.Contains(body, "| `catalog` |") || !strings.Contains(body, "e2e.kustomatrix.dev/changed") {
		t.Fatalf("the comment does not show catalog staging's diff:\n%s", body)
	}
}
