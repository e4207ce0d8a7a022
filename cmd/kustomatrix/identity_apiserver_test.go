package main

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kustomatrix/kustomatrix/internal/kubetest"
)

// diffPolicyName is what the API server names when the diff identity's policy
// refuses a request.
const diffPolicyName = "kustomatrix-diff-dry-run-only"

// TestIdentityDiffAgainstAPIServer proves, against a real kube-apiserver
// and kubectl, that the identity `kustomatrix identity diff` prints can run
// `kustomatrix diff --server` (changed, new and new-namespace objects,
// Secrets, a Role granting more than the identity holds) and cannot write:
// every kubectl write and `kustomatrix apply` is refused by the policy, the
// policy cannot be removed, and the cluster is unchanged afterwards. It
// first shows that the RBAC half alone lets the identity write.
func TestIdentityDiffAgainstAPIServer(t *testing.T) {
	c := kubetest.Start(t)
	t.Setenv("KUBECONFIG", c.Kubeconfig)
	t.Setenv("KUBECACHEDIR", filepath.Join(t.TempDir(), "kubectl-cache"))
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	admin := &pruneCluster{t: t, c: c}
	admin.kubectl("create", "namespace", "kustomatrix")
	r := newPruneRepo(t, map[string]string{
		".kustomatrix.yaml":                  "",
		"apps/shop/prod/kustomization.yaml":  "resources: [ns.yaml, deploy.yaml, cm.yaml, secret.yaml]\n",
		"apps/shop/prod/ns.yaml":             "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
		"apps/shop/prod/deploy.yaml":         withNamespace(deployment("web"), "shop"),
		"apps/shop/prod/cm.yaml":             withNamespace(configMap("settings", `a: "1"`), "shop"),
		"apps/shop/prod/secret.yaml":         secretManifest("creds", "shop", "old-hunter2"),
		"apps/plain/prod/kustomization.yaml": "resources: [cm.yaml]\n",
		"apps/plain/prod/cm.yaml":            withNamespace(configMap("plain", `a: "1"`), "shop"),
	})
	admin.kmx(r, 0, "apply", "--target", "apps/shop/prod")
	admin.kmx(r, 0, "apply", "--target", "apps/plain/prod")

	// The pull request: a changed Deployment, ConfigMap and Secret, a new
	// ConfigMap, a new Role granting what the identity does not hold, and a
	// new namespace with an object in it.
	r.write("apps/shop/prod/kustomization.yaml", "resources: [ns.yaml, deploy.yaml, cm.yaml, secret.yaml, added.yaml, role.yaml, canary.yaml]\n")
	r.write("apps/shop/prod/deploy.yaml", strings.Replace(withNamespace(deployment("web"), "shop"), "nginx:1.27", "nginx:1.28", 1))
	r.write("apps/shop/prod/cm.yaml", withNamespace(configMap("settings", `a: "2"`), "shop"))
	r.write("apps/shop/prod/secret.yaml", secretManifest("creds", "shop", "new-hunter2"))
	r.write("apps/shop/prod/added.yaml", withNamespace(configMap("added", `b: "1"`), "shop"))
	r.write("apps/shop/prod/role.yaml", `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-janitor, namespace: shop}
rules: [{apiGroups: [""], resources: [pods], verbs: [delete, deletecollection]}]
`)
	r.write("apps/shop/prod/canary.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop-canary\n---\n"+
		withNamespace(configMap("canary", `c: "1"`), "shop-canary"))
	r.write("apps/plain/prod/cm.yaml", withNamespace(configMap("plain", `a: "2"`), "shop"))

	identity := identityYAML(t, "--service-account", "kustomatrix/diff")
	var rbacOnly []string
	for _, doc := range strings.Split(identity, "\n---\n") {
		if !strings.Contains(doc, "kind: ValidatingAdmissionPolicy") {
			rbacOnly = append(rbacOnly, doc)
		}
	}
	admin.adminApply(strings.Join(rbacOnly, "\n---\n"))
	token := admin.kubectl("create", "token", "diff", "--namespace=kustomatrix")
	id := &diffIdentity{t: t, c: c, kubeconfig: identityKubeconfig(t, c, "token: "+strings.TrimSpace(token))}

	// RBAC alone: a server-side diff needs patch and create, so the
	// identity can write. This is what the policy is for.
	for _, args := range [][]string{
		{"create", "configmap", "rbac-only", "--namespace=kustomatrix"},
		{"patch", "configmap", "rbac-only", "--namespace=kustomatrix", "--type=merge", "-p", `{"data":{"written":"yes"}}`},
	} {
		if _, errOut, code := id.kubectl("", args...); code != 0 {
			t.Fatalf("with the RBAC half alone, kubectl %s fails (exit %d): the test proves nothing\n%s", strings.Join(args, " "), code, errOut)
		}
	}
	admin.kubectl("delete", "configmap", "rbac-only", "--namespace=kustomatrix")

	admin.adminApply(identity)
	id.waitForPolicy(admin)
	before := identityClusterState(admin)

	t.Run("diff works", func(t *testing.T) {
		id.t, admin.t = t, t
		out, errOut := id.kmx(r, 0, "diff", "--server", "--target", "apps/shop/prod")
		for _, want := range []string{
			"deployment.apps/web -n shop: " + statusChanged,
			"configmap/settings -n shop: " + statusChanged,
			"secret/creds -n shop: " + statusChanged,
			"configmap/added -n shop: " + statusCreated,
			"role.rbac.authorization.k8s.io/pod-janitor -n shop: " + statusCreated,
			"namespace/shop-canary: " + statusCreated,
			"configmap/canary -n shop-canary: " + statusWillBeCreated,
			"namespace/shop: " + statusUnchanged,
		} {
			if !strings.Contains(errOut, want) {
				t.Errorf("diff --server as the diff identity: stderr does not say %q", want)
			}
		}
		for _, want := range []string{"+  a: \"2\"", "image: nginx:1.28", "-  a: \"1\""} {
			if !strings.Contains(out, want) {
				t.Errorf("diff --server as the diff identity: stdout does not show %q", want)
			}
		}
		for _, secret := range []string{"old-hunter2", "new-hunter2"} {
			if strings.Contains(out, secret) || strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(secret))) {
				t.Errorf("the diff shows the Secret value %q", secret)
			}
		}
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
		}
	})

	t.Run("writes are refused by the policy", func(t *testing.T) {
		id.t, admin.t = t, t
		target := filepath.Join(r.dir, "apps/shop/prod")
		for _, args := range [][]string{
			{"apply", "--server-side", "--field-manager=kustomatrix", "-k", target},
			{"apply", "-k", target},
			{"create", "configmap", "new", "--namespace=shop", "--from-literal=a=b"},
			{"create", "namespace", "new"},
			{"patch", "configmap", "settings", "--namespace=shop", "--type=merge", "-p", `{"data":{"a":"patched"}}`},
			{"patch", "deployment", "web", "--namespace=shop", "--subresource=scale", "--type=merge", "-p", `{"spec":{"replicas":5}}`},
			{"label", "secret", "creds", "--namespace=shop", "pwned=yes"},
		} {
			id.refused(diffPolicyName, args...)
		}
		_, errOut := id.kmx(r, exitFailure, "apply", "--target", "apps/shop/prod")
		if !strings.Contains(errOut, diffPolicyName) {
			t.Errorf("kustomatrix apply as the diff identity: stderr does not name the policy\n%s", errOut)
		}
		// No delete or update in RBAC; should another binding grant them,
		// the policy still refuses them, and still allows their dry runs.
		id.refused(`cannot delete resource "configmaps"`, "delete", "configmap", "settings", "--namespace=shop")
		admin.adminApply(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: test-delete-update}
rules:
- {apiGroups: ["*"], resources: ["*"], verbs: [delete, update]}
- {apiGroups: [""], resources: [pods/exec], verbs: [create, get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: test-delete-update}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: test-delete-update}
subjects: [{kind: ServiceAccount, name: diff, namespace: kustomatrix}]
`)
		id.eventually(func() bool {
			_, _, code := id.kubectl("", "delete", "configmap", "settings", "--namespace=shop", "--dry-run=server")
			return code == 0
		}, "the extra delete grant takes effect")
		id.refused(diffPolicyName, "delete", "configmap", "settings", "--namespace=shop")
		id.refused(diffPolicyName, "delete", "namespace", "shop")
		// Admission sees an exec (CONNECT) before the API server looks for
		// the pod's node, so a pod nothing runs is enough.
		admin.kubectl("create", "serviceaccount", "default", "--namespace=shop") // no controller creates it
		admin.kubectl("run", "sleeper", "--namespace=shop", "--image=busybox")
		id.refused(diffPolicyName, "exec", "sleeper", "--namespace=shop", "--", "true")
		settings := admin.kubectl("get", "configmap", "settings", "--namespace=shop", "-o", "yaml")
		id.refused(diffPolicyName, "replace", "-f", "-", settings)
		admin.kubectl("delete", "clusterrolebinding,clusterrole", "test-delete-update")
	})

	t.Run("the policy cannot be escaped", func(t *testing.T) {
		id.t, admin.t = t, t
		for _, args := range [][]string{
			{"patch", "validatingadmissionpolicybinding", diffPolicyName, "--type=merge", "-p", `{"spec":{"validationActions":["Audit"]}}`},
			{"patch", "validatingadmissionpolicy", diffPolicyName, "--type=merge", "-p", `{"spec":{"failurePolicy":"Ignore"}}`},
			{"create", "token", "diff", "--namespace=kustomatrix"},
			{"patch", "clusterrole", "kustomatrix-diff", "--type=json", "-p", `[{"op":"add","path":"/rules/-","value":{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}}]`},
		} {
			id.refused("", args...)
		}
		// A dry-run TokenRequest would still mint a token: RBAC refuses it.
		id.refused(`cannot create resource "serviceaccounts/token"`, "create", "--raw",
			"/api/v1/namespaces/kustomatrix/serviceaccounts/diff/token?dryRun=All", "-f", "-",
			`{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{}}`)
	})

	// The pipeline's pull-request job also lists what a merge would prune.
	t.Run("prune dry run works", func(t *testing.T) {
		id.t, admin.t = t, t
		t.Setenv("KUBECONFIG", c.Kubeconfig)
		for k, v := range map[string]string{"GIT_CONFIG_GLOBAL": os.DevNull, "GIT_CONFIG_NOSYSTEM": "1",
			"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"} {
			t.Setenv(k, v)
		}
		admin.kubectl("create", "namespace", "legacy")
		p := newPruneRepo(t, map[string]string{
			".kustomatrix.yaml":                   "prune: [\"apps/**\"]\n",
			"apps/legacy/prod/kustomization.yaml": "namespace: legacy\nresources: [cm.yaml]\n",
			"apps/legacy/prod/cm.yaml":            configMap("old", `a: "1"`),
		})
		base := p.commit("legacy")
		admin.kmx(p, 0, "apply", "--target", "apps/legacy/prod")
		p.git("rm", "-q", "-r", "apps/legacy")
		p.commit("legacy removed")
		out, errOut := id.kmx(p, 0, "prune", "--target", "apps/legacy/prod", "--base", base, "--dry-run=server")
		if !strings.Contains(out, "1 object(s) would be deleted") {
			t.Errorf("prune --dry-run=server as the diff identity:\n%s\n%s", out, errOut)
		}
		if _, errOut := id.kmx(p, exitFailure, "prune", "--target", "apps/legacy/prod", "--base", base); !strings.Contains(errOut, "forbidden") {
			t.Errorf("a real prune as the diff identity: want Forbidden\n%s", errOut)
		}
		admin.exists("legacy", "configmap", "old")
	})

	t.Run("nothing changed", func(t *testing.T) {
		admin.t = t
		if after := identityClusterState(admin); after != before {
			t.Errorf("the cluster changed under the diff identity:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})

	t.Run("no secrets", func(t *testing.T) {
		id.t, admin.t = t, t
		admin.adminApply(identityYAML(t, "--service-account", "kustomatrix/diff", "--no-secrets"))
		id.eventually(func() bool {
			_, errOut, code := id.kubectl("", "get", "secret", "creds", "--namespace=shop")
			return code != 0 && strings.Contains(errOut, "forbidden")
		}, "Secrets become unreadable")
		// Not even a dry run, which would return the stored Secret.
		id.refused(`cannot get resource "secrets"`, "get", "secret", "creds", "--namespace=shop")
		id.refused(`cannot patch resource "secrets"`, "apply", "--server-side", "--dry-run=server", "-f", "-", secretManifest("creds", "shop", "x"))
		_, errOut := id.kmx(r, exitFailure, "diff", "--server", "--target", "apps/shop/prod")
		if !strings.Contains(errOut, "secrets") || !strings.Contains(errOut, "forbidden") {
			t.Errorf("diff of a target with a Secret under --no-secrets: want a Forbidden error naming secrets\n%s", errOut)
		}
		out, errOut := id.kmx(r, 0, "diff", "--server", "--target", "apps/plain/prod")
		if !strings.Contains(errOut, "configmap/plain -n shop: "+statusChanged) || !strings.Contains(out, `+  a: "2"`) {
			t.Errorf("diff of a target without Secrets under --no-secrets:\n%s\n%s", out, errOut)
		}
		id.refused(diffPolicyName, "patch", "configmap", "plain", "--namespace=shop", "--type=merge", "-p", `{"data":{"a":"patched"}}`)
		if after := identityClusterState(admin); after != before {
			t.Errorf("the cluster changed under the diff identity:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})

	t.Run("group", func(t *testing.T) {
		id.t, admin.t = t, t
		admin.adminApply(identityYAML(t, "--group", "kustomatrix-differs"))
		// The admin's token, impersonating a user of the group: the API
		// server authorizes and admits the impersonated user.
		member := &diffIdentity{t: t, c: c, kubeconfig: identityKubeconfig(t, c,
			"token: "+c.Token+"\n    as: ci-bot\n    as-groups: [kustomatrix-differs]")}
		member.waitForPolicy(admin)
		before := identityClusterState(admin) // the policy's match condition changed
		out, errOut := member.kmx(r, 0, "diff", "--server", "--target", "apps/shop/prod")
		if !strings.Contains(errOut, "configmap/settings -n shop: "+statusChanged) || !strings.Contains(out, `+  a: "2"`) {
			t.Errorf("diff --server as a member of the diff group:\n%s\n%s", out, errOut)
		}
		member.refused(diffPolicyName, "patch", "configmap", "settings", "--namespace=shop", "--type=merge", "-p", `{"data":{"a":"patched"}}`)
		member.refused(diffPolicyName, "apply", "--server-side", "-k", filepath.Join(r.dir, "apps/shop/prod"))
		// The ServiceAccount is no longer the subject: RBAC refuses it now.
		id.refused("forbidden", "get", "configmap", "settings", "--namespace=shop")
		if after := identityClusterState(admin); after != before {
			t.Errorf("the cluster changed under the diff identity:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})

	// Kubernetes' default OIDC username, issuer#sub: the quoting of the
	// YAML and of the policy's CEL string holds on a real API server.
	t.Run("oidc user", func(t *testing.T) {
		id.t, admin.t = t, t
		const user = "https://token.actions.githubusercontent.com#repo:o/r:pull_request"
		admin.adminApply(identityYAML(t, "--user", user))
		oidc := &diffIdentity{t: t, c: c, kubeconfig: identityKubeconfig(t, c,
			"token: "+c.Token+"\n    as: \""+user+"\"")}
		oidc.waitForPolicy(admin)
		before := identityClusterState(admin)
		out, errOut := oidc.kmx(r, 0, "diff", "--server", "--target", "apps/shop/prod")
		if !strings.Contains(errOut, "configmap/settings -n shop: "+statusChanged) || !strings.Contains(out, `+  a: "2"`) {
			t.Errorf("diff --server as the OIDC user:\n%s\n%s", out, errOut)
		}
		oidc.refused(diffPolicyName, "patch", "configmap", "settings", "--namespace=shop", "--type=merge", "-p", `{"data":{"a":"patched"}}`)
		if after := identityClusterState(admin); after != before {
			t.Errorf("the cluster changed under the diff identity:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}

// identityYAML runs `kustomatrix identity diff` with args.
func identityYAML(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := captureRun(append([]string{"identity", "diff"}, args...)...)
	if code != 0 {
		t.Fatalf("identity diff %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// adminApply applies YAML as the admin.
func (p *pruneCluster) adminApply(yaml string) {
	p.t.Helper()
	_, errOut, code := p.c.KubectlStdin(strings.NewReader(yaml), "apply", "--server-side", "--field-manager=test-admin", "-f", "-")
	if code != 0 {
		p.t.Fatalf("kubectl apply as the admin: exit %d\n%s", code, errOut)
	}
}

// identityClusterState is the state the diff identity must not change: the objects'
// resource versions, and which of the objects a write would create exist.
func identityClusterState(p *pruneCluster) string {
	p.t.Helper()
	out, _, _ := p.c.Kubectl("get", "namespace/shop", "deployment/web", "configmap/settings", "configmap/plain", "secret/creds",
		"--namespace=shop", "-o", "jsonpath={range .items[*]}{.kind}/{.metadata.name} {.metadata.resourceVersion}{\"\\n\"}{end}")
	for _, obj := range [][]string{{"shop", "configmap", "added"}, {"shop", "configmap", "new"}, {"shop", "role", "pod-janitor"},
		{"", "namespace", "shop-canary"}, {"", "namespace", "new"}} {
		if p.uid(obj[0], obj[1], obj[2]) != "" {
			out += obj[1] + "/" + obj[2] + " exists\n"
		}
	}
	for _, kind := range []string{"validatingadmissionpolicy", "validatingadmissionpolicybinding"} {
		rv, _, _ := p.c.Kubectl("get", kind, diffPolicyName, "-o", "jsonpath={.metadata.generation}")
		out += kind + " generation " + rv + "\n"
	}
	return out
}

// diffIdentity runs kubectl and kustomatrix with the diff identity's
// kubeconfig.
type diffIdentity struct {
	t          *testing.T
	c          *kubetest.Cluster
	kubeconfig string
}

// identityKubeconfig writes a kubeconfig for the cluster whose user has the
// given fields (YAML, indented for a user entry).
func identityKubeconfig(t *testing.T, c *kubetest.Cluster, user string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	data := "apiVersion: v1\nkind: Config\n" +
		"clusters: [{name: c, cluster: {server: " + c.Server + ", certificate-authority: " + c.CAFile + "}}]\n" +
		"contexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]\ncurrent-context: c\n" +
		"users:\n- name: u\n  user:\n    " + user + "\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// kubectl runs kubectl as the identity; a stdin argument of "" is none.
func (d *diffIdentity) kubectl(stdin string, args ...string) (stdout, stderr string, code int) {
	ctx, cancel := context.WithTimeout(context.Background(), kubetest.KubectlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.c.KubectlPath, append([]string{"--kubeconfig=" + d.kubeconfig}, args...)...)
	cmd.Env = d.c.Env()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		d.t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// refused runs kubectl as the identity and wants it to fail with want in
// its stderr. The last argument is stdin when args hold "-f -".
func (d *diffIdentity) refused(want string, args ...string) {
	d.t.Helper()
	stdin := ""
	if n := len(args); n >= 3 && args[n-3] == "-f" && args[n-2] == "-" {
		stdin, args = args[n-1], args[:n-1]
	}
	out, errOut, code := d.kubectl(stdin, args...)
	if code == 0 || !strings.Contains(errOut, want) || !strings.Contains(errOut, "forbidden") && !strings.Contains(errOut, "Forbidden") {
		d.t.Errorf("kubectl %s as the diff identity: exit %d, want a refusal (Forbidden) saying %q\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), code, want, out, errOut)
	}
}

// kmx runs kustomatrix in the repository with the identity's kubeconfig.
func (d *diffIdentity) kmx(r *pruneRepo, want int, args ...string) (stdout, stderr string) {
	d.t.Helper()
	d.t.Setenv("KUBECONFIG", d.kubeconfig)
	p := &pruneCluster{t: d.t, c: d.c}
	out, errOut := p.kmx(r, want, append(args, "--kubectl", d.c.KubectlPath)...)
	return out, errOut
}

// waitForPolicy waits until the policy refuses the identity's writes (the
// API server loads policies asynchronously); a probe that gets through is
// deleted by the admin.
func (d *diffIdentity) waitForPolicy(admin *pruneCluster) {
	d.t.Helper()
	d.eventually(func() bool {
		_, errOut, code := d.kubectl("", "create", "configmap", "policy-probe", "--namespace=kustomatrix")
		if code == 0 {
			admin.kubectl("delete", "configmap", "policy-probe", "--namespace=kustomatrix")
		}
		return code != 0 && strings.Contains(errOut, diffPolicyName)
	}, "the policy refuses writes")
}

func (d *diffIdentity) eventually(cond func() bool, what string) {
	d.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			d.t.Fatalf("timed out after 30s waiting until %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func withNamespace(yaml, ns string) string {
	return strings.Replace(yaml, "metadata:\n", "metadata:\n  namespace: "+ns+"\n", 1)
}

func secretManifest(name, ns, password string) string {
	return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: " + name + "\n  namespace: " + ns + "\nstringData:\n  password: " + password + "\n"
}
