// Package gitfs is a read-only kustomize file system (filesys.FileSystem)
// over the tree of one git commit, read from the object database without a
// checkout: kustomatrix finds kustomize roots, follows their dependencies
// and runs krusty builds at a change's base and at its head.
//
// Paths are the OS paths the files would have in the working tree: the
// commit's tree sits at the repository's top-level directory, so a path
// means the same at a commit as on disk, and symlinks resolve as the OS
// would resolve them there. The listing is read once, at Open; a file's
// contents only when asked for, through one `git cat-file --batch` process
// shared by every reader (reads that wait for it meanwhile go together).
//
// The package is written for Unix paths (Linux, macOS).
package gitfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Git's file modes, as ls-tree prints them (octal).
const (
	modeTree    = 0o040000
	modeFile    = 0o100644
	modeExec    = 0o100755
	modeSymlink = 0o120000
	modeGitlink = 0o160000
)

// maxCached bounds the bytes of file contents an FS keeps: kustomize reads
// a shared base once per overlay that uses it, and Prefetch reads ahead.
const maxCached = 64 << 20

// ErrReadOnly is what every write method returns, wrapped with the
// operation and path. It wraps fs.ErrPermission.
var ErrReadOnly = fmt.Errorf("the file system of a git commit is read-only: %w", fs.ErrPermission)

var _ filesys.FileSystem = (*FS)(nil)

// FS is the tree of one commit as a filesys.FileSystem. Create it with
// Open and stop its git process with Close. It is safe for concurrent use.
type FS struct {
	root     string           // the repository's top-level directory, symlink-free
	commit   string           // full hash
	nodes    map[string]*node // by slash-separated path under root; "" is root
	gitlinks []string         // sorted
	cat      *catFile
	subcats  []*catFile // of the submodules shown (OpenWithSubmodules)

	cacheMu sync.RWMutex
	blobs   map[string][]byte // file contents by object id
	cached  int64             // bytes in blobs
	links   map[string]string // symlink targets by object id
}

// node is one entry of the commit's tree.
type node struct {
	mode uint32   // git's mode: modeTree, modeFile, ...
	oid  string   // object id
	size int64    // of a blob; -1 for a tree, a gitlink, or an object git cannot read
	kids []string // a tree's entry names, sorted bytewise as os.ReadDir sorts
	cat  *catFile // reads this blob when not the repository's own (a submodule's)
	sub  bool     // a gitlink shown as the submodule's tree (OpenWithSubmodules); oid is its commit
}

// Open returns the file system of the tree of commit rev in the git
// repository that contains dir. Paths are absolute OS paths rooted at the
// repository's top-level directory on disk (git rev-parse --show-toplevel,
// with its symlinks resolved), so a path at a commit reads like the same
// path in the working tree, and a manifest repository in a subdirectory is
// Root()/subdir. It fails when dir is not in a git repository or rev does
// not name a commit there. Blob contents are read later, when asked for:
// one object missing from the repository fails only the reads of its path.
func Open(dir, rev string) (*FS, error) {
	out, err := git(dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("opening %q at %q: %w", dir, rev, err)
	}
	top, err := filepath.EvalSymlinks(strings.TrimSuffix(string(out), "\n"))
	if err != nil {
		return nil, fmt.Errorf("opening %q at %q: %w", dir, rev, err)
	}
	commit, err := resolveCommit(top, rev)
	if err != nil {
		return nil, err
	}
	f := &FS{
		root:   top,
		commit: commit,
		cat:    newCatFile(top),
		blobs:  map[string][]byte{},
		links:  map[string]string{},
	}
	if err := f.list(); err != nil {
		return nil, err
	}
	// An FS dropped without Close must not leave git running until exit.
	runtime.AddCleanup(f, func(c *catFile) { c.close() }, f.cat)
	return f, nil
}

