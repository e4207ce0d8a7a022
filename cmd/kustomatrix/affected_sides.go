package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kustomatrix/kustomatrix/generator"
	"github.com/kustomatrix/kustomatrix/internal/gitdiff"
	"github.com/kustomatrix/kustomatrix/internal/gitfs"
	"github.com/kustomatrix/kustomatrix/internal/render"
)

// headRev is the head revision to diff to: HEAD for the working tree.
func (o *affectedOptions) headRev() string {
	if o.head == "" {
		return "HEAD"
	}
	return o.head
}

// headIsWorkingTree reports whether the head is the working tree as it is
// on disk (--head HEAD, the default) rather than a commit read from git.
//
// A sparse checkout is not the tree: its absent directories would read as
// deleted targets. Its head is then the HEAD commit, read from git.
func (o *affectedOptions) headIsWorkingTree() bool {
	return (o.head == "" || o.head == "HEAD") && !o.sparse
}

// ends are the two commits of a change as file systems: the head (the
// working tree on disk, or a commit) and the base (a commit, opened when
// first needed). The manifest repository is at dir in both: a commit's file
// system is rooted where the repository is checked out.
type ends struct {
	dir     string // the manifest repository on disk
	gitDir  string // the manifest repository in a commit's file system
	head    filesys.FileSystem
	headGit *gitfs.FS // the head commit, when the head is not the working tree
	base    *gitfs.FS
	rg      gitdiff.Range
}

func (e *ends) close() {
	for _, f := range []*gitfs.FS{e.headGit, e.base} {
		if f != nil {
			f.Close()
		}
	}
}

// open opens a commit, and learns where the manifest repository is in it:
// a commit's file system is rooted at the top of the work tree, as git
// names it, which may not be how --repo reached it (a symlink, a
// subdirectory).
func (e *ends) open(rev string) (*gitfs.FS, error) {
	f, dir, err := render.AtCommit(e.dir, rev)
	if err != nil {
		return nil, err
	}
	e.gitDir = dir
	return f, nil
}

// baseFS opens the base commit.
func (e *ends) baseFS() (*gitfs.FS, error) {
	if e.base == nil {
		f, err := e.open(e.rg.From)
		if err != nil {
			return nil, fmt.Errorf("reading the base %s: %w", e.rg.From, err)
		}
		e.base = f
	}
	return e.base, nil
}

// headDir is the manifest repository in the head's file system.
func (e *ends) headDir() string {
	if e.headGit != nil {
		return e.gitDir
	}
	return e.dir
}

// affected works out the change, the repository at its head and at its
// base, and what the change affects.
func (o *affectedOptions) affected(s *streams, cfg *generator.Config, dir string) (*generator.Repo, *generator.AffectedResult, error) {
	cs, err := o.changeSet(s, cfg, dir)
	if err != nil {
		return nil, nil, err
	}
	e := &ends{dir: dir, head: filesys.MakeFsOnDisk(), rg: o.rg}
	defer e.close()
	if !o.headIsWorkingTree() {
		if o.rg.Head == "" {
			return nil, nil, usageError("--head %q needs --base: a commit is compared with a commit", o.head)
		}
		if e.headGit, err = e.open(o.rg.Head); err != nil {
			return nil, nil, &exitError{code: exitFailure, err: fmt.Errorf("reading the head %s: %w", o.head, err)}
		}
		e.head = e.headGit
	}
	head, err := o.headRepo(s, cfg, e)
	if err != nil {
		return nil, nil, err
	}
	if o.checked && e.headGit == nil {
		if f := unknownKustomization(head, cs.Files); f != "" {
			// A kustomization file no target reads changed: a new root the
			// paths file cannot know, so it is stale whatever check said
			// (it ran on another tree, say). Scan instead.
			fmt.Fprintf(s.err, "kustomatrix: --checked: %s is in no target's closure in the paths file: scanning instead\n", f)
			if head, err = o.loadWith(s, e.dir, cfg); err != nil {
				return nil, nil, err
			}
		}
	}
	if cs.Everything == "" && o.rg.From != "" {
		base, why, err := o.baseRepo(s, head, cs.Files, e)
		if err != nil {
			return nil, nil, err
		}
		if why != "" {
			cs.Everything = why
		}
		cs.Base = base
		if base != nil && base != head {
			cs.SharedExplained = o.sharedExplained(head, base, cs.Files, e)
		}
	}
	res := generator.Affected(head, cs)
	if (o.render || head.Config.Plan.Render) && o.rg.From != "" {
		if err := verifyByRendering(s, res, head, e); err != nil {
			return nil, nil, &exitError{code: exitFailure, err: fmt.Errorf("--render: %w", err)}
		}
	}
	return head, res, nil
}

