package replay

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// truth is what one commit of the synthetic history changes.
type truth struct {
	Changed, Added, Removed []string
}

// step is one commit of the synthetic history: what it does, the kind of
// change (issue 9) it stands for, and the truth the replay must find.
type step struct {
	subject string
	edit    func(h *history)
	want    truth
}

// steps cover every kind of change of issue 9 that a parent/child pair can
// express. A force push is not one (the deployed commit is not the
// parent), so it is left to the CLI's own tests.
var steps = []step{
	{"plain edit in a shared base", func(h *history) {
		h.write("bases/web/deployment.yaml", deployment("web", "nginx:1.1", 1))
	}, truth{Changed: []string{"apps/a/overlays/dev", "apps/a/overlays/prod", "apps/b/overlays/prod"}}},
	{"umbrella switches from one base to another", func(h *history) {
		h.write("platform/umbrella/kustomization.yaml", kustomization("resources: [../../bases/new]"))
	}, truth{Changed: []string{"platform/umbrella"}, Added: []string{"bases/old"}, Removed: []string{"bases/new"}}},
	{"service added", func(h *history) {
		h.write("apps/f/prod/kustomization.yaml", kustomization("resources: [cm.yaml]"))
		h.write("apps/f/prod/cm.yaml", configMap("f", "v1"))
	}, truth{Added: []string{"apps/f/prod"}}},
	{"service removed", func(h *history) {
		h.remove("apps/b")
	}, truth{Removed: []string{"apps/b/overlays/prod"}}},
	{"service renamed", func(h *history) {
		h.git("mv", "apps/a", "apps/alpha")
	}, truth{Added: []string{"apps/alpha/overlays/dev", "apps/alpha/overlays/prod"}, Removed: []string{"apps/a/overlays/dev", "apps/a/overlays/prod"}}},
	{"edit the real file of a symlinked base directory", func(h *history) {
		h.write("shared/real-base/cm.yaml", configMap("shared", "v2"))
	}, truth{Changed: []string{"apps/c/overlays/prod"}}},
	{"edit the target of a symlinked resource file", func(h *history) {
		h.write("apps/d/prod/real/cm.yaml", configMap("d", "v2"))
	}, truth{Changed: []string{"apps/d/prod"}}},
	{"edit a generator source named 'release: notes.txt'", func(h *history) {
		h.write("apps/e/prod/release: notes.txt", "second release\n")
	}, truth{Changed: []string{"apps/e/prod"}}},
	{"edit a compact-JSON inline patch", func(h *history) {
		h.write("apps/g/prod/kustomization.yaml", compactPatchKustomization(3))
	}, truth{Changed: []string{"apps/g/prod"}}},
	{"comment-only change in a kustomization file", func(h *history) {
		h.write("apps/h/prod/kustomization.yaml", "# reviewed\n"+kustomization("resources: [cm.yaml]"))
	}, truth{}},
	{"bump a submodule a root builds from", func(h *history) {
		h.bumpSubmodule()
	}, truth{Changed: []string{"apps/s/prod"}}},
	// Beyond the instances of issue 9: more shapes of the same kinds.
	{"edit a component", func(h *history) {
		h.write("components/mon/kustomization.yaml", component("v2"))
	}, truth{Changed: []string{"apps/j/prod"}}},
	{"edit a base in a hidden directory", func(h *history) {
		h.write(".shared/hidden-base/cm.yaml", configMap("hidden", "v2"))
	}, truth{Changed: []string{"apps/i/prod"}}},
	{"retarget a symlinked base directory", func(h *history) {
		h.remove("apps/c/base")
		h.symlink("apps/c/base", "../../shared/other-base")
	}, truth{Changed: []string{"apps/c/overlays/prod"}, Added: []string{"shared/real-base"}, Removed: []string{"shared/other-base"}}},
}

