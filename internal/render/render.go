// Package render builds kustomization roots with the kustomize library —
// the same engine and load restrictor the dependency analysis assumes — from
// the working tree or from any git revision, and compares rendered output
// object by object.
package render

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kustomatrix/kustomatrix/generator"
	"github.com/kustomatrix/kustomatrix/internal/gitdiff"
	"github.com/kustomatrix/kustomatrix/internal/gitfs"
)

// Object is one rendered Kubernetes object.
type Object struct {
	APIVersion string
	Kind       string
	Namespace  string // "" for cluster-scoped objects (or namespaced ones left to the default)
	Name       string
	YAML       []byte
}

// ID names an object uniquely within a rendering, in kubectl's style.
func (o Object) ID() string {
	g := o.APIVersion
	if i := strings.Index(g, "/"); i >= 0 {
		g = g[:i]
	} else {
		g = ""
	}
	kind := strings.ToLower(o.Kind)
	if g != "" {
		kind += "." + g
	}
	if o.Namespace != "" {
		return kind + "/" + o.Name + " -n " + o.Namespace
	}
	return kind + "/" + o.Name
}

// Build renders one root of the repository at dir (an absolute path in fsys).
// Remote references are fetched only when cfg's kustomize.remoteResources
// allows every one the build reads (policyFS), and then within
// kustomize.remoteTimeout.
func Build(fsys filesys.FileSystem, dir, target string, cfg *generator.Config) ([]Object, []byte, error) {
	pfs := policyFS{FileSystem: fsys, dir: dir, kz: cfg.Kustomize, refused: &refusals{}}
	type out struct {
		objs []Object
		all  []byte
	}
	run := func() (out, error) {
		objs, all, err := build(pfs, dir, target, cfg)
		return out{objs, all}, err
	}
	var o out
	var err error
	if len(cfg.Kustomize.RemoteResources) == 0 {
		o, err = run() // nothing can be fetched: nothing to time out
	} else {
		restrictGit()
		o, err = withTimeout(cfg.Kustomize.Timeout(), target, run)
	}
	if rerr := pfs.refused.err(); rerr != nil {
		return nil, nil, fmt.Errorf("kustomize build %s: %w", target, rerr)
	}
	return o.objs, o.all, err
}

func build(fsys filesys.FileSystem, dir, target string, cfg *generator.Config) ([]Object, []byte, error) {
	opts := krusty.MakeDefaultOptions()
	// As kustomize build does: Namespaces (and CRDs) first unless the
	// kustomization's sortOptions say otherwise, so an apply of a new
	// service creates its namespace before what lives in it.
	opts.Reorder = krusty.ReorderOptionUnspecified
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	if cfg.Kustomize.LoadRestrictor == generator.LoadRestrictorNone {
		opts.LoadRestrictions = types.LoadRestrictionsNone
	}
	rm, err := krusty.MakeKustomizer(opts).Run(fsys, filepath.Join(dir, filepath.FromSlash(target)))
	if err != nil {
		return nil, nil, fmt.Errorf("kustomize build %s: %w", target, err)
	}
	all, err := rm.AsYaml()
	if err != nil {
		return nil, nil, err
	}
	var objs []Object
	for _, r := range rm.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, nil, err
		}
		objs = append(objs, Object{APIVersion: r.GetApiVersion(), Kind: r.GetKind(),
			Namespace: r.GetNamespace(), Name: r.GetName(), YAML: y})
	}
	return objs, all, nil
}

// AtCommit opens the repository at repoDir as it is at commit rev, read
// from git objects as they are stored (no checkout; any name git can store,
// symlinks resolved as the OS would), and returns the file system with the
// directory the manifest repository is in there. Submodules checked out in
// the working tree show the commit the gitlink records
// (gitfs.OpenWithSubmodules). Close the file system when done.
func AtCommit(repoDir, rev string) (*gitfs.FS, string, error) {
	fsys, err := gitfs.OpenWithSubmodules(repoDir, rev)
	if err != nil {
		return nil, "", err
	}
	prefix, err := gitdiff.Repo{Dir: repoDir}.Prefix()
	if err != nil {
		fsys.Close()
		return nil, "", err
	}
	return fsys, filepath.Join(fsys.Root(), filepath.FromSlash(prefix)), nil
}

// Change is how one object differs between two renderings.
type Change struct {
	ID   string
	Kind string // "created", "changed", "deleted"
	Diff []byte // unified diff of the object's YAML
}

// Compare lists the objects that differ between two renderings, sorted by ID.
func Compare(base, head []Object, diff func(oldName string, old []byte, newName string, new []byte) []byte) []Change {
	b := index(base)
	h := index(head)
	var ids []string
	for id := range b {
		ids = append(ids, id)
	}
	for id := range h {
		if _, ok := b[id]; !ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var out []Change
	for _, id := range ids {
		bo, inBase := b[id]
		ho, inHead := h[id]
		if !inBase || !inHead || !bytes.Equal(bo.YAML, ho.YAML) {
			// Secrets are compared in full but shown masked.
			bo, ho = MaskSecret(bo, &ho, false), MaskSecret(ho, &bo, true)
			if !inBase {
				ho = MaskSecret(h[id], nil, true)
			}
			if !inHead {
				bo = MaskSecret(b[id], nil, false)
			}
			if inBase && inHead && bytes.Equal(bo.YAML, ho.YAML) {
				bo.YAML = append(bo.YAML, "# (masked values differ)\n"...)
			}
		}
		switch {
		case !inBase:
			out = append(out, Change{ID: id, Kind: "created", Diff: diff("/dev/null", nil, id, ho.YAML)})
		case !inHead:
			out = append(out, Change{ID: id, Kind: "deleted", Diff: diff(id, bo.YAML, "/dev/null", nil)})
		case !bytes.Equal(bo.YAML, ho.YAML):
			out = append(out, Change{ID: id, Kind: "changed", Diff: diff(id, bo.YAML, id, ho.YAML)})
		}
	}
	return out
}

func index(objs []Object) map[string]Object {
	m := make(map[string]Object, len(objs))
	for _, o := range objs {
		m[o.ID()] = o
	}
	return m
}