// headRepo is the repository at the head: the working tree (from the paths
// file check proved, with --checked), or the head commit scanned with the
// configuration committed there.
func (o *affectedOptions) headRepo(s *streams, cfg *generator.Config, e *ends) (*generator.Repo, error) {
	if e.headGit == nil {
		if o.checked {
			repo, err := o.committedRepo(s, e.dir, cfg)
			if err != nil {
				return nil, err
			}
			return repo.WithLoadCheck(filesys.MakeFsOnDisk(), e.dir), nil
		}
		return o.loadWith(s, e.dir, cfg)
	}
	hcfg, err := configIn(e.head, e.gitDir)
	if err != nil {
		return nil, fmt.Errorf("the configuration at the head %s: %w", o.head, err)
	}
	repo, err := generator.Scan(e.head, e.gitDir, hcfg)
	if err != nil {
		return nil, err
	}
	for _, d := range repo.Diagnostics {
		fmt.Fprintln(s.err, d)
	}
	return repo, nil
}

// baseRepo is the repository at the base commit, scanned with the
// configuration committed there. When the change cannot have altered the
// dependency graph (see generator.GraphChange) the base's targets and
// closures are the head's, and nothing is read. A base that cannot be read
// as a repository (its configuration does not load, two roots share a
// name) is a reason for every target to run, never a guess.
func (o *affectedOptions) baseRepo(s *streams, head *generator.Repo, files []string, e *ends) (*generator.Repo, string, error) {
	// A symlink changes where paths lead; a submodule bump may add or
	// remove the kustomizations inside it: both can change the graph.
	links, bumped := map[string]bool{}, false
	for _, c := range o.changes {
		links[c.Path] = c.Symlink()
		bumped = bumped || c.Gitlink()
	}
	for _, f := range o.linkedKustomizations(e) {
		links[f] = true // edited through a kustomization.yaml that links to it
	}
	if !o.scan && !bumped && generator.GraphChange(files, func(p string) bool { return links[p] }, o.sameRefs(e)) == "" {
		return head, "", nil
	}
	fsys, err := e.baseFS()
	if err != nil {
		return nil, "", &exitError{code: exitFailure, err: err}
	}
	at := fmt.Sprintf("the base %.12s", e.rg.From)
	bcfg, err := configIn(fsys, e.gitDir)
	if err != nil {
		return nil, fmt.Sprintf("%s does not load at %s (%v): every target runs", generator.ConfigFile, at, err), nil
	}
	repo, err := generator.Scan(fsys, e.gitDir, bcfg)
	var ce *generator.ConfigError
	if errors.As(err, &ce) {
		return nil, fmt.Sprintf("%s cannot be scanned (%v): every target runs", at, err), nil
	}
	if err != nil {
		return nil, "", &exitError{code: exitFailure, err: fmt.Errorf("scanning %s: %w", at, err)}
	}
	// What the base cannot show is said, not guessed: a target that builds
	// from a submodule whose old commit this clone lacks counts as added.
	for _, d := range repo.Diagnostics {
		if d.Kind == "submodule" {
			fmt.Fprintf(s.err, "kustomatrix: at %s: %s\n", at, d.Message)
		}
	}
	return repo, "", nil
}

