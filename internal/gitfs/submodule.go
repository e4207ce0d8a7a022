package gitfs

import (
	"fmt"
	"path/filepath"
	"strings"
)

// maxSubmoduleDepth bounds how deep submodules of submodules are shown.
const maxSubmoduleDepth = 8

// OpenWithSubmodules is Open, with each submodule shown as a recursive
// checkout would show it: the tree of the commit its gitlink records, read
// from the submodule's own repository, the one checked out in the working
// tree at its path. A kustomization root that builds from a submodule reads
// the same files at a commit as in the working tree, so the base and the
// head of a change are scanned and built alike. A submodule whose
// repository is not checked out, or lacks that commit (a bump whose old
// commit was never fetched), stays an empty directory; Missing lists them.
// Gitlink and Gitlinks report every submodule either way.
func OpenWithSubmodules(dir, rev string) (*FS, error) {
	f, err := Open(dir, rev)
	if err != nil {
		return nil, err
	}
	for _, p := range f.Gitlinks() {
		f.graft(p, 1)
	}
	return f, nil
}

// Missing lists the submodules (slash-separated paths under Root) that
// OpenWithSubmodules could not show: not checked out, or without the
// commit the gitlink records. Sorted.
func (f *FS) Missing() []string {
	var out []string
	for _, p := range f.gitlinks {
		if n := f.nodes[p]; n != nil && n.mode == modeGitlink {
			out = append(out, p)
		}
	}
	return out
}

// graft shows the submodule at p (a gitlink) as the tree of its commit, if
// its repository is checked out at p and has that commit.
func (f *FS) graft(p string, depth int) {
	n := f.nodes[p]
	if n == nil || n.mode != modeGitlink || depth > maxSubmoduleDepth {
		return
	}
	sub := filepath.Join(f.root, filepath.FromSlash(p))
	// It must be a repository of its own, not a directory of this one.
	top, err := git(sub, "rev-parse", "--show-toplevel")
	if err != nil {
		return
	}
	if real, err := filepath.EvalSymlinks(strings.TrimSuffix(string(top), "\n")); err != nil || real != sub {
		return
	}
	if _, err := git(sub, "cat-file", "-e", n.oid+"^{commit}"); err != nil {
		return
	}
	out, err := git(sub, "ls-tree", "-r", "-t", "-z", "-l", "--full-tree", n.oid)
	if err != nil {
		return
	}
	before := len(f.gitlinks)
	cat := newCatFile(sub)
	n.mode, n.sub, n.size = modeTree, true, -1
	if err := f.insert(p, out, cat); err != nil {
		// A listing git gave cannot be out of order; keep the gitlink empty
		// all the same rather than half a tree.
		n.mode, n.sub, n.kids = modeGitlink, false, nil
		cat.close()
		return
	}
	f.subcats = append(f.subcats, cat)
	if len(f.gitlinks) > before {
		for _, q := range f.gitlinks {
			if strings.HasPrefix(q, p+"/") {
				f.graft(q, depth+1)
			}
		}
	}
}

// catOf returns the reader of n's blob.
func (f *FS) catOf(n *node) *catFile {
	if n.cat != nil {
		return n.cat
	}
	return f.cat
}

// String names the commit and root, for messages.
func (f *FS) String() string { return fmt.Sprintf("%s at %.12s", f.root, f.commit) }
