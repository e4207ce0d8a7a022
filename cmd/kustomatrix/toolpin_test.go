package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/kustomatrix/kustomatrix/generator"
)

// pinRepo is a one-target manifest repository with no pipeline yet.
func pinRepo(t *testing.T) string {
	t.Helper()
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

// kmxIn runs kustomatrix in-process on the repository at dir.
func kmxIn(dir string, args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = run(append(args, "--repo", dir), strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

func callerWorkflow(t *testing.T, dir string) string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(dir, ".github", "workflows", "kustomatrix.yml"))
	return string(b)
}

// TestReleaseBuildToolPin runs generate and check as a release binary (a
// stamped version), which cannot carry its own release commit: it never
// renders its compiled default; in the root action it knows the commit it
// runs as (KUSTOMATRIX_ACTION_COMMIT) and pins or vouches for that; outside
// it, it vouches only for the releases it knows and otherwise fails saying
// what to configure.
func TestReleaseBuildToolPin(t *testing.T) {
	version = generator.SourceVersion
	t.Cleanup(func() { version = "" })
	own := strings.Repeat("c", 40)
	pin := generator.ToolRepository() + "@" + own + " # " + generator.SourceVersion

	t.Run("outside the action", func(t *testing.T) {
		t.Setenv(ActionCommitEnv, "")
		dir := pinRepo(t)
		_, stderr, code := kmxIn(dir, "generate")
		if code != 2 || !strings.Contains(stderr, "cannot tell which commit it is") || !strings.Contains(stderr, "<the commit of release "+generator.SourceVersion+">") {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, ".github")); !os.IsNotExist(err) {
			t.Fatalf("the refused generate wrote files: %v", err)
		}
	})

	t.Run("in the action", func(t *testing.T) {
		dir := pinRepo(t)
		t.Setenv(ActionCommitEnv, own)
		_, stderr, code := kmxIn(dir, "generate")
		if code != 0 || !strings.Contains(stderr, "pinned the workflows to "+strings.TrimSuffix(pin, " # "+generator.SourceVersion)) ||
			!strings.Contains(callerWorkflow(t, dir), "uses: "+pin+"\n") {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		// The plan job's check at that pin: up to date.
		if stdout, stderr, code := kmxIn(dir, "check"); code != 0 || !strings.Contains(stdout, "up to date") {
			t.Fatalf("check: exit %d\n%s%s", code, stdout, stderr)
		}
		// The same pin checked by the action at another commit (a pull
		// request that changed the pin): drift, never adopted.
		t.Setenv(ActionCommitEnv, strings.Repeat("d", 40))
		if stdout, _, code := kmxIn(dir, "check"); code != 1 || !strings.Contains(stdout, "-        uses: "+pin+"\n") {
			t.Fatalf("check at another commit: exit %d\n%s", code, stdout)
		}
		// Outside the action, a release binary vouches only for releases it
		// knows: it says so instead of guessing.
		t.Setenv(ActionCommitEnv, "not-a-commit")
		if _, stderr, code := kmxIn(dir, "check"); code != 2 || !strings.Contains(stderr, "cannot tell which commit it is") {
			t.Fatalf("check outside the action: exit %d\n%s", code, stderr)
		}
	})

	t.Run("configured", func(t *testing.T) {
		t.Setenv(ActionCommitEnv, "")
		dir := pinRepo(t)
		text := "tool:\n  uses: " + generator.ToolRepository() + "@" + strings.Repeat("a", 40) + "\n  version: v0.0.1\n"
		if err := os.WriteFile(filepath.Join(dir, ".kustomatrix.yaml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := kmxIn(dir, "generate")
		if code != 0 || !strings.Contains(stderr, "warning: this is kustomatrix "+generator.SourceVersion+"; the generated workflows run v0.0.1") {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		if stdout, stderr, code := kmxIn(dir, "check"); code != 0 || !strings.Contains(stdout, "up to date") {
			t.Fatalf("check: exit %d\n%s%s", code, stdout, stderr)
		}
	})
}

// TestReleaseSourceToolPin runs generate as builds of a release commit's
// source that are not release binaries: the pre-commit hook's (a clean
// checkout, which the go command stamps with its commit), and one that
// cannot tell its commit (a dirty tree, go install @vX.Y.Z); and checks
// that a release the build knows is kept.
func TestReleaseSourceToolPin(t *testing.T) {
	defaultIsThisRelease = func() bool { return false }
	t.Cleanup(func() { defaultIsThisRelease, readBuildInfo = generator.DefaultIsThisRelease, debug.ReadBuildInfo })
	t.Setenv(ActionCommitEnv, "")
	rev := strings.Repeat("b", 40)
	stamp := func(modified string) {
		readBuildInfo = func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}}, true
		}
	}

	stamp("false")
	dir := pinRepo(t)
	pin := generator.ToolRepository() + "@" + rev + " # " + generator.SourceVersion
	if _, stderr, code := kmxIn(dir, "generate"); code != 0 || !strings.Contains(callerWorkflow(t, dir), "uses: "+pin+"\n") {
		t.Fatalf("a clean checkout: exit %d\n%s", code, stderr)
	}

	stamp("true")
	if _, stderr, code := kmxIn(pinRepo(t), "generate"); code != 2 || !strings.Contains(stderr, "cannot tell which commit it is") {
		t.Fatalf("a dirty checkout: exit %d\n%s", code, stderr)
	}
	// ... which still keeps a pin of a release it knows.
	old := generator.Releases
	t.Cleanup(func() { generator.Releases = old })
	generator.Releases = append(append([]generator.Tool(nil), old...), generator.Tool{Uses: generator.ToolRepository() + "@" + rev, Version: generator.SourceVersion})
	if stdout, stderr, code := kmxIn(dir, "check"); code != 0 || !strings.Contains(stdout, "up to date") {
		t.Fatalf("a known release, dirty build: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestMainBuildVouchesForReleasesOnly: a build of main's source pins the
// newest release, and never vouches for the commit it was built from: a
// pin of that commit (a pull request's, say) is drift, and the warning
// names it.
func TestMainBuildVouchesForReleasesOnly(t *testing.T) {
	defaultIsThisRelease = func() bool { return true }
	rev := strings.Repeat("b", 40)
	readBuildInfo = func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "false"}}}, true
	}
	t.Cleanup(func() { defaultIsThisRelease, readBuildInfo = generator.DefaultIsThisRelease, debug.ReadBuildInfo })
	t.Setenv(ActionCommitEnv, "")
	dir := pinRepo(t)
	if _, stderr, code := kmxIn(dir, "generate"); code != 0 || !strings.Contains(callerWorkflow(t, dir), "uses: "+generator.DefaultToolUses+" # "+generator.DefaultToolVersion+"\n") {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	p := filepath.Join(dir, ".github", "workflows", "kustomatrix.yml")
	own := generator.ToolRepository() + "@" + rev + " # " + generator.SourceVersion
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(callerWorkflow(t, dir), generator.DefaultToolUses+" # "+generator.DefaultToolVersion, own)), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := kmxIn(dir, "check")
	if code != 1 || !strings.Contains(stdout, "-        uses: "+own+"\n") ||
		!strings.Contains(stderr, "warning: the generated files pin "+own+", which this kustomatrix ("+generator.SourceVersion+") cannot vouch for") {
		t.Fatalf("check: exit %d\n%s%s", code, stdout, stderr)
	}
}
