package generator_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kustomatrix/kustomatrix/generator"
	"github.com/kustomatrix/kustomatrix/internal/wfcheck"
)

// bigRepo writes n services × dev/staging/prod into an in-memory file
// system, every base using one common base.
func bigRepo(t testing.TB, n int) filesys.FileSystem {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	write := func(p, c string) {
		if err := fs.WriteFile(p, []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	write("/repo/bases/common/kustomization.yaml", "resources:\n  - sa.yaml\n")
	write("/repo/bases/common/sa.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n")
	for i := 0; i < n; i++ {
		svc := fmt.Sprintf("/repo/apps/svc%05d", i)
		write(svc+"/base/kustomization.yaml", "resources:\n  - ../../../bases/common\n  - deployment.yaml\n")
		write(svc+"/base/deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n")
		for _, env := range []string{"dev", "staging", "prod"} {
			write(svc+"/overlays/"+env+"/kustomization.yaml", fmt.Sprintf("namespace: svc%05d-%s\nresources:\n  - ../../base\n", i, env))
		}
	}
	return fs
}

// TestMatrixLayoutAtTenThousandServices: 10,000 services (30,000 targets)
// still give a valid, lint-clean workflow far below GitHub's size limit,
// with no matrix over 256 entries and every target in exactly one chunk.
func TestMatrixLayoutAtTenThousandServices(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000-service layout test skipped with -short")
	}
	cfg := &generator.Config{}
	cfg.Defaults()
	repo, err := generator.Scan(bigRepo(t, 10000), "/repo", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !repo.MatrixLayout() {
		t.Fatal("10,000 services did not switch to the matrix layout")
	}
	chunks, err := repo.Chunks()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]int{}
	for _, c := range chunks {
		if len(c.Indices) == 0 || len(c.Indices) > generator.MaxMatrixJobs {
			t.Fatalf("chunk %s has %d targets", c.JobID, len(c.Indices))
		}
		for _, i := range c.Indices {
			seen[i]++
			if repo.Targets[i].Environment != c.Environment {
				t.Fatalf("chunk %s (%s) holds %s", c.JobID, c.Environment, repo.Targets[i].Path)
			}
		}
	}
	if len(seen) != len(repo.Targets) || len(repo.Targets) != 30000 {
		t.Fatalf("%d of %d targets in chunks", len(seen), len(repo.Targets))
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("target %d is in %d chunks", i, n)
		}
	}
	files, err := generator.Render(repo)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range files {
		if strings.HasPrefix(f.Path, ".github/workflows/") {
			t.Logf("%s: %d bytes", f.Path, len(f.Content))
			if len(f.Content) >= generator.MaxWorkflowBytes/4 {
				t.Errorf("%s is %d bytes; the matrix layout should stay far below %d", f.Path, len(f.Content), generator.MaxWorkflowBytes)
			}
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	findings, err := wfcheck.Check(dir, wfcheck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Error(f)
	}
}

// TestLayoutSwitchesAtTheThreshold: up to layout.maxServiceJobs services
// get a job each; one more switches to chunks.
func TestLayoutSwitchesAtTheThreshold(t *testing.T) {
	for _, tc := range []struct {
		services, max int
		matrix        bool
	}{{3, 3, false}, {4, 3, true}, {250, 0, false}, {251, 0, true}} {
		cfg := &generator.Config{Layout: generator.Layout{MaxServiceJobs: tc.max}}
		cfg.Defaults()
		repo, err := generator.Scan(bigRepo(t, tc.services), "/repo", cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := repo.MatrixLayout(); got != tc.matrix {
			t.Errorf("%d services, maxServiceJobs %d: matrix layout %v, want %v", tc.services, tc.max, got, tc.matrix)
		}
	}
}