// TestReplaySynthetic replays a history built here, one commit per kind of
// change, with a kustomatrix built from this module (or $REPLAY_KMX). The
// truth subtest checks the instrument; the kustomatrix subtests are the
// acceptance test of issue 9: static recall 1 and --render equal to the
// truth on every commit, run in the commit's working tree and, with --head
// naming the commit, in its parent's.
func TestReplaySynthetic(t *testing.T) {
	kmx := kmxBinary(t)
	h := newHistory(t)
	for _, s := range steps {
		s.edit(h)
		h.commit(s.subject)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	reps := map[bool]*Report{}
	for _, inParent := range []bool{false, true} {
		rep, err := Run(ctx, Options{Repo: h.dir, Kmx: kmx, Submodules: true, RenderAll: true, InParent: inParent, WorkDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Results) != len(steps) {
			t.Fatalf("replayed %d commits, want %d", len(rep.Results), len(steps))
		}
		var table strings.Builder
		WriteTable(&table, 0, rep)
		t.Logf("replay of the synthetic history (kustomatrix run in the parent's tree: %v):\n%s", inParent, table.String())
		reps[inParent] = rep
	}
	t.Run("truth", func(t *testing.T) {
		for i, res := range reps[false].Results {
			got := truth{Changed: res.Changed, Added: res.Added, Removed: res.Removed}
			if diff := cmp.Diff(steps[i].want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: the replay's truth (-want +got):\n%s\nunknown: %v, one side: %v", res.Subject, diff, res.Unknown, res.OneSide)
			}
			if len(res.Unknown) > 0 {
				t.Errorf("%s: roots fail to build at both ends: %v", res.Subject, res.Unknown)
			}
		}
	})
	t.Run("kustomatrix", func(t *testing.T) { checkKustomatrix(t, reps[false]) })
	t.Run("kustomatrix --head from the parent's tree", func(t *testing.T) { checkKustomatrix(t, reps[true]) })
}

// checkKustomatrix fails with every static miss and every commit where
// --render differs from the truth.
func checkKustomatrix(t *testing.T, rep *Report) {
	t.Helper()
	var problems []string
	for _, res := range rep.Results {
		for _, m := range res.Misses {
			problems = append(problems, fmt.Sprintf("static miss: %q: %s [%s] %s", res.Subject, m.Target, m.Kind, m.Why))
		}
		if res.renderExact() {
			continue
		}
		p := fmt.Sprintf("--render ≠ truth: %q:", res.Subject)
		if res.Render.Err != "" {
			p += " failed: " + res.Render.Err
		}
		if len(res.RenderMissing) > 0 {
			p += fmt.Sprintf(" missing %v", res.RenderMissing)
		}
		if len(res.RenderExtra) > 0 {
			p += fmt.Sprintf(" extra %v", res.RenderExtra)
		}
		problems = append(problems, p)
	}
	if len(problems) > 0 {
		t.Errorf("static recall %.3f (%d/%d), --render ≠ truth on %d of %d commits:\n  %s",
			rep.Recall, rep.Hits, rep.Truth, rep.RenderMismatches, rep.Commits, strings.Join(problems, "\n  "))
	}
}

// kmxBinary builds the CLI under test from this module, unless
// $REPLAY_KMX names a binary already built (to measure another commit).
func kmxBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("REPLAY_KMX"); p != "" {
		return p
	}
	bin := filepath.Join(t.TempDir(), "kustomatrix")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/kustomatrix/kustomatrix/cmd/kustomatrix")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building kustomatrix: %v\n%s", err, out)
	}
	return bin
}

// history is a git repository under construction.
type history struct {
	t        *testing.T
	dir, sub string // the repository, and the one its submodule comes from
	bump     int
}

