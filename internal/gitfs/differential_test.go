package gitfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// fakeGitlink is the commit a gitlink made with update-index records: one
// this repository does not have, as often with a submodule.
const fakeGitlink = "0123456789abcdef0123456789abcdef01234567"

// shapes is a repository with every shape of path the package must
// handle, committed, and the same commit checked out elsewhere.
type shapes struct {
	tmp      string // holds repo, checkout and subrepo
	repo     string // the repository, and the FS's Root
	checkout string // a worktree of the commit
	sub      string // the commit the submodule "sub" records
}

// shapeEntries are the files and symlinks of the shapes repository;
// repo and tmp are where it and its parent are.
func shapeEntries(tmp, repo string) []entry {
	return []entry{
		regular("..file.txt", "dot dot\n"),
		regular("with space.txt", "space\n"),
		regular("paren (1).yaml", "paren: 1\n"),
		regular("release: notes.txt", "notes\n"),
		regular("#hash.txt", "hash\n"),
		regular(`quote"s'.txt`, "quotes\n"),
		regular("-leading.txt", "dash\n"),
		regular("new\nline.txt", "newline\n"),
		regular("tab\there.txt", "tab\n"),
		regular(`back\slash.txt`, "backslash\n"),
		regular("ünïcödé.txt", "unicode\n"),
		regular("\xff\xfe-latin1.txt", "not utf-8\n"),
		regular(".hidden", "hidden\n"),
		regular("a.b", "a.b\n"),
		regular("a-b", "a-b\n"),
		regular("a/x", "a/x\n"),
		regular("dir/sub/deep.txt", "deep\n"),
		regular("dir/.hidden/inner.txt", "inner\n"),
		regular("dir/file.yaml", "file: yaml\n"),
		regular("dir with space/(parens)/file.txt", "nested\n"),
		regular("empty.txt", ""),
		executable("exec.sh", "#!/bin/sh\necho hi\n"),
		regular("shared/kustomization.yaml", "resources:\n- cm.yaml\n"),
		regular("app/cm.yaml", "kind: ConfigMap\n"),
		symlink("app/kustomization.yaml", "../shared/kustomization.yaml"),
		symlink("lfile", "dir/sub/deep.txt"),
		symlink("ldir", "dir"),
		symlink("ldir-slash", "dir/"),
		symlink("chain1", "chain2"),
		symlink("chain2", "chain3"),
		symlink("chain3", "lfile"),
		symlink("abs-in", repo+"/dir/sub/deep.txt"),
		symlink("abs-dir", repo+"/dir"),
		symlink("abs-out", tmp+"/outside-missing.txt"),
		symlink("dangling", "nope"),
		symlink("loop1", "loop2"),
		symlink("loop2", "loop1"),
		symlink("self", "self"),
		symlink("escape", "../../escape-missing"),
		symlink("dir/up", ".."),
		symlink("dir/sub/back", "../../dir"),
		symlink("dir/sub/ldeep", "../../ldir/sub"),
		symlink("link (weird): name", "..file.txt"),
		symlink("lsub", "sub"),
		symlink("lexec", "exec.sh"),
		symlink("ldotdot", "dir/sub/../../lfile"),
		symlink("lhidden", ".hidden"),
		symlink("lfile-slash", "lfile/"),
		symlink("dir/lparent", "../dir"),
	}
}

