package render

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kustomatrix/kustomatrix/generator"
)

const configMap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: remote\n"

// remoteConfig is the default configuration with the given
// kustomize.remoteResources patterns.
func remoteConfig(patterns ...string) *generator.Config {
	cfg := &generator.Config{}
	cfg.Defaults()
	cfg.Kustomize.RemoteResources = patterns
	return cfg
}

// writeRoot writes app/kustomization.yaml (and the given extra files) under
// a fresh directory on disk and returns the directory.
func writeRoot(t *testing.T, kustomization string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app", "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// expectRefused fails unless err is a refusal naming want in the
// file:line:col: message [remote-refused] form.
func expectRefused(t *testing.T, err error, want ...string) {
	t.Helper()
	if !errors.Is(err, ErrRemoteRefused) {
		t.Fatalf("build error %v, want one wrapping ErrRemoteRefused", err)
	}
	for _, w := range append(want, "[remote-refused]", "kustomize.remoteResources") {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("build error does not say %q:\n%v", w, err)
		}
	}
}

func TestBuildRefusesHTTPWithoutARequest(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		fmt.Fprint(w, configMap)
	}))
	defer srv.Close()
	for name, cfg := range map[string]*generator.Config{
		"no patterns":            remoteConfig(),
		"a pattern for loopback": remoteConfig("127.0.0.1:*", "127.0.0.1"),
		"another host allowed":   remoteConfig("github.com/myorg/*"),
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeRoot(t, "resources:\n  - "+srv.URL+"/x.yaml\n")
			_, _, err := Build(filesys.MakeFsOnDisk(), dir, "app", cfg)
			expectRefused(t, err, "app/kustomization.yaml:2:5:", srv.URL+"/x.yaml")
			if n := requests.Load(); n != 0 {
				t.Errorf("the build made %d request(s) to %s, want none", n, srv.URL)
			}
		})
	}
}

// gitRepo makes a git repository outside the manifest repository holding
// base/kustomization.yaml with one ConfigMap, and returns its path and
// commit.
func gitRepo(t *testing.T) (string, string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "base"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "base", "kustomization.yaml"), []byte("resources:\n  - cm.yaml\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "base", "cm.yaml"), []byte(configMap), 0o644)
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "base")
	return dir, git("rev-parse", "HEAD")
}

func TestBuildRefusesLocalGitTransports(t *testing.T) {
	repo, sha := gitRepo(t)
	cfg := remoteConfig("github.com/myorg/*", "*.example.com")
	for name, ref := range map[string]string{
		"file":         "file://" + repo + "//base?ref=" + sha,
		"git::file":    "git::file://" + repo + "//base?ref=" + sha,
		"FILE":         "FILE://" + repo + "//base?ref=" + sha,
		"ssh loopback": "ssh://git@127.0.0.1" + repo + "//base?ref=" + sha,
		"scp loopback": "alice@localhost:" + repo + "//base?ref=" + sha,
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeRoot(t, "resources:\n  - "+ref+"\n")
			_, _, err := Build(filesys.MakeFsOnDisk(), dir, "app", cfg)
			expectRefused(t, err, "app/kustomization.yaml:2:5:")
		})
	}
}

func TestBuildRefusesUnpinnedAllowedHost(t *testing.T) {
	cfg := remoteConfig("github.com/myorg/*")
	for name, ref := range map[string]string{
		"branch":     "https://github.com/myorg/deploy//base?ref=main",
		"tag":        "github.com/myorg/deploy/base?ref=v1.2.3",
		"no ref":     "git@github.com:myorg/deploy.git//base",
		"short sha":  "https://github.com/myorg/deploy//base?ref=0123456",
		"other org":  "https://github.com/other/deploy//base?ref=0123456789abcdef0123456789abcdef01234567",
		"plain http": "http://github.com/myorg/deploy//base?ref=0123456789abcdef0123456789abcdef01234567",
	} {
		t.Run(name, func(t *testing.T) {
			fsys := filesys.MakeFsInMemory()
			fsys.WriteFile("/repo/app/kustomization.yaml", []byte("resources:\n  - "+ref+"\n"))
			_, _, err := Build(fsys, "/repo", "app", cfg)
			expectRefused(t, err, "app/kustomization.yaml:2:5:", ref)
		})
	}
}