// resolveCommit returns the full hash of the commit rev names in the
// repository at top.
func resolveCommit(top, rev string) (string, error) {
	if rev == "" {
		return "", fmt.Errorf("no revision given for the repository at %q", top)
	}
	out, err := git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("%q is not a commit in the repository at %q", rev, top)
	}
	return strings.TrimSpace(string(out)), nil
}

// list reads the whole tree of the commit, with every blob's size, in one
// git ls-tree: trees first, so a parent is known before its entries. With
// -z, paths come as stored, never quoted.
func (f *FS) list() error {
	out, err := git(f.root, "ls-tree", "-r", "-t", "-z", "-l", "--full-tree", f.commit)
	if err != nil {
		return fmt.Errorf("listing commit %s: %w", f.commit, err)
	}
	f.nodes = make(map[string]*node, bytes.Count(out, []byte{0})+1)
	f.nodes[""] = &node{mode: modeTree, size: -1}
	if err := f.insert("", out, nil); err != nil {
		return fmt.Errorf("listing commit %s: %w", f.commit, err)
	}
	return nil
}

// insert adds the entries of an ls-tree -r -t -z -l listing under the
// directory prefix ("" for Root), their blobs read through cat (nil: the
// repository's own).
func (f *FS) insert(prefix string, out []byte, cat *catFile) error {
	added := map[*node]bool{}
	for len(out) > 0 {
		rec := out
		if i := bytes.IndexByte(out, 0); i >= 0 {
			rec, out = out[:i], out[i+1:]
		} else {
			out = nil
		}
		p, n, err := parseEntry(rec)
		if err != nil {
			return err
		}
		if prefix != "" {
			p = prefix + "/" + p
		}
		n.cat = cat
		dir, name := "", p
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			dir, name = p[:i], p[i+1:]
		}
		parent := f.nodes[dir]
		if parent == nil || parent.mode != modeTree {
			return fmt.Errorf("%q comes before its directory", p)
		}
		parent.kids = append(parent.kids, name)
		added[parent] = true
		f.nodes[p] = n
		if n.mode == modeGitlink {
			f.gitlinks = append(f.gitlinks, p)
		}
	}
	for n := range added {
		// Git sorts a tree "a" as "a/": after "a.b", where the OS puts it before.
		slices.Sort(n.kids)
	}
	slices.Sort(f.gitlinks)
	return nil
}

// parseEntry parses one record of ls-tree -l -z:
// "<mode> <type> <oid> <size>\t<path>", the size "-" for a tree or a
// commit and "BAD" for an object git cannot read.
func parseEntry(rec []byte) (string, *node, error) {
	meta, p, ok := bytes.Cut(rec, []byte{'\t'})
	f := strings.Fields(string(meta))
	if !ok || len(f) != 4 || len(p) == 0 {
		return "", nil, fmt.Errorf("unexpected ls-tree entry %q", rec)
	}
	mode, err := strconv.ParseUint(f[0], 8, 32)
	if err != nil {
		return "", nil, fmt.Errorf("unexpected mode in ls-tree entry %q", rec)
	}
	size, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		size = -1
	}
	return string(p), &node{mode: uint32(mode), oid: f[2], size: size}, nil
}

// git runs git in dir and returns its output; the error has git's message.
func git(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if msg := strings.TrimSpace(stderr.String()); errors.As(err, &ee) && msg != "" {
			return nil, fmt.Errorf("git %s: %s (%w)", args[0], msg, err)
		}
		return nil, fmt.Errorf("git %s: %w", args[0], err)
	}
	return out, nil
}

// Root returns the repository's top-level directory: an absolute,
// symlink-free OS path, where the commit's tree sits.
func (f *FS) Root() string { return f.root }

// Commit returns the full hash of the commit the FS shows.
func (f *FS) Commit() string { return f.commit }

