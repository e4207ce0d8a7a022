package kubetest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/kustomatrix/kustomatrix/internal/kubetest"
)

const manifest = `apiVersion: v1
kind: Namespace
metadata:
  name: kubetest-demo
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: demo
  namespace: kubetest-demo
data:
  greeting: hello
`

// TestCluster starts a real cluster, server-side applies and diffs through
// it, then checks that the cleanup stopped both processes and removed the
// data directory.
func TestCluster(t *testing.T) {
	var c *kubetest.Cluster
	t.Run("apply-and-diff", func(t *testing.T) {
		c = kubetest.Start(t)
		dir := t.TempDir()
		same := filepath.Join(dir, "same.yaml")
		changed := filepath.Join(dir, "changed.yaml")
		writeFile(t, same, manifest)
		writeFile(t, changed, strings.Replace(manifest, "greeting: hello", "greeting: bye", 1))

		out, errOut, code := c.Kubectl("version", "-o", "json")
		if code != 0 {
			t.Fatalf("kubectl version: exit %d\n%s%s", code, out, errOut)
		}
		var v struct {
			Client struct{ GitVersion string } `json:"clientVersion"`
			Server struct{ GitVersion string } `json:"serverVersion"`
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("kubectl version -o json: %v\n%s", err, out)
		}
		if v.Client.GitVersion != kubetest.KubernetesVersion || v.Server.GitVersion != kubetest.KubernetesVersion {
			t.Errorf("kubectl %q, kube-apiserver %q; want both %s", v.Client.GitVersion, v.Server.GitVersion, kubetest.KubernetesVersion)
		}

		out, errOut, code = c.Kubectl("apply", "--server-side", "--field-manager=kustomatrix", "-f", same)
		if code != 0 {
			t.Fatalf("kubectl apply --server-side: exit %d\n%s%s", code, out, errOut)
		}
		for _, want := range []string{"namespace/kubetest-demo serverside-applied", "configmap/demo serverside-applied"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl apply output lacks %q:\n%s", want, out)
			}
		}

		out, errOut, code = c.Kubectl("get", "configmap", "demo", "-n", "kubetest-demo", "-o", "jsonpath={.data.greeting}")
		if code != 0 || out != "hello" {
			t.Errorf("kubectl get configmap .data.greeting: exit %d, %q (want hello)\n%s", code, out, errOut)
		}
		out, errOut, code = c.Kubectl("get", "configmap", "demo", "-n", "kubetest-demo", "-o", "jsonpath={.metadata.managedFields[*].manager}")
		if code != 0 || !slices.Contains(strings.Fields(out), "kustomatrix") {
			t.Errorf("kubectl get configmap managedFields managers: exit %d, %q (want kustomatrix among them)\n%s", code, out, errOut)
		}

		out, errOut, code = c.Kubectl("diff", "--server-side", "--field-manager=kustomatrix", "-f", same)
		if code != 0 {
			t.Errorf("kubectl diff of the applied manifest: exit %d (want 0)\n%s%s", code, out, errOut)
		}
		out, errOut, code = c.KubectlStdin(strings.NewReader(readFile(t, changed)),
			"diff", "--server-side", "--field-manager=kustomatrix", "-f", "-")
		if code != 1 {
			t.Errorf("kubectl diff of a changed manifest: exit %d (want 1)\n%s%s", code, out, errOut)
		}
		for _, re := range []string{`(?m)^-\s+greeting: hello$`, `(?m)^\+\s+greeting: bye$`} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("kubectl diff output does not match %s:\n%s", re, out)
			}
		}

		_, errOut, code = c.Kubectl("get", "configmap", "missing", "-n", "kubetest-demo")
		if code != 1 || !strings.Contains(errOut, "NotFound") {
			t.Errorf("kubectl get of a missing object: exit %d (want 1), stderr %q", code, errOut)
		}

		// Env lets other programs find the cluster and the matching kubectl.
		sh := exec.Command("sh", "-c", "kubectl get namespace kubetest-demo -o name")
		sh.Env = c.Env()
		if b, err := sh.CombinedOutput(); err != nil || strings.TrimSpace(string(b)) != "namespace/kubetest-demo" {
			t.Errorf("kubectl through Env(): %v\n%s", err, b)
		}
	})
	if c == nil || c.EtcdPID == 0 {
		return // skipped with -short, or failed to start (already reported)
	}

	t.Run("cleanup-stopped-everything", func(t *testing.T) {
		for name, pid := range map[string]int{"etcd": c.EtcdPID, "kube-apiserver": c.APIServerPID} {
			if alive(pid) {
				t.Errorf("%s (pid %d) still runs after the test's cleanup", name, pid)
			}
		}
		if _, err := os.Stat(c.Dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("data directory %s still exists after the cleanup (stat: %v)", c.Dir, err)
		}
	})
}

