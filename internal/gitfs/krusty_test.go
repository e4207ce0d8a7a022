package gitfs

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// overlayEntries is a small kustomize repository under prefix: an overlay
// of a base reached through a symlinked directory, with a generator file
// and a resource whose names trip up path handling, a root whose
// kustomization.yaml is a symlink, and a root with a resource linked from
// outside it, which kustomize's default load restrictor must reject.
func overlayEntries(prefix string) []entry {
	es := []entry{
		regular("base/kustomization.yaml", `resources:
- deploy.yaml
- ..file.txt
configMapGenerator:
- name: notes
  files:
  - "notes.txt=release: notes.txt"
`),
		regular("base/deploy.yaml", `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx
`),
		regular("base/..file.txt", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dotdot\ndata:\n  k: v\n"),
		regular("base/release: notes.txt", "shipped\n"),
		symlink("linked-base", "base"),
		regular("overlay/kustomization.yaml", "resources:\n- ../linked-base\nnamePrefix: prod-\n"),
		regular("shared/kustomization.yaml", "resources:\n- cm.yaml\n"),
		symlink("linked-kust/kustomization.yaml", "../shared/kustomization.yaml"),
		regular("linked-kust/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: linked\n"),
		regular("leaky/kustomization.yaml", "resources:\n- cm.yaml\n"),
		symlink("leaky/cm.yaml", "../outside/cm.yaml"),
		regular("outside/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: outside\n"),
	}
	for i := range es {
		es[i].path = filepath.Join(prefix, es[i].path)
	}
	return es
}

// build runs kustomize on dir and returns its YAML, or the error with the
// root replaced by "<root>".
func build(fsys filesys.FileSystem, root, dir string, restrict types.LoadRestrictions) (string, string) {
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = restrict
	m, err := krusty.MakeKustomizer(opts).Run(fsys, filepath.Join(root, dir))
	if err != nil {
		return "", strings.ReplaceAll(err.Error(), root, "<root>")
	}
	y, err := m.AsYaml()
	if err != nil {
		return "", err.Error()
	}
	return string(y), ""
}

// TestKrusty builds kustomize roots from the commit and from a checkout of
// it, which must agree, output and errors alike, with and without the load
// restrictor; the manifests sit in a subdirectory of the repository, as a
// monorepo's do.
func TestKrusty(t *testing.T) {
	tmp := tempDir(t)
	repo, checkout := filepath.Join(tmp, "repo"), filepath.Join(tmp, "checkout")
	initRepo(t, repo)
	write(t, repo, regular("README.md", "not manifests\n"))
	write(t, repo, overlayEntries("deploy")...)
	commitAll(t, repo)
	runGit(t, repo, "worktree", "add", "-q", "--detach", checkout, "HEAD")
	f := openFS(t, filepath.Join(repo, "deploy", "overlay"), "HEAD")
	if f.Root() != repo {
		t.Fatalf("Root() = %q, want the top-level directory %q", f.Root(), repo)
	}
	disk := filesys.MakeFsOnDisk()
	if d := cmp.Diff(walkLog(disk, checkout, "deploy"), walkLog(f, repo, "deploy")); d != "" {
		t.Errorf("Walk(deploy): disk (-) and gitfs (+) differ:\n%s", d)
	}
	tests := []struct {
		dir      string
		restrict types.LoadRestrictions
		wantErr  string // of both
	}{
		{dir: "deploy/overlay", restrict: types.LoadRestrictionsRootOnly},
		{dir: "deploy/base", restrict: types.LoadRestrictionsRootOnly},
		{dir: "deploy/linked-base", restrict: types.LoadRestrictionsRootOnly},
		// kustomize's loader takes a kustomization.yaml that links out of
		// its root for no kustomization at all, unless unrestricted.
		{dir: "deploy/linked-kust", restrict: types.LoadRestrictionsRootOnly, wantErr: "unable to find one of"},
		{dir: "deploy/linked-kust", restrict: types.LoadRestrictionsNone},
		{dir: "deploy/leaky", restrict: types.LoadRestrictionsRootOnly, wantErr: "is not in or below"},
		{dir: "deploy/leaky", restrict: types.LoadRestrictionsNone},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.dir, "/", "_")+"_"+tt.restrict.String(), func(t *testing.T) {
			wantYAML, wantErr := build(disk, checkout, tt.dir, tt.restrict)
			gotYAML, gotErr := build(f, repo, tt.dir, tt.restrict)
			if d := cmp.Diff(wantYAML, gotYAML); d != "" {
				t.Errorf("disk (-) and gitfs (+) built differently:\n%s", d)
			}
			if wantErr != gotErr {
				t.Errorf("errors differ:\ndisk:  %s\ngitfs: %s", wantErr, gotErr)
			}
			if tt.wantErr == "" && (gotErr != "" || gotYAML == "") {
				t.Errorf("build failed: %s", gotErr)
			}
			if !strings.Contains(gotErr, tt.wantErr) {
				t.Errorf("error %q does not say %q", gotErr, tt.wantErr)
			}
		})
	}
	if y, _ := build(f, repo, "deploy/overlay", types.LoadRestrictionsRootOnly); !strings.Contains(y, "prod-notes-") || !strings.Contains(y, "notes.txt: |\n    shipped") || !strings.Contains(y, "prod-dotdot") {
		t.Errorf("overlay lacks the generated ConfigMap or the ..file.txt resource:\n%s", y)
	}
}
