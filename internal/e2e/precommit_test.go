package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// preCommit runs Debian's pre-commit on the project's own hook definitions
// with try-repo, which takes uncommitted changes into account: the natural
// test of .pre-commit-hooks.yaml. The hook environment is built by
// pre-commit itself (language: golang) from the module proxy.
func (r *scratchRepo) preCommit(hook string) (string, int) {
	r.t.Helper()
	bin, err := exec.LookPath("pre-commit")
	if err != nil {
		r.t.Fatal("pre-commit is not installed (hack/test.sh installs Debian's pre-commit)")
	}
	cmd := exec.Command(bin, "try-repo", projectRoot(r.t), hook, "--all-files")
	cmd.Dir = r.Dir
	gomodcache, _ := exec.Command("go", "env", "GOMODCACHE").Output()
	cmd.Env = append(gitEnv(), "PRE_COMMIT_HOME="+preCommitHome(r.t),
		// Reuse the module cache: the hook build then needs no download.
		"GOMODCACHE="+strings.TrimSpace(string(gomodcache)))
	return combinedOutput(r.t, cmd)
}

// preCommitHome is one hook cache per test, removed with it.
func preCommitHome(t *testing.T) string {
	t.Helper()
	homes.Lock()
	defer homes.Unlock()
	if homes.m == nil {
		homes.m = map[*testing.T]string{}
	}
	if h, ok := homes.m[t]; ok {
		return h
	}
	h := t.TempDir()
	homes.m[t] = h
	return h
}

var homes struct {
	sync.Mutex
	m map[*testing.T]string
}

// TestPreCommitHooks: adding a service makes kustomatrix-generate regenerate
// and fail the commit; once the new files are staged it passes; and
// kustomatrix-check fails on drift without writing, then passes.
func TestPreCommitHooks(t *testing.T) {
	skipShort(t)
	r := newScratchRepo(t, filepath.Join(projectRoot(t), "testdata", "golden", "overlays", "input"))
	if out, code := r.kustomatrix("generate"); code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, out)
	}
	r.commitAll("manifests and pipeline")

	if out, code := r.preCommit("kustomatrix-generate"); code != 0 {
		t.Fatalf("kustomatrix-generate on an up-to-date repo: exit %d\n%s", code, out)
	}

	// A new service, committed without regenerating.
	if err := os.CopyFS(filepath.Join(r.Dir, "apps", "billing"), os.DirFS(filepath.Join(r.Dir, "apps", "api"))); err != nil {
		t.Fatal(err)
	}
	r.git("add", "-A")
	out, code := r.preCommit("kustomatrix-check")
	if code == 0 || !strings.Contains(out, "out of date") {
		t.Fatalf("kustomatrix-check with a new service: exit %d, want failure naming the drift\n%s", code, out)
	}
	if strings.Contains(r.read(".github/workflows/kustomatrix.yml"), "billing") {
		t.Fatal("kustomatrix-check wrote the workflow; it must write nothing")
	}

	out, code = r.preCommit("kustomatrix-generate")
	if code == 0 {
		t.Fatalf("kustomatrix-generate with a new service passed; it must fail the commit\n%s", out)
	}
	for _, want := range []string{"updated .github/workflows/kustomatrix.yml", "3 service(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("hook output lacks %q:\n%s", want, out)
		}
	}
	wf := r.read(".github/workflows/kustomatrix.yml")
	if !strings.Contains(wf, "deploy-billing:") {
		t.Fatalf("regenerated workflow has no job for the new service:\n%s", wf)
	}

	r.git("add", "-A")
	for _, hook := range []string{"kustomatrix-generate", "kustomatrix-check"} {
		if out, code := r.preCommit(hook); code != 0 {
			t.Fatalf("%s after staging the regenerated files: exit %d\n%s", hook, code, out)
		}
	}
}
