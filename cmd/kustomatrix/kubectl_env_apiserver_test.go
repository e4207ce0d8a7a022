package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kustomatrix/kustomatrix/internal/kube"
	"github.com/kustomatrix/kustomatrix/internal/kubetest"
)

// TestDiffServerWithExternalDiff: a runner with KUBECTL_EXTERNAL_DIFF set
// ("diff -q" prints no unified diff; "true" exits 0) must not turn a change
// into "no changes": diff --server --exit-code still shows the change and
// exits 1. Against a real kube-apiserver.
func TestDiffServerWithExternalDiff(t *testing.T) {
	c := kubetest.Start(t)
	t.Setenv("KUBECONFIG", c.Kubeconfig)
	t.Setenv("KUBECACHEDIR", filepath.Join(t.TempDir(), "kubectl-cache"))
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	r := newPruneRepo(t, map[string]string{
		".kustomatrix.yaml":              "",
		"apps/a/prod/kustomization.yaml": "namespace: default\nresources: [cm.yaml]\n",
		"apps/a/prod/cm.yaml":            configMap("settings", `a: "1"`),
	})
	cl := &pruneCluster{t: t, c: c}
	cl.kmx(r, 0, "apply", "--target", "apps/a/prod")
	r.write("apps/a/prod/cm.yaml", configMap("settings", `a: "2"`))
	for _, ext := range []string{"diff -q", "true"} {
		t.Run(ext, func(t *testing.T) {
			t.Setenv("KUBECTL_EXTERNAL_DIFF", ext)
			out, errOut, code := captureRun("diff", "--server", "--exit-code", "--target", "apps/a/prod", "--kubectl", c.KubectlPath, "--repo", r.dir)
			if code != exitChanges || !strings.Contains(out, `+  a: "2"`) || !strings.Contains(errOut, "configmap/settings -n default: "+statusChanged) {
				t.Fatalf("diff --server --exit-code with KUBECTL_EXTERNAL_DIFF=%q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", ext, code, exitChanges, out, errOut)
			}
		})
	}
}

// TestDiffServerUnresponsive: an API server that accepts connections and
// never answers fails diff --server within about the request timeout
// (KUSTOMATRIX_REQUEST_TIMEOUT), with a message naming the server, the
// context and the kubeconfig.
func TestDiffServerUnresponsive(t *testing.T) {
	if testing.Short() {
		t.Skip("runs kubectl; skipped with -short")
	}
	_, kubectl, _, err := kubetest.Binaries()
	if err != nil {
		t.Skip(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 64)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			held <- conn // never answered
		}
	}()
	t.Cleanup(func() {
		l.Close()
		for len(held) > 0 {
			(<-held).Close()
		}
	})
	server := "https://" + l.Addr().String()
	cfg := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(cfg, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "`+server+`", insecure-skip-tls-verify: true}}]
contexts: [{name: prod, context: {cluster: c, user: u}}]
current-context: prod
users: [{name: u, user: {token: t}}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", cfg)
	t.Setenv("KUBECACHEDIR", filepath.Join(t.TempDir(), "kubectl-cache"))
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	t.Setenv(kube.RequestTimeoutEnv, "2s")
	r := newPruneRepo(t, map[string]string{
		".kustomatrix.yaml":              "",
		"apps/a/prod/kustomization.yaml": "namespace: default\nresources: [cm.yaml]\n",
		"apps/a/prod/cm.yaml":            configMap("settings", `a: "1"`),
	})
	start := time.Now()
	done := make(chan struct{})
	var out, errOut string
	var code int
	go func() {
		defer close(done)
		out, errOut, code = captureRun("diff", "--server", "--target", "apps/a/prod", "--kubectl", kubectl, "--repo", r.dir)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("diff --server against an unresponsive API server still running after 30s, with a request timeout of 2s")
	}
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("took %s with a request timeout of 2s", took.Round(time.Millisecond))
	}
	want := "cannot reach the API server " + server + ` (context "prod", kubeconfig ` + cfg + ")"
	if code != exitFailure || !strings.Contains(errOut, want) {
		t.Fatalf("exit %d, want %d; stderr does not say %q\nstdout:\n%s\nstderr:\n%s", code, exitFailure, want, out, errOut)
	}
}
