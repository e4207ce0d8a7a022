package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// projectRoot is the kustomatrix checkout the tests run from.
func projectRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// skipShort skips the e2e tier under -short, with a message (never silently).
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end tier skipped with -short")
	}
}

// scratchRepo is a throwaway git repository made from a fixture.
type scratchRepo struct {
	t   *testing.T
	Dir string
}

// newScratchRepo copies a fixture into a temp dir and makes it a git
// repository on branch main with an origin remote (act parses its URL and
// never contacts it).
func newScratchRepo(t *testing.T, fixture string) *scratchRepo {
	t.Helper()
	r := &scratchRepo{t: t, Dir: t.TempDir()}
	if err := os.CopyFS(r.Dir, os.DirFS(fixture)); err != nil {
		t.Fatal(err)
	}
	r.git("init", "-q", "-b", "main")
	r.git("remote", "add", "origin", "https://github.com/acme/manifests.git")
	return r
}

// gitEnv isolates git from the machine's configuration.
func gitEnv() []string {
	return append(os.Environ(),
		"GIT_AUTHOR_NAME=kustomatrix-test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=kustomatrix-test", "GIT_COMMITTER_EMAIL=test@example.com",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_PAGER=cat")
}

func (r *scratchRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.Dir
	cmd.Env = gitEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *scratchRepo) commitAll(msg string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

func (r *scratchRepo) write(rel, content string) {
	r.t.Helper()
	p := filepath.Join(r.Dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *scratchRepo) read(rel string) string {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.Dir, filepath.FromSlash(rel)))
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

// kustomatrixBin builds the CLI once per test binary.
func kustomatrixBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kustomatrix-e2e-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "kustomatrix")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/kustomatrix")
		cmd.Dir = projectRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = &buildError{out: string(out), err: err}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return "building kustomatrix: " + e.err.Error() + "\n" + e.out }

func (r *scratchRepo) kustomatrix(args ...string) (string, int) {
	r.t.Helper()
	cmd := exec.Command(kustomatrixBin(r.t), args...)
	cmd.Dir = r.Dir
	return combinedOutput(r.t, cmd)
}

// combinedOutput runs a command and returns its output and exit code; only
// a command that cannot start at all fails the test.
func combinedOutput(t *testing.T, cmd *exec.Cmd) (string, int) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}