// newShapes builds the shapes repository: a real submodule "sub", a
// gitlink "vendor/fake" to a commit that is nowhere, a commit of it all and
// a worktree of that commit, where both gitlinks are empty directories.
func newShapes(t testing.TB) *shapes {
	t.Helper()
	s := &shapes{tmp: tempDir(t)}
	s.repo = filepath.Join(s.tmp, "repo")
	s.checkout = filepath.Join(s.tmp, "checkout")
	subrepo := filepath.Join(s.tmp, "subrepo")
	initRepo(t, subrepo)
	write(t, subrepo, regular("in-sub.txt", "sub\n"))
	s.sub = commitAll(t, subrepo)

	initRepo(t, s.repo)
	write(t, s.repo, shapeEntries(s.tmp, s.repo)...)
	runGit(t, s.repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", subrepo, "sub")
	runGit(t, s.repo, "add", "-A")
	// After add -A, which would stage the gitlink's deletion: it has no directory.
	runGit(t, s.repo, "update-index", "--add", "--cacheinfo", "160000,"+fakeGitlink+",vendor/fake")
	runGit(t, s.repo, "commit", "-q", "-m", "shapes")
	// Absolute links lead the checkout into the repository's working tree,
	// which must then look like a checkout too: the uninitialised submodule
	// is an empty directory.
	if err := os.MkdirAll(filepath.Join(s.repo, "vendor", "fake"), 0o755); err != nil {
		t.Fatal(err)
	}
	runGit(t, s.repo, "worktree", "add", "-q", "--detach", s.checkout, "HEAD")
	return s
}

// leaves reports whether rel, in the checkout, leads out of it and of the
// repository: as the OS resolves it ("dir/up/.." does, dir/up linking to
// the root) or as CleanedAbs cleans it first ("../x/..").
func (s *shapes) leaves(rel string) bool {
	inside := func(p string) bool {
		for _, root := range []string{s.checkout, s.repo} {
			if p == root || strings.HasPrefix(p, root+"/") {
				return true
			}
		}
		return false
	}
	p := s.checkout + "/" + rel // not Join: it would drop "up/.."
	r, err := filepath.EvalSymlinks(p)
	return !inside(filepath.Clean(p)) || err == nil && !inside(r)
}

// probes are the paths, relative to the root, the differential test asks
// both file systems about: every path of the tree, each with suffixes that
// need a directory or climb out of it, and paths through symlinks.
func probes(t testing.TB, f *FS) []string {
	t.Helper()
	var all []string
	for rel := range f.nodes {
		for _, suffix := range []string{"", "/", "/.", "/..", "/x", "/deep.txt", "//file.yaml"} {
			all = append(all, rel+suffix)
		}
	}
	all = append(all,
		"ldir/sub/deep.txt", "ldir/../lfile", "ldir/../ldir/./file.yaml",
		"dir/sub/ldeep/deep.txt", "dir/sub/ldeep/../deep.txt", "dir/sub/ldeep/../file.yaml",
		"dir/up/lfile", "dir/up/dir/up/dir/up/..file.txt", "dir/sub/back/sub/back/file.yaml",
		"abs-dir/sub/deep.txt", "abs-dir/../exec.sh", "chain1/", "nope", "nope/", "self/x", "loop1/x",
		"ldir-slash/file.yaml", "lsub/x", "dir/lparent/lparent/lparent/file.yaml",
		"escape/x", "abs-out/",
	)
	slices.Sort(all)
	return slices.Compact(all)
}

// errClass names the kind of err as the tests compare them: the OS and
// this package word errors differently, but fail for the same reasons.
func errClass(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, fs.ErrNotExist):
		return "ENOENT"
	case errors.Is(err, syscall.ENOTDIR):
		return "ENOTDIR"
	case errors.Is(err, syscall.ELOOP), strings.Contains(err.Error(), "EvalSymlinks: too many links"):
		return "ELOOP"
	case errors.Is(err, syscall.EISDIR):
		return "EISDIR"
	case errors.Is(err, syscall.EINVAL):
		return "EINVAL"
	}
	return "other: " + err.Error()
}

// observe describes everything a file system says about one path, with
// hide replacing the paths of the checkout and the repository (where
// absolute links point) so that both sides compare. lstat and readlink are
// the os package's or the FS's.
func observe(fsys filesys.FileSystem, lstat func(string) (fs.FileInfo, error), readlink func(string) (string, error), hide *strings.Replacer, root, rel string) []string {
	p := root + "/" + rel
	if rel == "" {
		p = root
	}
	var obs []string
	add := func(format string, args ...any) { obs = append(obs, fmt.Sprintf(format, args...)) }
	add("exists=%v isdir=%v", fsys.Exists(p), fsys.IsDir(p))
	data, err := fsys.ReadFile(p)
	add("readfile=%q %s", data, errClass(err))
	names, err := fsys.ReadDir(p)
	names = slices.DeleteFunc(names, func(n string) bool { return n == ".git" })
	add("readdir=%q %s", names, errClass(err))
	d, name, err := fsys.CleanedAbs(p)
	add("cleanedabs=%q %q %s", hide.Replace(string(d)), name, errClass(err))
	fi, err := lstat(p)
	if err == nil {
		add("lstat: %s", hide.Replace(describe(fi)))
	} else {
		add("lstat: %s", errClass(err))
	}
	target, err := readlink(p)
	add("readlink=%q %s", hide.Replace(target), errClass(err))
	return obs
}

