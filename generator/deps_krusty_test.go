package generator_test

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bmatcuk/doublestar/v4"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kustomatrix/kustomatrix/generator"
)

// recordingFS is the disk, remembering every file kustomize reads.
type recordingFS struct {
	filesys.FileSystem
	mu    sync.Mutex
	reads map[string]bool
}

func (r *recordingFS) record(p string) {
	r.mu.Lock()
	r.reads[p] = true
	r.mu.Unlock()
}

func (r *recordingFS) ReadFile(p string) ([]byte, error) {
	b, err := r.FileSystem.ReadFile(p)
	if err == nil {
		r.record(p)
	}
	return b, err
}

func (r *recordingFS) Open(p string) (filesys.File, error) {
	f, err := r.FileSystem.Open(p)
	if err == nil {
		r.record(p)
	}
	return f, err
}

// TestClosureCoversEveryKustomizeRead proves the static dependency analysis
// against kustomize itself: krusty builds every root of every fixture and
// corpus through a file system that records each read, and every recorded
// read inside the repository must match one of the root's input globs. A
// root whose build fails (the broken fixtures) is checked too: whatever
// kustomize read before failing must be covered.
func TestClosureCoversEveryKustomizeRead(t *testing.T) {
	repos := allRepos(t)
	roots := 0
	for name, dir := range repos {
		t.Run(name, func(t *testing.T) {
			abs, _ := filepath.Abs(dir)
			// kustomize resolves symbolic links: so must the paths compared.
			if real, err := filepath.EvalSymlinks(abs); err == nil {
				abs = real
			}
			repo, _, err := renderRepo(t, abs)
			if err != nil {
				t.Skipf("no targets by design: %v", err)
			}
			for _, target := range repo.Targets {
				roots++
				reads := buildRecording(t, abs, target.Path, repo.Config)
				if len(reads) == 0 {
					t.Errorf("%s: kustomize read nothing; the recording is broken", target.Path)
				}
				for _, p := range reads {
					if !covered(target.Inputs, p) {
						t.Errorf("%s: kustomize read %q, which is not in the closure %q", target.Path, p, target.Inputs)
					}
				}
			}
		})
	}
	if roots < 30 {
		t.Fatalf("only %d roots were built; expected every root of the fixtures and corpora", roots)
	}
}

// buildRecording runs kustomize on one root and returns the repository
// paths it read. Reads outside the repository (an escaping reference, a
// remote clone) cannot be watched and are reported as diagnostics instead.
func buildRecording(t *testing.T, repoDir, root string, cfg *generator.Config) []string {
	t.Helper()
	fs := &recordingFS{FileSystem: filesys.MakeFsOnDisk(), reads: map[string]bool{}}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	if cfg.Kustomize.LoadRestrictor == generator.LoadRestrictorNone {
		opts.LoadRestrictions = types.LoadRestrictionsNone
	}
	_, err := krusty.MakeKustomizer(opts).Run(fs, filepath.Join(repoDir, filepath.FromSlash(root)))
	if err != nil {
		t.Logf("%s: kustomize build fails (checking what it read before): %v", root, err)
	}
	var out []string
	for p := range fs.reads {
		rel, err := filepath.Rel(repoDir, p)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		out = append(out, filepath.ToSlash(rel))
	}
	return out
}

func covered(globs []string, p string) bool {
	for _, g := range globs {
		if ok, _ := doublestar.Match(g, p); ok {
			return true
		}
	}
	return false
}
