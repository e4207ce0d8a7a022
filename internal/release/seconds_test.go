package release

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestSecondsPerJob measures, in one run, what a job spends from the root
// action's first install step to the tool's first output, with empty
// caches, both ways: a build from source (empty module and build caches, the
// modules fetched from the Go proxy, as actions/setup-go with cache: false
// leaves a runner) and the verified download (hack/release/install.sh from a
// loopback server standing in for the release host). Opt in, it takes
// minutes and the network: KUSTOMATRIX_BENCH_SECONDS=1 go test
// ./internal/release -run TestSecondsPerJob -v -timeout 20m
func TestSecondsPerJob(t *testing.T) {
	if os.Getenv("KUSTOMATRIX_BENCH_SECONDS") == "" {
		t.Skip("set KUSTOMATRIX_BENCH_SECONDS=1 to measure (minutes, empty caches)")
	}
	tree := filepath.Join(t.TempDir(), "action")
	if err := CopyTree(projectRoot(t), tree); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(tree, SumsFile))
	if _, err := BuildReleaseTree(tree, nil, runtime.GOOS+"/"+runtime.GOARCH); err != nil {
		t.Fatal(err)
	}
	asset, err := os.ReadFile(filepath.Join(tree, "dist", HostAsset()))
	if err != nil {
		t.Fatal(err)
	}
	// The action's tree as a pinned checkout holds it: no dist/.
	if err := os.RemoveAll(filepath.Join(tree, "dist")); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(asset) }))
	defer srv.Close()
	path := "PATH=" + filepath.Dir(goBinary(t)) + ":/usr/bin:/bin"

	// Source: the action's build step, from empty caches, then the tool.
	tmp := t.TempDir()
	start := time.Now()
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(tmp, "kustomatrix"), "./cmd/kustomatrix")
	build.Dir = tree
	build.Env = append(os.Environ(), path, "GOCACHE="+filepath.Join(tmp, "gocache"), "GOMODCACHE="+filepath.Join(tmp, "gomodcache"), "GOFLAGS=-modcacherw")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	firstOutput(t, filepath.Join(tmp, "kustomatrix"))
	source := time.Since(start)

	// Download: the action's install step, then the tool.
	runner := t.TempDir()
	start = time.Now()
	install := exec.Command("bash", filepath.Join(tree, "hack", "release", "install.sh"), "kustomatrix")
	install.Env = []string{path, "RUNNER_TEMP=" + runner, "GITHUB_OUTPUT=" + filepath.Join(runner, "out"), "KUSTOMATRIX_RELEASE_URL=" + srv.URL + "/"}
	out, err := install.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "verified SHA-256") {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	firstOutput(t, filepath.Join(runner, "kustomatrix-bin", "kustomatrix"))
	download := time.Since(start)

	t.Logf("seconds to the tool's first output, empty caches: source build %.1f s, verified download %.2f s (%d-byte asset, %d cores)",
		source.Seconds(), download.Seconds(), len(asset), runtime.NumCPU())
}

func goBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func firstOutput(t *testing.T, bin string) {
	t.Helper()
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "version: ") {
		t.Fatalf("%s version: %v\n%s", bin, err, out)
	}
}