// describe is what of a FileInfo both file systems agree on: the kind, the
// executable bit, and the size of a file or a link's text.
func describe(fi fs.FileInfo) string {
	m := fi.Mode()
	switch {
	case m&fs.ModeSymlink != 0:
		return fmt.Sprintf("%s symlink size=%d", fi.Name(), fi.Size())
	case m.IsDir():
		return fi.Name() + " dir"
	}
	return fmt.Sprintf("%s file size=%d exec=%v", fi.Name(), fi.Size(), m&0o111 != 0)
}

// walkLog records a Walk from root+"/"+rel: each path relative to root,
// with what its FileInfo says, skipping the checkout's .git.
func walkLog(fsys filesys.FileSystem, root, rel string) []string {
	var log []string
	start := filepath.Join(root, rel)
	err := fsys.Walk(start, func(p string, fi fs.FileInfo, err error) error {
		r := strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
		switch {
		case filepath.Base(r) == ".git" && fi != nil && fi.IsDir():
			return filepath.SkipDir
		case filepath.Base(r) == ".git":
			return nil
		case err != nil:
			log = append(log, fmt.Sprintf("%q %s", r, errClass(err)))
		case p == root:
			log = append(log, fmt.Sprintf("%q root: %v", r, fi.IsDir()))
		default:
			log = append(log, fmt.Sprintf("%q %s", r, describe(fi)))
		}
		return nil
	})
	return append(log, "walk: "+errClass(err))
}

// globLog is Glob of root+"/"+pattern, relative to root, without the
// checkout's .git.
func globLog(fsys filesys.FileSystem, root, pattern string) string {
	m, err := fsys.Glob(root + "/" + pattern)
	var rels []string
	for _, p := range m {
		if r := strings.TrimPrefix(p, root+"/"); r != ".git" {
			rels = append(rels, r)
		}
	}
	return fmt.Sprintf("%q %s", rels, errClass(err))
}

// TestDifferential compares the FS of a commit with kustomize's file
// system on disk over a checkout of that commit, path by path.
func TestDifferential(t *testing.T) {
	s := newShapes(t)
	f := openFS(t, s.repo, "HEAD")
	disk := filesys.MakeFsOnDisk()
	hide := strings.NewReplacer(s.checkout, "<root>", s.repo, "<root>", "checkout dir", "<root> dir", "repo dir", "<root> dir")
	paths := probes(t, f)
	if len(paths) < 400 {
		t.Fatalf("only %d probes: the repository lost entries", len(paths))
	}
	for _, rel := range paths {
		if s.leaves(rel) {
			continue // outside Root nothing exists: see TestOutsideRoot
		}
		want := observe(disk, os.Lstat, os.Readlink, hide, s.checkout, rel)
		got := observe(f, f.Lstat, f.Readlink, hide, s.repo, rel)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("path %q: disk (-) and gitfs (+) differ:\n%s", rel, d)
		}
	}
	for _, rel := range []string{"", "dir", "ldir", "dir/sub/ldeep/..", "sub", "vendor", "nope", "lfile", "loop1"} {
		want, got := walkLog(disk, s.checkout, rel), walkLog(f, s.repo, rel)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("Walk(%q): disk (-) and gitfs (+) differ:\n%s", rel, d)
		}
	}
	for _, pattern := range []string{
		"*", "*/*", "*/*/*", ".*", "dir/*", "ldir/*", "ldir/sub/*", "*.txt", "[a-d]*", "l*/*",
		"sub/*", "vendor/*", "..file.txt", "nope", "dangling", "*/sub/*", "dir/sub/ldeep/*",
		`\#hash.txt`, "?.b", "dir/.*", "*/.hidden/*", "[", "dir/[",
	} {
		want, got := globLog(disk, s.checkout, pattern), globLog(f, s.repo, pattern)
		if want != got {
			t.Errorf("Glob(%q): disk %s, gitfs %s", pattern, want, got)
		}
	}
}

