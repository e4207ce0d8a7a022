package gitfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitEnv is the environment of the git commands that build test
// repositories: none of the caller's git settings (a GIT_DIR from a hook, a
// global config), fixed identities and dates.
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_AUTHOR_DATE=2000-01-01T00:00:00Z",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_COMMITTER_DATE=2000-01-01T00:00:00Z",
	)
}

// runGit runs git in dir and returns its output without the final newline.
func runGit(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = gitEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// tempDir is t.TempDir with its symlinks resolved (macOS's /var), so that
// paths in it compare equal to Root.
func tempDir(tb testing.TB) string {
	tb.Helper()
	d, err := filepath.EvalSymlinks(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// initRepo makes an empty repository at dir that never packs on its own:
// the missing-object tests delete loose objects.
func initRepo(tb testing.TB, dir string) {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	runGit(tb, dir, "init", "-q", "-b", "main")
	runGit(tb, dir, "config", "gc.auto", "0")
	runGit(tb, dir, "config", "core.symlinks", "true")
}

// entry is one thing to put in a test repository: a file with its
// contents, an executable, or a symlink with its target.
type entry struct {
	path, data string
	exec, link bool
}

func regular(path, data string) entry    { return entry{path: path, data: data} }
func executable(path, data string) entry { return entry{path: path, data: data, exec: true} }
func symlink(path, target string) entry  { return entry{path: path, data: target, link: true} }

// write creates the entries under dir.
func write(tb testing.TB, dir string, entries ...entry) {
	tb.Helper()
	for _, e := range entries {
		p := filepath.Join(dir, e.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		var err error
		switch {
		case e.link:
			err = os.Symlink(e.data, p)
		case e.exec:
			err = os.WriteFile(p, []byte(e.data), 0o755)
		default:
			err = os.WriteFile(p, []byte(e.data), 0o644)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// commitAll commits everything in the repository at dir and returns the
// commit's hash.
func commitAll(tb testing.TB, dir string) string {
	tb.Helper()
	runGit(tb, dir, "add", "-A")
	runGit(tb, dir, "commit", "-q", "-m", "test")
	return runGit(tb, dir, "rev-parse", "HEAD")
}

// openFS opens the commit and closes it when the test ends.
func openFS(tb testing.TB, dir, rev string) *FS {
	tb.Helper()
	f, err := Open(dir, rev)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := f.Close(); err != nil {
			tb.Error(err)
		}
	})
	return f
}