// sameRefs reports the kustomization files the change edited without
// touching their references (tag bumps, replicas), reading both versions:
// the base's by blob id, in one git process, the head's the same way or
// from the working tree.
func (o *affectedOptions) sameRefs(e *ends) func(string) bool {
	var ids []string
	edited := map[string]gitdiff.Change{}
	for _, c := range o.changes {
		if generator.IsKustomizationFile(c.Path) && c.Old != "" && (c.New != "" || (e.headGit == nil && c.NewMode != "" && !c.Symlink())) {
			edited[c.Path] = c
			ids = append(ids, c.Old)
			if c.New != "" {
				ids = append(ids, c.New)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	blobs, err := gitdiff.Repo{Dir: e.dir}.Objects(ids)
	if err != nil {
		return nil
	}
	return func(f string) bool {
		c, ok := edited[f]
		if !ok {
			return false
		}
		after, found := blobs[c.New]
		if c.New == "" {
			b, err := os.ReadFile(filepath.Join(e.dir, filepath.FromSlash(f)))
			if err != nil {
				return false
			}
			after, found = b, true
		}
		return found && generator.SameReferences(f, blobs[c.Old], after)
	}
}

// configIn reads the configuration of the repository at dir in fsys (the
// defaults when there is none).
func configIn(fsys filesys.FileSystem, dir string) (*generator.Config, error) {
	data, err := fsys.ReadFile(filepath.Join(dir, generator.ConfigFile))
	if errors.Is(err, fs.ErrNotExist) || (err != nil && !fsys.Exists(filepath.Join(dir, generator.ConfigFile))) {
		data = nil
	} else if err != nil {
		return nil, err
	}
	return generator.LoadConfig(generator.ConfigFile, data)
}

// linkedKustomizations returns the files that symlinks named like a
// kustomization file lead to at the head (the links are the same at the
// base unless a symlink changed, which is a graph change of its own):
// relative to the repository, as changed files are named. An error leaves
// the list short, and then the base is scanned.
func (o *affectedOptions) linkedKustomizations(e *ends) []string {
	rev := ""
	if e.headGit != nil {
		rev = e.rg.Head
	}
	links, err := gitdiff.Repo{Dir: e.dir}.KustomizationLinks(rev)
	if err != nil {
		o.scan = true
		return nil
	}
	var out []string
	for _, l := range links {
		dir, file, err := e.head.CleanedAbs(filepath.Join(e.headDir(), filepath.FromSlash(l)))
		if err != nil {
			continue // dangling: a diagnostic of the scan
		}
		if rel, err := filepath.Rel(e.headDir(), filepath.Join(string(dir), file)); err == nil {
			out = append(out, filepath.ToSlash(rel))
		}
	}
	return out
}

// sharedExplained reports whether the shared generated files the change
// touched are, at both ends, what kustomatrix generates there (see
// generator.SharedFilesGenerated). With --checked, check has just proved
// the head's.
func (o *affectedOptions) sharedExplained(head, base *generator.Repo, files []string, e *ends) bool {
	shared := map[string]bool{}
	for _, c := range []*generator.Config{head.Config, base.Config} {
		for _, p := range c.GlobalPaths() {
			shared[p] = true
		}
		for _, p := range c.GlobalDependencies {
			delete(shared, p)
		}
	}
	touched := false
	for _, f := range files {
		touched = touched || shared[f]
	}
	if !touched {
		return false
	}
	bfs, err := e.baseFS()
	if err != nil {
		return false
	}
	reader := func(fsys filesys.FileSystem, dir string) func(string) ([]byte, bool) {
		return func(p string) ([]byte, bool) {
			b, err := fsys.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
			return b, err == nil
		}
	}
	if !generator.SharedFilesGenerated(base, reader(bfs, e.gitDir)) {
		return false
	}
	return o.checked || generator.SharedFilesGenerated(head, reader(e.head, e.headDir()))
}

// unknownKustomization returns a changed kustomization file that no
// target of repo reads, or "". (One no target reads may be legitimately
// outside every closure, excluded or unused: scanning then only costs
// time.)
func unknownKustomization(repo *generator.Repo, files []string) string {
	for _, f := range files {
		if generator.IsKustomizationFile(f) && len(generator.Affected(repo, generator.ChangeSet{Files: []string{f}}).Targets) == 0 {
			return f
		}
	}
	return ""
}