// TestDifferentialRelative compares relative paths, which both file
// systems take from the working directory.
func TestDifferentialRelative(t *testing.T) {
	s := newShapes(t)
	f := openFS(t, s.repo, "HEAD")
	rels := []string{"", ".", "./lfile", "dir/sub/deep.txt", "ldir/../lfile", "dir/up/..file.txt", "nope", "sub"}
	want := map[string][]string{}
	t.Chdir(s.checkout)
	disk := filesys.MakeFsOnDisk()
	for _, rel := range rels {
		want[rel] = observeRelative(disk, s.checkout, rel)
	}
	t.Chdir(s.repo)
	for _, rel := range rels {
		if d := cmp.Diff(want[rel], observeRelative(f, s.repo, rel)); d != "" {
			t.Errorf("relative path %q: disk (-) and gitfs (+) differ:\n%s", rel, d)
		}
	}
}

func observeRelative(fsys filesys.FileSystem, root, rel string) []string {
	data, err := fsys.ReadFile(rel)
	d, name, cerr := fsys.CleanedAbs(rel)
	m, gerr := fsys.Glob(rel + "*")
	return []string{
		fmt.Sprintf("glob=%q %s", slices.DeleteFunc(m, func(p string) bool { return filepath.Base(p) == ".git" }), errClass(gerr)),
		fmt.Sprintf("exists=%v isdir=%v", fsys.Exists(rel), fsys.IsDir(rel)),
		fmt.Sprintf("readfile=%q %s", data, errClass(err)),
		fmt.Sprintf("cleanedabs=%q %q %s", strings.ReplaceAll(string(d), root, "<root>"), name, errClass(cerr)),
	}
}

// TestGitlinks checks that submodules are gitlinks, empty directories.
func TestGitlinks(t *testing.T) {
	s := newShapes(t)
	f := openFS(t, s.repo, "HEAD")
	if got, want := f.Gitlinks(), []string{"sub", "vendor/fake"}; !slices.Equal(got, want) {
		t.Errorf("Gitlinks() = %q, want %q", got, want)
	}
	tests := []struct {
		path, commit string
		ok           bool
	}{
		{"sub", s.sub, true},
		{s.repo + "/sub", s.sub, true},
		{"vendor/fake", fakeGitlink, true},
		{"ldir/../vendor/fake", fakeGitlink, true},
		{"lsub", "", false}, // a symlink to a submodule is not one
		{"dir", "", false},
		{"lfile", "", false},
		{"nope", "", false},
	}
	for _, tt := range tests {
		commit, ok := f.Gitlink(tt.path)
		if commit != tt.commit || ok != tt.ok {
			t.Errorf("Gitlink(%q) = %q, %v; want %q, %v", tt.path, commit, ok, tt.commit, tt.ok)
		}
	}
	if names, err := f.ReadDir(s.repo + "/sub"); err != nil || names == nil || len(names) != 0 {
		t.Errorf("ReadDir(sub) = %q, %v; want an empty directory", names, err)
	}
	if !f.IsDir(s.repo + "/lsub") {
		t.Errorf("IsDir(lsub) = false, want true")
	}
}

