package generator

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rogpeppe/go-internal/diff"
)

// Change kinds reported by Drift.
const (
	Changed = "changed" // the file exists with other content
	Missing = "missing" // the file should exist and does not
	Orphan  = "orphan"  // a generated file that is no longer produced
)

// Change is one difference between the repository and the rendered files.
type Change struct {
	Path string
	Kind string
	Diff []byte // unified diff from the file on disk to the wanted content
}

// Drift compares rendered files with the repository at dir. It reads and
// never writes. Orphans are files carrying the generated header in the
// places kustomatrix writes to, that Render no longer produces (a renamed
// workflow, say); files without the header are never reported or touched.
func Drift(dir string, files []File) ([]Change, error) {
	var changes []Change
	want := map[string]bool{}
	for _, f := range files {
		want[f.Path] = true
		have, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		switch {
		case os.IsNotExist(err):
			changes = append(changes, Change{Path: f.Path, Kind: Missing,
				Diff: diff.Diff("/dev/null", nil, f.Path, f.Content)})
		case err != nil:
			return nil, fmt.Errorf("reading %q: %w", f.Path, err)
		case !bytes.Equal(have, f.Content):
			changes = append(changes, Change{Path: f.Path, Kind: Changed,
				Diff: diff.Diff(f.Path, have, f.Path, f.Content)})
		}
	}
	orphans, err := generatedFiles(dir)
	if err != nil {
		return nil, err
	}
	for _, p := range orphans {
		if !want[p] {
			have, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
			changes = append(changes, Change{Path: p, Kind: Orphan, Diff: diff.Diff(p, have, "/dev/null", nil)})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	return changes, nil
}

// generatedFiles lists the files under .github that start with Header.
func generatedFiles(dir string) ([]string, error) {
	var out []string
	root := filepath.Join(dir, ".github")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == root {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			return nil
		}
		if isGenerated(p) {
			out = append(out, relSlash(dir, p))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing generated files: %w", err)
	}
	return out, nil
}

// isGenerated reads just enough of a file to see whether it starts with Header.
func isGenerated(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, len(Header)+1)
	n, _ := f.Read(buf)
	return bytes.HasPrefix(buf[:n], []byte(Header+"\n")) || (n == len(Header) && string(buf[:n]) == Header)
}

// Write brings the repository in line with the rendered files: each changed
// or missing file is written to a temporary file in its directory and
// renamed over the old one (a crash never leaves half a workflow), and
// orphaned generated files are removed. Nothing else is touched. It returns
// what it changed.
func Write(dir string, files []File) ([]Change, error) {
	changes, err := Drift(dir, files)
	if err != nil {
		return nil, err
	}
	content := map[string][]byte{}
	for _, f := range files {
		content[f.Path] = f.Content
	}
	for _, c := range changes {
		p := filepath.Join(dir, filepath.FromSlash(c.Path))
		if c.Kind == Orphan {
			if err := os.Remove(p); err != nil {
				return nil, fmt.Errorf("removing orphaned %q: %w", c.Path, err)
			}
			removeEmptyDir(dir, filepath.Dir(p))
			continue
		}
		if err := writeAtomic(p, content[c.Path]); err != nil {
			return nil, err
		}
	}
	return changes, nil
}

func writeAtomic(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("creating directory for %q: %w", p, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %q: %w", p, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %q: %w", p, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %q: %w", p, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %q: %w", p, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("replacing %q: %w", p, err)
	}
	return nil
}

// removeEmptyDir removes an action directory left empty by an orphan's
// removal, but never .github itself or anything above it.
func removeEmptyDir(repo, d string) {
	if strings.HasPrefix(relSlash(repo, d), ".github/actions/") {
		_ = os.Remove(d) // fails, harmlessly, when not empty
	}
}
