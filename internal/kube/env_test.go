package kube_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kustomatrix/kustomatrix/internal/kube"
	"github.com/kustomatrix/kustomatrix/internal/kubetest"
)

// TestDiffWithExternalDiffSet diffs against a real API server with the
// runner's KUBECTL_EXTERNAL_DIFF set to "diff -q": kubectl must still run
// the `diff -u -N` whose output Diff parses, so the change is reported with
// its diff instead of as "no changes".
func TestDiffWithExternalDiffSet(t *testing.T) {
	c := kubetest.Start(t)
	t.Setenv("KUBECONFIG", c.Kubeconfig)
	t.Setenv("KUBECACHEDIR", filepath.Join(t.TempDir(), "cache"))
	k := kube.Kubectl{Path: c.KubectlPath}
	const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  a: "
	if out, err := k.Apply(context.Background(), []byte(cm+"\"1\"\n"), kube.ApplyOptions{}); err != nil {
		t.Fatalf("Apply: %v\n%s", err, out)
	}
	changed := cm + "\"2\"\n"
	for name, value := range map[string]string{
		"diff -q": "diff -q",
		"true":    "true", // exit 0 whatever differs
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("KUBECTL_EXTERNAL_DIFF", value)
			out, differs, err := k.Diff(context.Background(), []byte(changed))
			if err != nil {
				t.Fatalf("Diff: %v", err)
			}
			chunk := kube.SplitDiff(out)["v1.ConfigMap.default.settings"]
			if !differs || !strings.Contains(string(chunk), `+  a: "2"`) {
				t.Fatalf("Diff with KUBECTL_EXTERNAL_DIFF=%q: differs=%v, chunk %q, output:\n%s", value, differs, chunk, out)
			}
		})
	}
}

// fakeKubectl writes a kubectl that prints stdout and exits with code.
func fakeKubectl(t *testing.T, stdout string, code int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubectl")
	script := "#!/bin/sh\ncat >/dev/null\nprintf '%s' '" + strings.ReplaceAll(stdout, "'", `'\''`) + "'\nexit " + string(rune('0'+code)) + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDiffExitCodeAndOutputDisagree: an exit code that the output
// contradicts is an error, never "no changes" (nor changes without a diff).
func TestDiffExitCodeAndOutputDisagree(t *testing.T) {
	for name, tc := range map[string]struct {
		stdout string
		code   int
	}{
		"exit 1, nothing printed":      {"", 1},
		"exit 1, diff -q output":       {"Files /tmp/LIVE-1/v1.ConfigMap.default.a and /tmp/MERGED-2/v1.ConfigMap.default.a differ\n", 1},
		"exit 0, a unified diff":       {"diff -u -N /tmp/LIVE-1/v1.ConfigMap.default.a /tmp/MERGED-2/v1.ConfigMap.default.a\n@@ -1 +1 @@\n-a\n+b\n", 0},
		"exit 0, something else again": {"Files differ\n", 0},
	} {
		t.Run(name, func(t *testing.T) {
			k := kube.Kubectl{Path: fakeKubectl(t, tc.stdout, tc.code)}
			_, differs, err := k.Diff(context.Background(), []byte("kind: ConfigMap\n"))
			if err == nil || !strings.Contains(err.Error(), "kubectl diff exited") || !strings.Contains(err.Error(), "disagree") {
				t.Fatalf("Diff: differs=%v, err=%v; want an error saying exit code and output disagree", differs, err)
			}
		})
	}
	// The agreeing cases stay as they were.
	if _, differs, err := (kube.Kubectl{Path: fakeKubectl(t, "", 0)}).Diff(context.Background(), nil); err != nil || differs {
		t.Errorf("exit 0, no output: differs=%v, err=%v", differs, err)
	}
}

// hangingServer accepts connections and never answers, like an API server
// behind a dead load balancer. It returns its URL.
func hangingServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "https://" + l.Addr().String()
}

func writeKubeconfig(t *testing.T, server, contextName string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "` + server + `", insecure-skip-tls-verify: true}}]
contexts: [{name: ` + contextName + `, context: {cluster: c, user: u}}]
current-context: ` + contextName + `
users: [{name: u, user: {token: t}}]
`
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func cachedKubectl(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs kubectl; skipped with -short")
	}
	_, kubectl, _, err := kubetest.Binaries()
	if err != nil {
		t.Skip(err)
	}
	t.Setenv("KUBECACHEDIR", filepath.Join(t.TempDir(), "cache"))
	return kubectl
}

// TestUnresponsiveAPIServer: against a server that never answers, every
// first call of diff, apply and prune fails within about the request
// timeout, naming the server, context and kubeconfig.
func TestUnresponsiveAPIServer(t *testing.T) {
	kubectl := cachedKubectl(t)
	server := hangingServer(t)
	cfg := writeKubeconfig(t, server, "prod")
	t.Setenv("KUBECONFIG", cfg)
	const timeout = 2 * time.Second
	t.Setenv(kube.RequestTimeoutEnv, timeout.String())
	k := kube.Kubectl{Path: kubectl}
	for name, call := range map[string]func(context.Context) error{
		"namespaces": func(ctx context.Context) error { _, err := k.Namespaces(ctx); return err },
		"applyset":   func(ctx context.Context) error { _, err := k.GetApplySet(ctx, "shop", "parent"); return err },
	} {
		t.Run(name, func(t *testing.T) {
			// Without a request timeout kubectl takes minutes; stop waiting
			// well before.
			ctx, cancel := context.WithTimeout(context.Background(), 10*timeout)
			defer cancel()
			start := time.Now()
			err := call(ctx)
			took := time.Since(start)
			if took > 4*timeout {
				t.Errorf("took %s with a request timeout of %s", took.Round(time.Millisecond), timeout)
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range []string{"cannot reach the API server " + server, `context "prod"`, "kubeconfig " + cfg, kube.RequestTimeoutEnv} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not say %q:\n%v", want, err)
				}
			}
		})
	}
}

// TestMissingKubeconfig: without a kubeconfig kubectl tries localhost:8080;
// the error says there is no kubeconfig and where it looked.
func TestMissingKubeconfig(t *testing.T) {
	kubectl := cachedKubectl(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv(kube.RequestTimeoutEnv, "2s")
	k := kube.Kubectl{Path: kubectl}
	for name, tc := range map[string]struct{ kubeconfig, want string }{
		"unset":   {"", "no kubeconfig found: KUBECONFIG is not set and " + filepath.Join(home, ".kube", "config") + " does not exist"},
		"missing": {filepath.Join(home, "nope.yaml"), `no kubeconfig: KUBECONFIG="` + filepath.Join(home, "nope.yaml") + `" names no existing file`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tc.kubeconfig) // restored after the test
			if tc.kubeconfig == "" {
				os.Unsetenv("KUBECONFIG")
			}
			_, err := k.Namespaces(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "localhost:8080") {
				t.Fatalf("error = %v\nwant it to say %q", err, tc.want)
			}
		})
	}
}

// TestBadRequestTimeout: a request timeout that is not a duration is an
// error before kubectl runs.
func TestBadRequestTimeout(t *testing.T) {
	t.Setenv(kube.RequestTimeoutEnv, "30")
	_, err := kube.Kubectl{Path: "/nonexistent/kubectl"}.Namespaces(context.Background())
	if err == nil || !strings.Contains(err.Error(), kube.RequestTimeoutEnv+`="30"`) {
		t.Fatalf("err = %v", err)
	}
}