func newHistory(t *testing.T) *history {
	h := &history{t: t, dir: t.TempDir(), sub: t.TempDir()}
	h.gitIn(h.sub, "init", "-q", "-b", "main")
	h.writeIn(h.sub, "kustomization.yaml", kustomization("resources: [cm.yaml]"))
	h.writeIn(h.sub, "cm.yaml", configMap("vendored", "v1"))
	h.gitIn(h.sub, "add", "-A")
	h.gitIn(h.sub, "commit", "-q", "-m", "vendored v1")

	h.git("init", "-q", "-b", "main")
	h.write("bases/web/kustomization.yaml", kustomization("resources: [deployment.yaml]"))
	h.write("bases/web/deployment.yaml", deployment("web", "nginx:1.0", 1))
	for _, o := range []string{"apps/a/overlays/dev", "apps/a/overlays/prod", "apps/b/overlays/prod"} {
		prefix := strings.ReplaceAll(strings.TrimPrefix(o, "apps/"), "/overlays/", "-") + "-"
		h.write(o+"/kustomization.yaml", kustomization("namePrefix: "+prefix+"\nresources: [../../../../bases/web]"))
	}
	for _, b := range []string{"old", "new"} {
		h.write("bases/"+b+"/kustomization.yaml", kustomization("resources: [cm.yaml]"))
		h.write("bases/"+b+"/cm.yaml", configMap(b, "v1"))
	}
	h.write("platform/umbrella/kustomization.yaml", kustomization("resources: [../../bases/old]"))
	h.write("shared/real-base/kustomization.yaml", kustomization("resources: [cm.yaml]"))
	h.write("shared/real-base/cm.yaml", configMap("shared", "v1"))
	h.symlink("apps/c/base", "../../shared/real-base")
	h.write("apps/c/overlays/prod/kustomization.yaml", kustomization("namePrefix: c-\nresources: [../../base]"))
	h.write("apps/d/prod/kustomization.yaml", kustomization("resources: [links/cm.yaml]"))
	h.write("apps/d/prod/real/cm.yaml", configMap("d", "v1"))
	h.symlink("apps/d/prod/links/cm.yaml", "../real/cm.yaml")
	h.write("apps/e/prod/kustomization.yaml", kustomization("configMapGenerator:\n- name: notes\n  files: [\"notes.txt=release: notes.txt\"]"))
	h.write("apps/e/prod/release: notes.txt", "first release\n")
	h.write("apps/g/prod/kustomization.yaml", compactPatchKustomization(2))
	h.write("apps/g/prod/deployment.yaml", deployment("g", "nginx:1.0", 1))
	h.write("apps/h/prod/kustomization.yaml", kustomization("resources: [cm.yaml]"))
	h.write("apps/h/prod/cm.yaml", configMap("h", "v1"))
	h.write("components/mon/kustomization.yaml", component("v1"))
	h.write("apps/j/prod/kustomization.yaml", kustomization("resources: [cm.yaml]\ncomponents: [../../../components/mon]"))
	h.write("apps/j/prod/cm.yaml", configMap("j", "v1"))
	h.write(".shared/hidden-base/kustomization.yaml", kustomization("resources: [cm.yaml]"))
	h.write(".shared/hidden-base/cm.yaml", configMap("hidden", "v1"))
	h.write("apps/i/prod/kustomization.yaml", kustomization("resources: [../../../.shared/hidden-base]"))
	h.write("shared/other-base/kustomization.yaml", kustomization("resources: [cm.yaml]"))
	h.write("shared/other-base/cm.yaml", configMap("other", "v1"))
	h.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", h.sub, "vendor/sub")
	h.write("apps/s/prod/kustomization.yaml", kustomization("resources: [../../../vendor/sub]"))
	h.commit("initial")
	return h
}

// bumpSubmodule commits a change in the submodule's origin and moves the
// submodule to it.
func (h *history) bumpSubmodule() {
	h.bump++
	h.writeIn(h.sub, "cm.yaml", configMap("vendored", fmt.Sprintf("v%d", h.bump+1)))
	h.gitIn(h.sub, "commit", "-q", "-am", "vendored bump")
	mod := filepath.Join(h.dir, "vendor/sub")
	h.gitIn(mod, "-c", "protocol.file.allow=always", "pull", "-q", "--ff-only")
	h.git("add", "vendor/sub")
}

func (h *history) commit(subject string) {
	h.git("add", "-A")
	h.git("commit", "-q", "--allow-empty", "-m", subject)
}

func (h *history) git(args ...string) { h.gitIn(h.dir, args...) }

func (h *history) gitIn(dir string, args ...string) {
	h.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(slices.Clone(gitEnv()), "GIT_AUTHOR_NAME=replay", "GIT_AUTHOR_EMAIL=replay@example.com",
		"GIT_COMMITTER_NAME=replay", "GIT_COMMITTER_EMAIL=replay@example.com")
	if out, err := cmd.CombinedOutput(); err != nil {
		h.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func (h *history) write(rel, content string) { h.writeIn(h.dir, rel, content) }

func (h *history) writeIn(dir, rel, content string) {
	h.t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

func (h *history) symlink(rel, target string) {
	h.t.Helper()
	p := filepath.Join(h.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		h.t.Fatal(err)
	}
}

func (h *history) remove(rel string) {
	h.t.Helper()
	if err := os.RemoveAll(filepath.Join(h.dir, filepath.FromSlash(rel))); err != nil {
		h.t.Fatal(err)
	}
}

func kustomization(body string) string {
	return "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" + body + "\n"
}

func component(monitored string) string {
	return "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels:\n- pairs:\n    monitored: " + monitored + "\n"
}

func compactPatchKustomization(replicas int) string {
	return kustomization(fmt.Sprintf(`resources: [deployment.yaml]
patches:
- target: {kind: Deployment, name: g}
  patch: '[{"op":"replace","path":"/spec/replicas","value":%d}]'`, replicas))
}

func configMap(name, version string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  version: %s\n", name, version)
}

func deployment(name, image string, replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: %[3]d
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
      - name: %[1]s
        image: %[2]s
`, name, image, replicas)
}
