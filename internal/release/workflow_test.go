package release

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// releaseStep is the shell of the release workflow's step (in its
// read-only build job) that decides
// which commit is released under which tag, read from the workflow itself.
func releaseStep(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(projectRoot(t), ".github", "workflows", "release.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct{ ID, Run string }
		}
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	for _, st := range wf.Jobs["build"].Steps {
		if st.ID == "release" {
			return st.Run
		}
	}
	t.Fatal("release.yml: no step with id release")
	return ""
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func commit(t *testing.T, dir string, files map[string]string, msg string) string {
	t.Helper()
	for rel, content := range files {
		write(t, dir, rel, content)
	}
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", msg)
	return git(t, dir, "rev-parse", "HEAD")
}

// TestReleaseWorkflowFindsTheReleaseCommit runs the release workflow's
// decision step in real repositories: on a push to main the release is the
// newest commit that changed the sums (even when later commits came in the
// same push), under hack/release/VERSION at that commit, and only when main's
// pin names it (a squash or rebase merge rewrites it); an existing tag is
// never moved; a tag push must name the tree's version.
func TestReleaseWorkflowFindsTheReleaseCommit(t *testing.T) {
	step := releaseStep(t)
	repo := t.TempDir()
	git(t, repo, "init", "-q", "-b", "main")
	commit(t, repo, map[string]string{VersionFile: "v0.7.0\n", "main.go": "package main\n"}, "source")
	released := commit(t, repo, map[string]string{SumsFile: "sums\n"}, "release")
	pin := func(sha string) map[string]string {
		return map[string]string{"generator/tool.go": "\tDefaultToolUses    = \"kustomatrix/kustomatrix@" + sha + "\"\n"}
	}
	head := commit(t, repo, pin(released), "move the pin")

	run := func(refType, refName string) (map[string]string, string, int) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "output")
		git(t, repo, "checkout", "-q", "--detach", head)
		cmd := exec.Command("bash", "-e", "-c", step)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GITHUB_OUTPUT="+out, "REF_TYPE="+refType, "REF_NAME="+refName)
		b, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		outputs := map[string]string{}
		data, _ := os.ReadFile(out)
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				outputs[k] = v
			}
		}
		return outputs, string(b), code
	}

	if o, log, code := run("branch", "main"); code != 0 || o["commit"] != released || o["version"] != "v0.7.0" {
		t.Fatalf("push to main: exit %d, outputs %v (want commit %s)\n%s", code, o, released, log)
	}
	if cur := git(t, repo, "rev-parse", "HEAD"); cur != released {
		t.Fatalf("the step left %s checked out, want the release commit %s (the build must be of that tree)", cur, released)
	}
	git(t, repo, "tag", "v0.7.0", released)
	if o, log, code := run("branch", "main"); code != 0 || o["commit"] != released {
		t.Fatalf("rerun with the tag in place: exit %d, outputs %v\n%s", code, o, log)
	}
	git(t, repo, "tag", "-f", "v0.7.0", head)
	if o, log, code := run("branch", "main"); code == 0 || o["commit"] != "" || !strings.Contains(log, "::error::tag v0.7.0 already names "+head) {
		t.Fatalf("a tag on another commit: exit %d, outputs %v\n%s", code, o, log)
	}
	git(t, repo, "tag", "-d", "v0.7.0")
	// A tag pushed by hand: the commit checked out is the tag's, main is
	// origin's.
	git(t, repo, "update-ref", "refs/remotes/origin/main", head)
	runAt := func(at, refName string) (map[string]string, string, int) {
		saved := head
		head = at
		defer func() { head = saved }()
		return run("tag", refName)
	}
	if o, log, code := runAt(released, "v0.8.0"); code == 0 || o["commit"] != "" || !strings.Contains(log, "::error::tag v0.8.0, but hack/release/VERSION says v0.7.0") {
		t.Fatalf("a tag push naming another version: exit %d, outputs %v\n%s", code, o, log)
	}
	if o, log, code := runAt(released, "v0.7.0"); code != 0 || o["commit"] != released {
		t.Fatalf("a tag push of the release commit: exit %d, outputs %v\n%s", code, o, log)
	}
	git(t, repo, "checkout", "-q", "--detach", released)
	stray := commit(t, repo, map[string]string{"other.go": "package main\n"}, "a commit main lacks")
	if o, log, code := runAt(stray, "v0.7.0"); code == 0 || o["commit"] != "" || !strings.Contains(log, "::error::main does not hold the release commit "+stray) {
		t.Fatalf("a tag pushed off main: exit %d, outputs %v\n%s", code, o, log)
	}
	git(t, repo, "checkout", "-q", "main")
	// Naming the commit elsewhere in tool.go (an older Releases entry, a
	// comment) is not pinning it.
	head = commit(t, repo, map[string]string{"generator/tool.go": "\t{Uses: \"kustomatrix/kustomatrix@" + released + "\"}\n\t// \"kustomatrix/kustomatrix@" + released + "\"\n"}, "unpin")
	if o, log, code := run("branch", "main"); code == 0 || o["commit"] != "" || !strings.Contains(log, "does not pin it") {
		t.Fatalf("a tool.go naming the commit outside DefaultToolUses: exit %d, outputs %v\n%s", code, o, log)
	}
	head = commit(t, repo, pin(released), "pin again")
	// A squash or rebase merge: main's pin names a commit main lacks.
	squashed := commit(t, repo, map[string]string{SumsFile: "sums 2\n", "generator/tool.go": "\tDefaultToolUses    = \"kustomatrix/kustomatrix@" + strings.Repeat("5", 40) + "\"\n"}, "squashed release and pin move")
	head = squashed
	if o, log, code := run("branch", "main"); code == 0 || o["commit"] != "" || !strings.Contains(log, "::error::main does not hold the release commit "+squashed+", or its generator/tool.go's DefaultToolUses does not pin it") {
		t.Fatalf("a squashed release: exit %d, outputs %v\n%s", code, o, log)
	}
	write(t, repo, VersionFile, "0.7\n")
	git(t, repo, "commit", "-q", "-am", "bad version")
	release3 := commit(t, repo, map[string]string{SumsFile: "sums 3\n"}, "release 3")
	head = commit(t, repo, pin(release3), "move the pin 3")
	if o, log, code := run("branch", "main"); code == 0 || o["commit"] != "" || !strings.Contains(log, "holds '0.7', want vX.Y.Z") {
		t.Fatalf("a malformed version: exit %d, outputs %v\n%s", code, o, log)
	}
	git(t, repo, "rm", "-q", SumsFile)
	git(t, repo, "commit", "-q", "-m", "drop the sums")
	head = git(t, repo, "rev-parse", "HEAD")
	if o, log, code := run("branch", "main"); code != 0 || o["commit"] != "" || !strings.Contains(log, "nothing to release") {
		t.Fatalf("sums removed: exit %d, outputs %v\n%s", code, o, log)
	}
}