// Close stops the git process that reads blobs and drops the contents it
// read. Whatever needs a blob afterwards (a file's contents, a symlink's
// target) fails with an error wrapping fs.ErrClosed; what the listing
// answers alone (Exists, IsDir, ReadDir, Walk of paths without symlinks)
// keeps working. Close is safe to call twice.
func (f *FS) Close() error {
	err := f.cat.close()
	for _, c := range f.subcats {
		c.close()
	}
	f.cacheMu.Lock()
	f.blobs, f.links, f.cached = map[string][]byte{}, map[string]string{}, 0
	f.cacheMu.Unlock()
	return err
}

// Gitlink reports whether path (absolute, or relative to Root) is a
// submodule at this commit (a gitlink, mode 160000), and the commit it
// records. Symlinks on the way are followed; one at the end is not a
// submodule, whatever it points to.
func (f *FS) Gitlink(path string) (commit string, ok bool) {
	if !filepath.IsAbs(path) {
		path = f.root + string(filepath.Separator) + path
	}
	l, err := f.resolve(path, false)
	if err != nil || (l.n.mode != modeGitlink && !l.n.sub) {
		return "", false
	}
	return l.n.oid, true
}

// Gitlinks lists the path of every gitlink (submodule) in the commit,
// slash-separated and relative to Root, sorted.
func (f *FS) Gitlinks() []string { return slices.Clone(f.gitlinks) }

// Prefetch reads the contents of the files at paths ahead of ReadFile, with
// all the requests to git written at once rather than one round trip per
// file: for the thousands of kustomization files a scan finds, two to three
// times faster (BenchmarkReadFile). It is a hint: paths that do not exist or are directories
// are skipped, what does not fit the cache is not read, and errors are left
// for ReadFile to report.
func (f *FS) Prefetch(paths []string) {
	var want []*node
	seen := map[string]bool{}
	for _, p := range paths {
		l, err := f.resolve(p, true)
		if err != nil || l.isDir() || l.n.size < 0 || seen[l.n.oid] || l.n.cat != nil {
			continue
		}
		seen[l.n.oid] = true
		want = append(want, l.n)
	}
	f.cacheMu.RLock()
	room := maxCached - f.cached
	var oids []string
	for _, n := range want {
		if _, ok := f.blobs[n.oid]; ok || n.size > room {
			continue
		}
		oids = append(oids, n.oid)
		room -= n.size
	}
	f.cacheMu.RUnlock()
	if len(oids) == 0 {
		return
	}
	_ = f.cat.readMany(oids, func(i int, a answer) {
		if a.err == nil {
			f.store(oids[i], a.data)
		}
	})
}

// blob returns the contents of a file: a copy, which the caller may change.
func (f *FS) blob(n *node) ([]byte, error) {
	f.cacheMu.RLock()
	data, ok := f.blobs[n.oid]
	f.cacheMu.RUnlock()
	if ok {
		return bytes.Clone(data), nil
	}
	data, err := f.catOf(n).read(n.oid)
	if err != nil {
		return nil, err
	}
	if f.store(n.oid, data) {
		return bytes.Clone(data), nil
	}
	return data, nil
}

// store keeps data as the contents of oid if the cache has room, and
// reports whether it did.
func (f *FS) store(oid string, data []byte) bool {
	f.cacheMu.Lock()
	defer f.cacheMu.Unlock()
	if _, ok := f.blobs[oid]; ok {
		return true
	}
	if f.cached+int64(len(data)) > maxCached {
		return false
	}
	f.blobs[oid] = data
	f.cached += int64(len(data))
	return true
}

// linkTarget returns the text of the symlink n, read once.
func (f *FS) linkTarget(n *node) (string, error) {
	f.cacheMu.RLock()
	t, ok := f.links[n.oid]
	f.cacheMu.RUnlock()
	if ok {
		return t, nil
	}
	data, err := f.catOf(n).read(n.oid)
	if err != nil {
		return "", err
	}
	t = string(data)
	f.cacheMu.Lock()
	f.links[n.oid] = t
	f.cacheMu.Unlock()
	return t, nil
}
