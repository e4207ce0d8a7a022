package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kustomatrix/kustomatrix/internal/kubetest"
)

// TestPruneAgainstAPIServer proves, against a real kube-apiserver, that
// pruning deletes only what kustomatrix owns (the members of the target's
// ApplySet, found by their label) and never what a target at the head still
// renders. Each case fails on a prune that deletes by name from the
// rendering at the base, or an apply that lets kubectl prune a moved object.
func TestPruneAgainstAPIServer(t *testing.T) {
	c := kubetest.Start(t)
	t.Setenv("KUBECONFIG", c.Kubeconfig)
	t.Setenv("KUBECACHEDIR", filepath.Join(t.TempDir(), "kubectl-cache"))
	for k, v := range map[string]string{"GIT_CONFIG_GLOBAL": os.DevNull, "GIT_CONFIG_NOSYSTEM": "1",
		"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"} {
		t.Setenv(k, v)
	}
	// The ApplySet's parent lives in the target's namespace: namespaces are
	// the cluster's, not the targets'.
	for _, ns := range []string{"rename", "billing", "team-b", "moved", "moved2"} {
		c.Kubectl("create", "namespace", ns)
	}
	cl := &pruneCluster{t: t, c: c}

	// (a) service cart renamed shop-cart, prune on. The removed job used to
	// run beside the applies: here it runs before shop-cart's apply, the
	// worst order, so the Deployment still carries cart's label.
	t.Run("rename", func(t *testing.T) {
		cl.t = t
		r := newPruneRepo(t, map[string]string{
			".kustomatrix.yaml":                  "prune: [\"apps/**\"]\n",
			"apps/cart/prod/kustomization.yaml":  "namespace: rename\nresources: [deploy.yaml, legacy.yaml]\n",
			"apps/cart/prod/deploy.yaml":         deployment("cart"),
			"apps/cart/prod/legacy.yaml":         configMap("cart-legacy", "since: \"2019\""),
			"apps/other/prod/kustomization.yaml": "namespace: rename\nresources: [cm.yaml]\n",
			"apps/other/prod/cm.yaml":            configMap("other", "a: \"1\""),
		})
		base := r.commit("cart")
		cl.kmx(r, 0, "apply", "--target", "apps/cart/prod")
		cl.kmx(r, 0, "apply", "--target", "apps/other/prod")
		uid := cl.uid("rename", "deployment", "cart")
		r.git("mv", "apps/cart", "apps/shop-cart")
		r.git("rm", "-q", "-f", "apps/shop-cart/prod/legacy.yaml")
		r.write("apps/shop-cart/prod/kustomization.yaml", "namespace: rename\nresources: [deploy.yaml]\n")
		r.commit("cart renamed shop-cart; its legacy ConfigMap dropped")

		// The pull request's list: from the cluster, the legacy ConfigMap goes
		// and the Deployment stays.
		reports := t.TempDir()
		out, errOut := cl.kmx(r, 0, "prune", "--target", "apps/cart/prod", "--base", base, "--dry-run=server", "--report", reports)
		if !strings.Contains(out, "1 object(s) would be deleted, 1 kept") || !strings.Contains(errOut, "deployment.apps/cart -n rename: kept: apps/shop-cart/prod renders it") {
			t.Fatalf("dry run:\n%s\n%s", out, errOut)
		}
		out, _ = cl.kmx(r, 0, "comment", "--dry-run", "--workflow", "kustomatrix", "--reports", reports)
		if !strings.Contains(out, "deletes 1 object(s), listed in the cluster; keeps 1") || !strings.Contains(out, "  configmap/cart-legacy -n rename\n") {
			t.Fatalf("comment:\n%s", out)
		}
		cl.exists("rename", "configmap", "cart-legacy") // a dry run deletes nothing

		out, errOut = cl.kmx(r, 0, "prune", "--target", "apps/cart/prod", "--base", base)
		if !strings.Contains(errOut, "deployment.apps/cart -n rename: kept: apps/shop-cart/prod renders it at the head (released from the ApplySet)") {
			t.Errorf("prune does not say the Deployment is kept:\n%s\n%s", out, errOut)
		}
		if got := cl.uid("rename", "deployment", "cart"); got != uid {
			t.Fatalf("Deployment rename/cart, which apps/shop-cart/prod renders, was deleted (uid %q, now %q)", uid, got)
		}
		cl.gone("rename", "configmap", "cart-legacy")
		cl.gone("rename", "configmap", applySetParent("apps/cart/prod"))
		cl.exists("rename", "configmap", "other") // another target's set: untouched
		// shop-cart's apply takes the Deployment into its own set.
		cl.kmx(r, 0, "apply", "--target", "apps/shop-cart/prod")
		if got := cl.uid("rename", "deployment", "cart"); got != uid {
			t.Fatalf("Deployment rename/cart was recreated by shop-cart's apply")
		}
	})

	// (b) a removed target whose last commit rendered into another team's
	// namespace, where its apply failed on a field conflict: the object it
	// names there was never created by kustomatrix, and is not deleted.
	t.Run("unowned object in another namespace", func(t *testing.T) {
		cl.t = t
		cl.kubectl("create", "configmap", "settings", "--namespace=team-b", "--from-literal=owner=team-b")
		teamB := cl.uid("team-b", "configmap", "settings")
		r := newPruneRepo(t, map[string]string{
			".kustomatrix.yaml":                    "prune: [\"apps/**\"]\n",
			"apps/billing/prod/kustomization.yaml": "namespace: billing\nresources: [cm.yaml]\n",
			"apps/billing/prod/cm.yaml":            configMap("settings", "owner: billing"),
		})
		r.commit("billing")
		cl.kmx(r, 0, "apply", "--target", "apps/billing/prod")
		r.write("apps/billing/prod/kustomization.yaml", "namespace: team-b\nresources: [cm.yaml]\n")
		base := r.commit("billing moves to team-b's namespace")
		_, errOut := cl.kmx(r, 3, "apply", "--target", "apps/billing/prod")
		if !strings.Contains(errOut, "conflict") {
			t.Fatalf("apply into team-b: want a field conflict\n%s", errOut)
		}
		r.git("rm", "-q", "-r", "apps/billing")
		r.commit("billing removed")

		out, errOut := cl.kmx(r, 0, "prune", "--target", "apps/billing/prod", "--base", base)
		if got := cl.uid("team-b", "configmap", "settings"); got != teamB {
			t.Fatalf("team-b's ConfigMap settings, never created by kustomatrix, was deleted\n%s\n%s", out, errOut)
		}
		if got, _, _ := c.Kubectl("get", "configmap", "settings", "--namespace=team-b", "-o", "jsonpath={.data.owner}"); got != "team-b" {
			t.Errorf("team-b's ConfigMap was changed: owner=%q", got)
		}
	})

	// (c) an object moved from one target to another is never deleted: not
	// by the removed target's prune, nor by the apply of a target that no
	// longer renders it (kubectl's ApplySet prune), in either order.
	t.Run("object moved between targets", func(t *testing.T) {
		cl.t = t
		r := newPruneRepo(t, map[string]string{
			".kustomatrix.yaml":                  "prune: [\"apps/**\"]\n",
			"apps/alpha/prod/kustomization.yaml": "namespace: moved\nresources: [deploy.yaml, shared.yaml]\n",
			"apps/alpha/prod/deploy.yaml":        deployment("alpha"),
			"apps/alpha/prod/shared.yaml":        configMap("shared", "a: \"1\""),
			"apps/beta/prod/kustomization.yaml":  "namespace: moved\nresources: [deploy.yaml]\n",
			"apps/beta/prod/deploy.yaml":         deployment("beta"),
			"apps/gamma/prod/kustomization.yaml": "namespace: moved2\nresources: [deploy.yaml, shared.yaml]\n",
			"apps/gamma/prod/deploy.yaml":        deployment("gamma"),
			"apps/gamma/prod/shared.yaml":        configMap("shared2", "a: \"1\""),
			"apps/delta/prod/kustomization.yaml": "namespace: moved2\nresources: [deploy.yaml]\n",
			"apps/delta/prod/deploy.yaml":        deployment("delta"),
		})
		base := r.commit("alpha, beta, gamma, delta")
		for _, target := range []string{"apps/alpha/prod", "apps/beta/prod", "apps/gamma/prod", "apps/delta/prod"} {
			cl.kmx(r, 0, "apply", "--target", target)
		}
		shared, shared2 := cl.uid("moved", "configmap", "shared"), cl.uid("moved2", "configmap", "shared2")
		// alpha removed, its ConfigMap moved to beta; gamma stays but its
		// ConfigMap moves to delta.
		r.git("mv", "apps/alpha/prod/shared.yaml", "apps/beta/prod/shared.yaml")
		r.write("apps/beta/prod/kustomization.yaml", "namespace: moved\nresources: [deploy.yaml, shared.yaml]\n")
		r.git("rm", "-q", "-r", "apps/alpha")
		r.git("mv", "apps/gamma/prod/shared.yaml", "apps/delta/prod/shared.yaml")
		r.write("apps/gamma/prod/kustomization.yaml", "namespace: moved2\nresources: [deploy.yaml]\n")
		r.write("apps/delta/prod/kustomization.yaml", "namespace: moved2\nresources: [deploy.yaml, shared.yaml]\n")
		r.commit("move the shared ConfigMaps")

		// The removed target first, before beta's apply takes the ConfigMap.
		out, errOut := cl.kmx(r, 0, "prune", "--target", "apps/alpha/prod", "--base", base)
		if got := cl.uid("moved", "configmap", "shared"); got != shared {
			t.Fatalf("ConfigMap moved/shared, which beta now renders, was deleted by alpha's prune\n%s\n%s", out, errOut)
		}
		cl.gone("moved", "deployment", "alpha")
		cl.kmx(r, 0, "apply", "--target", "apps/beta/prod")
		if got := cl.uid("moved", "configmap", "shared"); got != shared {
			t.Fatal("ConfigMap moved/shared was recreated")
		}

		// gamma applies first: kubectl's prune of gamma's set would delete
		// the ConfigMap delta now renders.
		_, errOut = cl.kmx(r, 0, "apply", "--target", "apps/gamma/prod")
		if got := cl.uid("moved2", "configmap", "shared2"); got != shared2 {
			t.Fatalf("ConfigMap moved2/shared2, which delta now renders, was pruned by gamma's apply\n%s", errOut)
		}
		if !strings.Contains(errOut, "configmap/shared2 -n moved2: not pruned: apps/delta/prod renders it now") {
			t.Errorf("gamma's apply does not say why it kept shared2:\n%s", errOut)
		}
		cl.kmx(r, 0, "apply", "--target", "apps/delta/prod")
		if got := cl.uid("moved2", "configmap", "shared2"); got != shared2 {
			t.Fatal("ConfigMap moved2/shared2 was recreated")
		}
		// Now delta's: removing it from delta prunes it.
		r.git("rm", "-q", "apps/delta/prod/shared.yaml")
		r.write("apps/delta/prod/kustomization.yaml", "namespace: moved2\nresources: [deploy.yaml]\n")
		r.commit("shared2 dropped")
		cl.kmx(r, 0, "apply", "--target", "apps/delta/prod")
		cl.gone("moved2", "configmap", "shared2")
	})
}