// TestOutsideRoot checks the one way the FS departs from disk: outside
// Root nothing exists, even where something does on disk; but a path may
// pass through the directories above Root, and the OS's symlinks there, on
// its way in.
func TestOutsideRoot(t *testing.T) {
	tmp := tempDir(t)
	repo := filepath.Join(tmp, "repo")
	initRepo(t, repo)
	write(t, tmp, regular("outside.txt", "outside\n"), symlink("alias", "repo"))
	write(t, repo,
		regular("in.txt", "in\n"),
		symlink("abs-out", tmp+"/outside.txt"),
		symlink("escape", "../outside.txt"),
		symlink("rootup", ".."),
		symlink("back-in", "../repo/in.txt"),
		symlink("via-alias", tmp+"/alias/in.txt"),
	)
	commitAll(t, repo)
	f := openFS(t, repo, "HEAD")
	disk := filesys.MakeFsOnDisk()
	tests := []struct {
		path       string
		disk, gitf bool
	}{
		{repo + "/abs-out", true, false},
		{repo + "/escape", true, false},
		{repo + "/rootup", true, false},
		{tmp, true, false},
		{"/", true, false},
		{tmp + "/outside.txt", true, false},
		{repo, true, true},
		{repo + "/back-in", true, true},
		{repo + "/via-alias", true, true},
		{repo + "/../repo/in.txt", true, true},
		{repo + "/rootup/repo/in.txt", true, true},
		{tmp + "/alias/in.txt", true, true},
		{tmp + "/alias/../repo/in.txt", true, true},
		{tmp + "/nope/../repo/in.txt", false, false},
	}
	for _, tt := range tests {
		if got := disk.Exists(tt.path); got != tt.disk {
			t.Errorf("disk: Exists(%q) = %v, want %v", tt.path, got, tt.disk)
		}
		if got := f.Exists(tt.path); got != tt.gitf {
			t.Errorf("gitfs: Exists(%q) = %v, want %v", tt.path, got, tt.gitf)
		}
		if _, err := f.ReadFile(tt.path); !tt.gitf && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("gitfs: ReadFile(%q) = %v, want fs.ErrNotExist", tt.path, err)
		}
	}
	d, name, err := f.CleanedAbs(tmp + "/alias/in.txt")
	if err != nil || string(d) != repo || name != "in.txt" {
		t.Errorf("CleanedAbs(alias/in.txt) = %q, %q, %v; want %q, %q", d, name, err, repo, "in.txt")
	}
}

// TestContents checks file contents byte for byte against the files that
// were committed, and the FileInfo of an opened file.
func TestContents(t *testing.T) {
	s := newShapes(t)
	f := openFS(t, s.repo, "HEAD")
	for _, e := range shapeEntries(s.tmp, s.repo) {
		if e.link {
			continue
		}
		p := s.repo + "/" + e.path
		got, err := f.ReadFile(p)
		if err != nil || !bytes.Equal(got, []byte(e.data)) {
			t.Errorf("ReadFile(%q) = %q, %v; want %q", e.path, got, err, e.data)
		}
		h, err := f.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(h); err != nil || buf.String() != e.data {
			t.Errorf("Open(%q) read %q, %v; want %q", e.path, buf.String(), err, e.data)
		}
		fi, err := h.Stat()
		if err != nil || fi.Size() != int64(len(e.data)) || fi.IsDir() || (fi.Mode()&0o111 != 0) != e.exec {
			t.Errorf("Open(%q).Stat() = %s, %v", e.path, describe(fi), err)
		}
		h.Close()
	}
}

// FuzzDifferential asks both file systems about any path under the root
// (one that does not lead out of it, nor trips limits only the OS has).
func FuzzDifferential(fz *testing.F) {
	for _, seed := range []string{"ldir/../lfile", "dir/sub/ldeep/../file.yaml", "chain1/", "sub/.", "a/../a.b", "dir/up/dir/lparent//sub/back/"} {
		fz.Add(seed)
	}
	s := newShapes(fz)
	f := openFS(fz, s.repo, "HEAD")
	disk := filesys.MakeFsOnDisk()
	hide := strings.NewReplacer(s.checkout, "<root>", s.repo, "<root>", "checkout dir", "<root> dir", "repo dir", "<root> dir")
	fz.Fuzz(func(t *testing.T, rel string) {
		if strings.ContainsRune(rel, 0) || len(rel) > 512 || slices.ContainsFunc(strings.Split(rel, "/"), func(e string) bool { return len(e) > 200 }) || s.leaves(rel) {
			t.Skip()
		}
		want := observe(disk, os.Lstat, os.Readlink, hide, s.checkout, rel)
		got := observe(f, f.Lstat, f.Readlink, hide, s.repo, rel)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("path %q: disk (-) and gitfs (+) differ:\n%s", rel, d)
		}
	})
}