func alive(pid int) bool {
	if runtime.GOOS == "windows" {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}

// TestBinariesMissing checks that a machine without the binaries gets an
// error naming the build script, and that Start then fails the test rather
// than skipping it (except with -short).
func TestBinariesMissing(t *testing.T) {
	t.Setenv(kubetest.CacheEnv, t.TempDir())
	_, _, _, err := kubetest.Binaries()
	if err == nil || !strings.Contains(err.Error(), "hack/build-kube.sh") {
		t.Fatalf("Binaries() with an empty cache: %v; want an error naming hack/build-kube.sh", err)
	}

	fake := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		kubetest.Start(fake)
		fake.outcome = "returned"
	}()
	<-done
	switch {
	case testing.Short():
		if fake.outcome != "skip: e2e tier skipped with -short" {
			t.Errorf("Start with -short: %s; want it to skip", fake.outcome)
		}
	case !strings.HasPrefix(fake.outcome, "fatal: ") || !strings.Contains(fake.outcome, "hack/build-kube.sh"):
		t.Errorf("Start without binaries: %s; want t.Fatal naming hack/build-kube.sh", fake.outcome)
	}
}

// fakeTB records how Start ends the test instead of ending the real one.
type fakeTB struct {
	testing.TB
	outcome string
}

func (f *fakeTB) Fatal(args ...any)                 { f.end("fatal: " + fmt.Sprint(args...)) }
func (f *fakeTB) Fatalf(format string, args ...any) { f.end("fatal: " + fmt.Sprintf(format, args...)) }
func (f *fakeTB) FailNow()                          { f.end("fatal: FailNow") }
func (f *fakeTB) Skip(args ...any)                  { f.end("skip: " + fmt.Sprint(args...)) }
func (f *fakeTB) Skipf(format string, args ...any)  { f.end("skip: " + fmt.Sprintf(format, args...)) }
func (f *fakeTB) SkipNow()                          { f.end("skip: SkipNow") }
func (f *fakeTB) Cleanup(func())                    { f.outcome = "registered a cleanup" }
func (f *fakeTB) end(outcome string) {
	f.outcome = outcome
	runtime.Goexit()
}

// TestVersionMatchesToolsModule keeps KubernetesVersion in step with what
// hack/build-kube.sh builds.
func TestVersionMatchesToolsModule(t *testing.T) {
	gomod := readFile(t, filepath.Join("..", "tools", "go.mod"))
	m := regexp.MustCompile(`(?m)^\s*k8s\.io/kubernetes (v\S+)`).FindStringSubmatch(gomod)
	if m == nil {
		t.Fatalf("internal/tools/go.mod does not require k8s.io/kubernetes")
	}
	if m[1] != kubetest.KubernetesVersion {
		t.Errorf("internal/tools/go.mod requires k8s.io/kubernetes %s, kubetest.KubernetesVersion is %s", m[1], kubetest.KubernetesVersion)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