// A base that is not a kustomization root of its own (a remote reference
// one level down) is refused as well: every kustomization the build reads
// is checked, not only the root's.
func TestBuildRefusesRemoteInABase(t *testing.T) {
	fsys := filesys.MakeFsInMemory()
	fsys.WriteFile("/repo/app/kustomization.yaml", []byte("resources:\n  - ../base\n"))
	fsys.WriteFile("/repo/base/kustomization.yaml", []byte("resources:\n  - https://example.com/cm.yaml\n"))
	_, _, err := Build(fsys, "/repo", "app", remoteConfig())
	expectRefused(t, err, "base/kustomization.yaml:2:5:", "https://example.com/cm.yaml")
}

// A builtin plugin configured from a file fetches what the file names: it
// is checked as the kustomization is.
func TestBuildRefusesRemoteInAPluginConfig(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		fmt.Fprint(w, "- op: add\n  path: /metadata/labels\n  value: {a: b}\n")
	}))
	defer srv.Close()
	fsys := filesys.MakeFsInMemory()
	fsys.WriteFile("/repo/app/kustomization.yaml", []byte("resources:\n  - cm.yaml\ntransformers:\n  - patch.yaml\n"))
	fsys.WriteFile("/repo/app/cm.yaml", []byte(configMap))
	fsys.WriteFile("/repo/app/patch.yaml", []byte("apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: p\npath: "+srv.URL+"/p.yaml\ntarget:\n  kind: ConfigMap\n"))
	_, _, err := Build(fsys, "/repo", "app", remoteConfig())
	expectRefused(t, err, "app/patch.yaml:5:7:", srv.URL+"/p.yaml")
	if n := requests.Load(); n != 0 {
		t.Errorf("the build made %d request(s), want none", n)
	}
}

func TestBuildWithoutRemoteUnchanged(t *testing.T) {
	fsys := filesys.MakeFsInMemory()
	fsys.WriteFile("/repo/app/kustomization.yaml", []byte("resources:\n  - cm.yaml\n"))
	fsys.WriteFile("/repo/app/cm.yaml", []byte(configMap))
	for _, cfg := range []*generator.Config{remoteConfig(), remoteConfig("github.com/myorg/*")} {
		objs, _, err := Build(fsys, "/repo", "app", cfg)
		if err != nil || len(objs) != 1 || objs[0].Name != "remote" {
			t.Fatalf("Build = %v, %v; want the one ConfigMap", objs, err)
		}
	}
}

func TestWithTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	_, err := withTimeout(20*time.Millisecond, "app", func() (int, error) {
		<-release // a fetch that never answers
		return 1, nil
	})
	if err == nil || !strings.Contains(err.Error(), "kustomize.remoteTimeout") {
		t.Fatalf("withTimeout = %v, want an error naming kustomize.remoteTimeout", err)
	}
	if v, err := withTimeout(time.Minute, "app", func() (int, error) { return 7, nil }); v != 7 || err != nil {
		t.Errorf("withTimeout of a quick build = %v, %v", v, err)
	}
}

// TestBuildRefusesAuthorityTricks: a reference whose text after the last
// "@" names an allowed host, while the request would go to the host before
// a "#" or a backslash, is refused before any request is made.
func TestBuildRefusesAuthorityTricks(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		fmt.Fprint(w, configMap)
	}))
	defer srv.Close()
	const sha = "0123456789abcdef0123456789abcdef01234567"
	cfg := remoteConfig("github.com/myorg/*", "raw.githubusercontent.com/myorg/*")
	for name, ref := range map[string]string{
		"fragment, file":  srv.URL + "#@raw.githubusercontent.com/myorg/x.yaml",
		"fragment, git":   srv.URL + "#@github.com/myorg/repo//deploy?ref=" + sha,
		"backslash, git":  srv.URL + `\@github.com/myorg/repo//deploy?ref=` + sha,
		"token, git":      "https://x-access-token:t@github.com/myorg/repo//deploy?ref=" + sha,
		"space, userinfo": srv.URL + " @raw.githubusercontent.com/myorg/x.yaml",
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeRoot(t, "resources:\n  - '"+ref+"'\n")
			_, _, err := Build(filesys.MakeFsOnDisk(), dir, "app", cfg)
			expectRefused(t, err, "app/kustomization.yaml:2:5:")
			if n := requests.Load(); n != 0 {
				t.Errorf("the build made %d request(s) to %s, want none", n, srv.URL)
			}
		})
	}
}