// pruneCluster runs kustomatrix and kubectl against the test cluster.
type pruneCluster struct {
	t *testing.T
	c *kubetest.Cluster
}

// kmx runs kustomatrix in the repository and wants exit code want.
func (p *pruneCluster) kmx(r *pruneRepo, want int, args ...string) (stdout, stderr string) {
	p.t.Helper()
	switch args[0] {
	case "apply", "prune":
		args = append(args, "--kubectl", p.c.KubectlPath, "--repo", r.dir)
	case "comment":
	default:
		args = append(args, "--repo", r.dir)
	}
	out, errOut, code := captureRun(args...)
	if code != want {
		p.t.Fatalf("kustomatrix %s: exit %d, want %d\n%s\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out, errOut
}

func (p *pruneCluster) kubectl(args ...string) string {
	p.t.Helper()
	out, errOut, code := p.c.Kubectl(args...)
	if code != 0 {
		p.t.Fatalf("kubectl %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// uid is the object's uid, "" when it does not exist.
func (p *pruneCluster) uid(ns, kind, name string) string {
	p.t.Helper()
	out, _, _ := p.c.Kubectl("get", kind, name, "--namespace="+ns, "--ignore-not-found", "-o", "jsonpath={.metadata.uid}")
	return out
}

func (p *pruneCluster) exists(ns, kind, name string) {
	p.t.Helper()
	if p.uid(ns, kind, name) == "" {
		p.t.Fatalf("%s %s/%s does not exist", kind, ns, name)
	}
}

func (p *pruneCluster) gone(ns, kind, name string) {
	p.t.Helper()
	if p.uid(ns, kind, name) != "" {
		p.t.Fatalf("%s %s/%s still exists", kind, ns, name)
	}
}

// pruneRepo is a manifest repository in git.
type pruneRepo struct {
	t   *testing.T
	dir string
}

func newPruneRepo(t *testing.T, files map[string]string) *pruneRepo {
	r := &pruneRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	for name, content := range files {
		r.write(name, content)
	}
	return r
}

func (r *pruneRepo) write(name, content string) {
	r.t.Helper()
	p := filepath.Join(r.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *pruneRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit commits everything and returns the commit id.
func (r *pruneRepo) commit(msg string) string {
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

func deployment(name string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
spec:
  selector: {matchLabels: {app: ` + name + `}}
  template:
    metadata: {labels: {app: ` + name + `}}
    spec: {containers: [{name: c, image: "nginx:1.27"}]}
`
}

func configMap(name, data string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  " + data + "\n"
}
