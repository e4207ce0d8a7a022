package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kustomatrix/kustomatrix/generator"
	"github.com/kustomatrix/kustomatrix/internal/gitdiff"
	"github.com/kustomatrix/kustomatrix/internal/render"
)

// verifyByRendering keeps only the candidate targets whose rendered output
// differs between the merge base and the working tree. The dependency
// closure never misses a target but flags some whose output is the same (a
// comment, a reordered key); building only the candidates keeps the cost
// proportional to the change. Targets new at the head are always kept, and
// so is any target that fails to build on either side: a broken build must
// run and say so.
func verifyByRendering(res *generator.AffectedResult, cfg *generator.Config, dir, base, head string) error {
	if res.All || len(res.Targets) == 0 {
		return nil
	}
	g := gitdiff.Repo{Dir: dir}
	mb, err := g.MergeBase(base, head)
	if err != nil {
		return err
	}
	baseFS, baseRoot, err := render.GitTree(dir, mb)
	if err != nil {
		return err
	}
	headFS := filesys.MakeFsOnDisk()
	kept := res.Targets[:0]
	candidates := len(res.Targets)
	for _, t := range res.Targets {
		if !baseFS.Exists(filepath.Join(baseRoot, filepath.FromSlash(t.Path))) {
			kept = append(kept, t) // added at the head
			continue
		}
		before, errB := canonicalBuild(baseFS, baseRoot, t.Path, cfg)
		after, errA := canonicalBuild(headFS, dir, t.Path, cfg)
		if errB != nil || errA != nil || before != after {
			kept = append(kept, t)
		}
	}
	res.Targets = kept
	res.Reason += fmt.Sprintf("; --render: %d of %d candidate(s) render differently", len(kept), candidates)
	return nil
}

// canonicalBuild renders a target to a canonical string: objects sorted by
// kind, namespace and name, each as JSON with sorted keys, so that only a
// change in meaning (not in formatting or key order) shows.
func canonicalBuild(fsys filesys.FileSystem, dir, target string, cfg *generator.Config) (string, error) {
	objs, _, err := render.Build(fsys, dir, target, cfg)
	if err != nil {
		return "", err
	}
	parts := make([]string, 0, len(objs))
	for _, o := range objs {
		var v any
		if err := yaml.Unmarshal(o.YAML, &v); err != nil {
			return "", err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		parts = append(parts, o.ID()+"\n"+string(b))
	}
	sort.Strings(parts)
	b, _ := json.Marshal(parts)
	return string(b), nil
}
