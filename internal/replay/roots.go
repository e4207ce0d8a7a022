package replay

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// The root finder below is deliberately independent of the generator
// package: the replay measures kustomatrix's scanner, so it must not share
// its code. It follows the definition in the README (a deploy target is a
// kustomization that no other kustomization references, not a Component,
// not in a hidden directory) with the operating system resolving paths and
// symlinks, and kustomize's own types parsing the files.

// kustDir is one directory holding a kustomization file.
type kustDir struct {
	Dir       string   // slash-separated, relative to the top; "." for the top
	File      string   // the kustomization file's name in Dir
	Component bool     // kind: Component
	Refs      []string // entries that may name a kustomization directory
	ParseErr  string   // the file does not parse: no references are known
}

// tree is what the root finder learns about one checked-out commit.
type tree struct {
	Top   string              // absolute, symlinks resolved
	Kusts map[string]*kustDir // by Dir
	Roots []string            // sorted
	// Notes are problems that may make the finder disagree with
	// kustomatrix for a reason other than a bug (a file that does not
	// parse, an unreadable configuration).
	Notes []string
}

// kustomizationNames are the file names kustomize recognises, in its order.
var kustomizationNames = konfig.RecognizedKustomizationFileNames()

// findRoots walks the tree at top (not following symlinks, skipping .git)
// and returns its kustomizations and deploy targets.
func findRoots(top string) (*tree, error) {
	real, err := filepath.EvalSymlinks(top)
	if err != nil {
		return nil, err
	}
	t := &tree{Top: real, Kusts: map[string]*kustDir{}}
	err = filepath.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == ".git" && p != real {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			t.readDir(p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walking %q: %w", top, err)
	}
	include, exclude := t.discovery()
	t.Roots = t.roots(include, exclude)
	return t, nil
}

// readDir records the kustomization of one directory, if it has one: the
// first name kustomize recognises that is a file (through a symlink too).
func (t *tree) readDir(dir string) {
	for _, name := range kustomizationNames {
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() {
			continue
		}
		rel := t.rel(dir)
		k := &kustDir{Dir: rel, File: name}
		data, err := os.ReadFile(p)
		if err == nil {
			err = k.parse(data)
		}
		if err != nil {
			k.ParseErr = firstLine(err.Error())
			t.Notes = append(t.Notes, fmt.Sprintf("%s: does not parse, taken as referencing nothing: %s", joinSlash(rel, name), k.ParseErr))
		}
		t.Kusts[rel] = k
		return
	}
}

// parse keeps the entries of every field that may name a directory with a
// kustomization. A file entry or inline content never resolves to one, so
// no field is tested for inline content.
func (k *kustDir) parse(data []byte) error {
	var kt types.Kustomization
	if err := yaml.Unmarshal(data, &kt); err != nil {
		return err
	}
	k.Component = kt.Kind == types.ComponentKind
	for _, l := range [][]string{kt.Resources, kt.Bases, kt.Components, kt.Generators, kt.Transformers, kt.Validators} {
		k.Refs = append(k.Refs, l...)
	}
	return nil
}

// resolve returns the kustomization directory an entry of k names, as the
// operating system resolves it, if it is one inside the tree.
func (t *tree) resolve(k *kustDir, ref string) (string, bool) {
	if ref == "" || filepath.IsAbs(ref) || strings.Contains(ref, "://") {
		return "", false
	}
	real, err := filepath.EvalSymlinks(filepath.Join(t.Top, filepath.FromSlash(k.Dir), filepath.FromSlash(ref)))
	if err != nil {
		return "", false
	}
	rel, ok := t.inside(real)
	if !ok {
		return "", false
	}
	if _, ok := t.Kusts[rel]; !ok {
		return "", false
	}
	return rel, true
}

// roots returns the unreferenced, visible, non-Component kustomization
// directories that the discovery globs keep. References count from every
// visible kustomization and from the hidden ones those reach (a base kept in
// a hidden directory), never from an unused hidden one (an archive).
func (t *tree) roots(include, exclude []string) []string {
	referenced := map[string]bool{}
	var queue []*kustDir
	for d, k := range t.Kusts {
		if !isHidden(d) {
			queue = append(queue, k)
		}
	}
	visited := map[string]bool{}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		if visited[k.Dir] {
			continue
		}
		visited[k.Dir] = true
		for _, ref := range k.Refs {
			sub, ok := t.resolve(k, ref)
			if !ok || sub == k.Dir {
				continue
			}
			referenced[sub] = true
			if isHidden(sub) {
				queue = append(queue, t.Kusts[sub])
			}
		}
	}
	var roots []string
	for d, k := range t.Kusts {
		if referenced[d] || k.Component || isHidden(d) {
			continue
		}
		if (len(include) > 0 && !matchAny(include, d)) || matchAny(exclude, d) {
			continue
		}
		roots = append(roots, d)
	}
	sort.Strings(roots)
	return roots
}

// discovery reads discovery.include and discovery.exclude from the
// repository's .kustomatrix.yaml, the only settings that change which
// directories are targets.
func (t *tree) discovery() (include, exclude []string) {
	data, err := os.ReadFile(filepath.Join(t.Top, ".kustomatrix.yaml"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var cfg struct {
		Discovery struct {
			Include []string `json:"include"`
			Exclude []string `json:"exclude"`
		} `json:"discovery"`
	}
	if err == nil {
		err = yaml.Unmarshal(data, &cfg)
	}
	if err != nil {
		t.Notes = append(t.Notes, fmt.Sprintf(".kustomatrix.yaml: %v (no discovery globs applied)", err))
		return nil, nil
	}
	return cfg.Discovery.Include, cfg.Discovery.Exclude
}

// inside returns an absolute path relative to the top, slash-separated, if
// it is in the tree.
func (t *tree) inside(p string) (string, bool) { return relInside(t.Top, p) }

func (t *tree) rel(p string) string {
	rel, _ := t.inside(p)
	return rel
}

// isHidden reports whether a slash path has a segment starting with a dot.
func isHidden(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if strings.HasPrefix(seg, ".") && seg != "." && seg != ".." {
			return true
		}
	}
	return false
}

func matchAny(globs []string, name string) bool {
	for _, g := range globs {
		if ok, _ := doublestar.Match(g, name); ok {
			return true
		}
	}
	return false
}

func joinSlash(dir, name string) string {
	if dir == "." || dir == "" {
		return name
	}
	return dir + "/" + name
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
