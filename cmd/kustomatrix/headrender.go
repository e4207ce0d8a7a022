package main

import (
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kustomatrix/kustomatrix/generator"
	"github.com/kustomatrix/kustomatrix/internal/render"
)

// objKey identifies an object in a cluster: group, kind, namespace, name.
type objKey struct{ group, kind, namespace, name string }

func keyOf(o render.Object) objKey {
	group, _, ok := strings.Cut(o.APIVersion, "/")
	if !ok {
		group = ""
	}
	return objKey{group, o.Kind, o.Namespace, o.Name}
}

// headObjects are the objects the targets at the head render: the objects
// no prune may delete, whatever carries which label.
type headObjects struct {
	by map[objKey]string // the first target (by path) that renders it
}

// renderedBy says which target at the head renders an object. An object
// rendered without a namespace may land in any namespace, so it matches
// them all.
func (h *headObjects) renderedBy(k objKey) (string, bool) {
	if t, ok := h.by[k]; ok {
		return t, true
	}
	k.namespace = ""
	t, ok := h.by[k]
	return t, ok
}

// renderHead renders every target of the working tree except skip (the one
// being applied), a few at a time. A target that does not render makes the
// answer unknown: that is an error, and nothing is deleted.
func renderHead(s *streams, dir string, cfg *generator.Config, skip ...string) (*headObjects, error) {
	repo, err := generator.Scan(filesys.MakeFsOnDisk(), dir, cfg)
	if err != nil {
		return nil, fmt.Errorf("scanning the head: %w", err)
	}
	var paths []string
	for _, t := range repo.Targets {
		if !slices.Contains(skip, t.Path) {
			paths = append(paths, t.Path)
		}
	}
	sort.Strings(paths)
	kl := captureKustomizeLog() // its warnings, once each, not once per target
	defer kl.report(s)
	results := make([][]render.Object, len(paths))
	errs := make([]error, len(paths))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i], _, errs[i] = render.Build(filesys.MakeFsOnDisk(), dir, p, cfg)
		}()
	}
	wg.Wait()
	h := &headObjects{by: map[objKey]string{}}
	for i, p := range paths { // in path order: the first renderer is named
		if errs[i] != nil {
			return nil, &headUnknownError{target: p, err: errs[i]}
		}
		for _, o := range results[i] {
			if _, ok := h.by[keyOf(o)]; !ok {
				h.by[keyOf(o)] = p
			}
		}
	}
	return h, nil
}

// headUnknownError says a target does not render at the head: what the head
// deploys is unknown, so nothing may be pruned.
type headUnknownError struct {
	target string
	err    error
}

func (e *headUnknownError) Error() string {
	return fmt.Sprintf("%s does not render at the head, so what it deploys is unknown and nothing is deleted: %v", e.target, e.err)
}

func (e *headUnknownError) Unwrap() error { return e.err }
