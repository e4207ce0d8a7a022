package main

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/kustomatrix/kustomatrix/generator"
	"github.com/kustomatrix/kustomatrix/internal/ghtest"
	"github.com/kustomatrix/kustomatrix/internal/release"
)

// TestReleaseBuildToolPin runs generate and check as a release build (a
// stamped version), which cannot carry its own release commit: it never
// renders its compiled default pin; a new pipeline gets the commit GitHub's
// tag of the release names, checked against that commit's VERSION and
// SHA-256 sums (this binary's own), or fails saying what to configure; the
// configuration's pin and the one the files carry are used as they are, with
// a warning when they are another release.
func TestReleaseBuildToolPin(t *testing.T) {
	version = "v9.8.7"
	t.Cleanup(func() { version = "" })
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	selfSum, err := release.FileSum(self)
	if err != nil {
		t.Fatal(err)
	}
	owner, repoName, _ := strings.Cut(generator.ToolRepository(), "/")
	gh := ghtest.Start(t, owner, repoName)
	commit := strings.Repeat("c", 40)
	other := strings.Repeat("d", 40)
	gh.SetRef("v9.8.7", commit)
	gh.SetFile(commit, release.VersionFile, "v9.8.7\n")
	gh.SetFile(commit, release.SumsFile, selfSum+"  "+release.HostAsset()+"\n"+strings.Repeat("0", 64)+"  "+release.TreeLine+"\n")
	t.Setenv("GITHUB_TOKEN", "")

	newRepo := func() string {
		dir := t.TempDir()
		for rel, content := range map[string]string{
			"apps/api/kustomization.yaml": "resources:\n  - cm.yaml\n",
			"apps/api/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: api\n",
		} {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	kmx := func(dir string, args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		code := run(append(args, "--repo", dir), strings.NewReader(""), &out, &errOut)
		return out.String(), errOut.String(), code
	}
	workflow := func(dir string) string {
		b, _ := os.ReadFile(filepath.Join(dir, ".github", "workflows", "kustomatrix.yml"))
		return string(b)
	}
	config := func(dir, version string) {
		t.Helper()
		text := "tool:\n  uses: " + generator.ToolRepository() + "@" + strings.Repeat("a", 40) + "\n  version: " + version + "\n"
		if err := os.WriteFile(filepath.Join(dir, ".kustomatrix.yaml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("offline", func(t *testing.T) {
		dead := httptest.NewServer(nil)
		dead.Close()
		t.Setenv("GITHUB_API_URL", dead.URL)
		dir := newRepo()
		_, stderr, code := kmx(dir, "generate")
		if code != 2 || !strings.Contains(stderr, "kustomatrix v9.8.7 cannot name its own release commit offline") ||
			!strings.Contains(stderr, "<the commit tagged v9.8.7>") || !strings.Contains(stderr, "connection refused") {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, ".github")); !os.IsNotExist(err) {
			t.Fatalf("the refused generate wrote files: %v", err)
		}
		if _, stderr, code = kmx(dir, "check"); code != 2 || !strings.Contains(stderr, "cannot name its own release commit") {
			t.Fatalf("check without any pin: exit %d\n%s", code, stderr)
		}
	})

	t.Setenv("GITHUB_API_URL", gh.URL)
	t.Run("the release commit from GitHub", func(t *testing.T) {
		dir := newRepo()
		_, stderr, code := kmx(dir, "generate")
		want := generator.ToolRepository() + "@" + commit + " # v9.8.7"
		if code != 0 || !strings.Contains(stderr, "pinned the workflows to "+want) || strings.Contains(stderr, "warning") ||
			!strings.Contains(workflow(dir), "uses: "+want+"\n") {
			t.Fatalf("exit %d\n%s\n%s", code, stderr, workflow(dir))
		}
		// Later runs (the plan job's check) keep that pin, asking nothing.
		before := len(gh.Requests())
		if stdout, stderr, code := kmx(dir, "check"); code != 0 || !strings.Contains(stdout, "up to date") || len(gh.Requests()) != before {
			t.Fatalf("check: exit %d, %d requests\n%s%s", code, len(gh.Requests())-before, stdout, stderr)
		}
		// --update-tool asks again, and finds the same commit.
		if _, stderr, code := kmx(dir, "generate", "--update-tool"); code != 0 || !strings.Contains(stderr, "pinned the workflows to "+want) {
			t.Fatalf("--update-tool: exit %d\n%s", code, stderr)
		}
	})

	for name, tc := range map[string]struct {
		tag, file, content, want string
	}{
		"a tag on a commit of another version": {"v9.8.7", release.VersionFile, "v9.8.6\n", `whose hack/release/VERSION says "v9.8.6": not the release commit`},
		"sums that do not list this binary":    {"v9.8.7", release.SumsFile, strings.Repeat("1", 64) + "  " + release.HostAsset() + "\n", "not that release's binary"},
		"no such tag":                          {"", "", "", "No commit found for SHA: v9.8.7"},
	} {
		t.Run(name, func(t *testing.T) {
			if tc.tag == "" {
				t.Cleanup(func() { gh.SetRef("v9.8.7", commit) })
				gh.DeleteRef("v9.8.7")
			} else {
				gh.SetRef(tc.tag, other)
				t.Cleanup(func() { gh.SetRef("v9.8.7", commit) })
				gh.SetFile(other, release.VersionFile, "v9.8.7\n")
				gh.SetFile(other, release.SumsFile, selfSum+"  "+release.HostAsset()+"\n")
				gh.SetFile(other, tc.file, tc.content)
			}
			dir := newRepo()
			_, stderr, code := kmx(dir, "generate")
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, want 2 and %q\n%s", code, tc.want, stderr)
			}
		})
	}

	t.Run("configured and recorded pins", func(t *testing.T) {
		dir := newRepo()
		config(dir, "v9.8.7")
		before := len(gh.Requests())
		if _, stderr, code := kmx(dir, "generate"); code != 0 || strings.Contains(stderr, "warning") || len(gh.Requests()) != before {
			t.Fatalf("generate with tool: of this release: exit %d\n%s", code, stderr)
		}
		if err := os.Remove(filepath.Join(dir, ".kustomatrix.yaml")); err != nil {
			t.Fatal(err)
		}
		if stdout, stderr, code := kmx(dir, "check"); code != 0 || !strings.Contains(stdout, "up to date") {
			t.Fatalf("check of files pinned to this release: exit %d\n%s%s", code, stdout, stderr)
		}
		config(dir, "v9.0.0")
		if _, stderr, code := kmx(dir, "generate"); code != 0 || !strings.Contains(stderr, "warning: this is kustomatrix v9.8.7; the generated workflows run v9.0.0") {
			t.Fatalf("a pin of another release: exit %d\n%s", code, stderr)
		}
	})
}

// TestReleaseSourceToolPin runs generate as builds of a release commit's
// source that are not release binaries: the pre-commit hook's (a clean
// checkout: the go command stamps the commit), go install @vX.Y.Z (the
// module version), and a build that cannot tell (go run, a test binary).
func TestReleaseSourceToolPin(t *testing.T) {
	defaultIsThisRelease = func() bool { return false }
	t.Cleanup(func() { defaultIsThisRelease, readBuildInfo = generator.DefaultIsThisRelease, debug.ReadBuildInfo })
	owner, repoName, _ := strings.Cut(generator.ToolRepository(), "/")
	gh := ghtest.Start(t, owner, repoName)
	t.Setenv("GITHUB_API_URL", gh.URL)
	t.Setenv("GITHUB_TOKEN", "")
	tagged := strings.Repeat("e", 40)
	gh.SetRef("v9.9.9", tagged)
	gh.SetFile(tagged, release.VersionFile, "v9.9.9\n")
	rev := strings.Repeat("b", 40)

	for name, tc := range map[string]struct {
		bi          *debug.BuildInfo
		pin, stderr string
		requests    bool
	}{
		"a clean checkout": {
			bi:     &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261130000000-bbbbbbbbbbbb"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "false"}}},
			pin:    generator.ToolRepository() + "@" + rev + " # " + generator.SourceVersion,
			stderr: "the commit this kustomatrix was built from",
		},
		"go install at a release": {
			bi:       &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}},
			pin:      generator.ToolRepository() + "@" + tagged + " # v9.9.9",
			stderr:   "tag v9.9.9 names",
			requests: true,
		},
		"a dirty checkout": {
			bi:     &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "true"}}},
			pin:    generator.DefaultToolUses + " # " + generator.DefaultToolVersion,
			stderr: "warning: this build of the " + generator.SourceVersion + " source cannot tell which commit it is",
		},
	} {
		t.Run(name, func(t *testing.T) {
			readBuildInfo = func() (*debug.BuildInfo, bool) { return tc.bi, true }
			dir := t.TempDir()
			for rel, content := range map[string]string{
				"apps/api/kustomization.yaml": "resources:\n  - cm.yaml\n",
				"apps/api/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: api\n",
			} {
				os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755)
				if err := os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := len(gh.Requests())
			var out, errOut bytes.Buffer
			code := run([]string{"generate", "--repo", dir}, strings.NewReader(""), &out, &errOut)
			wf, _ := os.ReadFile(filepath.Join(dir, ".github", "workflows", "kustomatrix.yml"))
			if code != 0 || !strings.Contains(errOut.String(), tc.stderr) || !strings.Contains(string(wf), "uses: "+tc.pin+"\n") {
				t.Fatalf("exit %d, want pin %s\n%s", code, tc.pin, errOut.String())
			}
			if asked := len(gh.Requests()) > before; asked != tc.requests {
				t.Fatalf("asked GitHub: %t, want %t", asked, tc.requests)
			}
		})
	}
}
