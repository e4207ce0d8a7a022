package gitfs

import (
	"bytes"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// This file is the filesys.FileSystem interface, with the semantics of
// kustomize's fsOnDisk (os.Stat, os.ReadDir, filepath.Walk,
// filepath.EvalSymlinks, filepath.Glob) over the commit's tree.

// pathErr is the error of op on path: the path quoted, as a name may hold
// a newline; the commit named, as the same path may well exist on disk.
func (f *FS) pathErr(op, path string, err error) error {
	return fmt.Errorf("%s %q at commit %.12s: %w", op, path, f.commit, err)
}

// Create fails: the file system is read-only (ErrReadOnly).
func (f *FS) Create(path string) (filesys.File, error) {
	return nil, f.pathErr("create", path, ErrReadOnly)
}

// Mkdir fails: the file system is read-only (ErrReadOnly).
func (f *FS) Mkdir(path string) error { return f.pathErr("mkdir", path, ErrReadOnly) }

// MkdirAll fails: the file system is read-only (ErrReadOnly).
func (f *FS) MkdirAll(path string) error { return f.pathErr("mkdir", path, ErrReadOnly) }

// RemoveAll fails: the file system is read-only (ErrReadOnly).
func (f *FS) RemoveAll(path string) error { return f.pathErr("remove", path, ErrReadOnly) }

// WriteFile fails: the file system is read-only (ErrReadOnly).
func (f *FS) WriteFile(path string, _ []byte) error {
	return f.pathErr("write", path, ErrReadOnly)
}

// Stat describes the file or directory at path, following symlinks, as
// os.Stat does. A gitlink is an empty directory. The error wraps
// fs.ErrNotExist, syscall.ENOTDIR or syscall.ELOOP as the OS's would.
func (f *FS) Stat(path string) (fs.FileInfo, error) {
	l, err := f.resolve(path, true)
	if err != nil {
		return nil, f.pathErr("stat", path, err)
	}
	return f.info(l, filepath.Base(path)), nil
}

// Lstat is Stat without following a symlink at the end of path: its
// FileInfo has fs.ModeSymlink and the size of the link's text.
func (f *FS) Lstat(path string) (fs.FileInfo, error) {
	l, err := f.resolve(path, false)
	if err != nil {
		return nil, f.pathErr("lstat", path, err)
	}
	return f.info(l, filepath.Base(path)), nil
}

// Readlink returns the text of the symlink at path, as stored. It fails
// with syscall.EINVAL when path is not a symlink, as os.Readlink does.
func (f *FS) Readlink(path string) (string, error) {
	l, err := f.resolve(path, false)
	if err != nil {
		return "", f.pathErr("readlink", path, err)
	}
	if !l.isLink() {
		return "", f.pathErr("readlink", path, syscall.EINVAL)
	}
	t, err := f.readlink(l)
	if err != nil {
		return "", f.pathErr("readlink", path, err)
	}
	return t, nil
}

// Exists reports whether path exists, following symlinks: false for a
// dangling link or a loop, as os.Stat.
func (f *FS) Exists(path string) bool {
	_, err := f.resolve(path, true)
	return err == nil
}

// IsDir reports whether path is a directory, following symlinks. A
// gitlink (submodule) is one.
func (f *FS) IsDir(path string) bool {
	l, err := f.resolve(path, true)
	return err == nil && l.isDir()
}

// ReadFile returns the contents of the file at path, following symlinks,
// as the blob stored in the commit (no checkout filters, no LFS smudge).
// It fails with fs.ErrNotExist and the like as os.ReadFile does, with
// syscall.EISDIR for a directory, and with git's error when the blob
// cannot be read.
func (f *FS) ReadFile(path string) ([]byte, error) {
	l, err := f.resolve(path, true)
	if err != nil {
		return nil, f.pathErr("open", path, err)
	}
	if l.isDir() {
		return nil, f.pathErr("read", path, syscall.EISDIR)
	}
	data, err := f.blob(l.n)
	if err != nil {
		return nil, f.pathErr("read", path, err)
	}
	return data, nil
}

// Open opens the file or directory at path for reading, following
// symlinks. A file's contents are read at Open. The File's Write fails
// with ErrReadOnly; Read on a directory fails with syscall.EISDIR.
func (f *FS) Open(path string) (filesys.File, error) {
	l, err := f.resolve(path, true)
	if err != nil {
		return nil, f.pathErr("open", path, err)
	}
	h := &file{path: path, info: f.info(l, filepath.Base(path))}
	if !l.isDir() {
		data, err := f.blob(l.n)
		if err != nil {
			return nil, f.pathErr("read", path, err)
		}
		h.r = bytes.NewReader(data)
	}
	return h, nil
}

// ReadDir returns the names in the directory at path, sorted, following
// symlinks. A gitlink is an empty directory. It fails with
// syscall.ENOTDIR when path is not a directory.
func (f *FS) ReadDir(path string) ([]string, error) {
	l, err := f.resolve(path, true)
	if err != nil {
		return nil, f.pathErr("open", path, err)
	}
	if !l.isDir() {
		return nil, f.pathErr("readdirent", path, syscall.ENOTDIR)
	}
	return append([]string{}, l.n.kids...), nil
}

// CleanedAbs returns path made absolute, cleaned and with every symlink
// evaluated, as fsOnDisk does (filepath.Abs, then filepath.EvalSymlinks):
// the path itself when it is a directory, else its directory and its
// name. kustomize's load restrictor compares these to a root, so a link
// out of a kustomization's root is seen for what it is. It fails when the
// path does not exist.
func (f *FS) CleanedAbs(path string) (filesys.ConfirmedDir, string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", "", fmt.Errorf("abs path error on %q: %w", path, err)
	}
	l, err := f.resolve(abs, true)
	if err != nil {
		return "", "", f.pathErr("evalsymlinks", path, err)
	}
	p := f.osPath(l)
	if l.isDir() {
		return filesys.ConfirmedDir(p), "", nil
	}
	return filesys.ConfirmedDir(filepath.Dir(p)), filepath.Base(p), nil
}

// Glob returns the paths that match pattern, as filepath.Glob does, and
// without hidden files unless the pattern's last element starts with a
// dot, as fsOnDisk does. It fails only on a malformed pattern.
func (f *FS) Glob(pattern string) ([]string, error) {
	m, err := f.glob(pattern, 0)
	if err != nil || filesys.IsHiddenFilePath(pattern) {
		return m, err
	}
	return filesys.RemoveHiddenFiles(m), nil
}

// glob is filepath.Glob's globWithLimit on this file system.
func (f *FS) glob(pattern string, depth int) ([]string, error) {
	const separatorsLimit = 10000 // against stack exhaustion, CVE-2022-30632
	if depth == separatorsLimit {
		return nil, filepath.ErrBadPattern
	}
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, err
	}
	if !hasMeta(pattern) {
		if _, err := f.resolve(pattern, false); err != nil {
			return nil, nil
		}
		return []string{pattern}, nil
	}
	dir, file := filepath.Split(pattern)
	switch dir {
	case "":
		dir = "."
	case "/":
	default:
		dir = dir[:len(dir)-1]
	}
	if !hasMeta(dir) {
		return f.globDir(dir, file, nil)
	}
	if dir == pattern {
		return nil, filepath.ErrBadPattern
	}
	dirs, err := f.glob(dir, depth+1)
	if err != nil {
		return nil, err
	}
	var m []string
	for _, d := range dirs {
		if m, err = f.globDir(d, file, m); err != nil {
			return m, err
		}
	}
	return m, nil
}

// globDir appends to m the names in dir that match pattern; a dir that is
// not a directory adds none.
func (f *FS) globDir(dir, pattern string, m []string) ([]string, error) {
	names, err := f.ReadDir(dir)
	if err != nil {
		return m, nil
	}
	for _, n := range names {
		ok, err := filepath.Match(pattern, n)
		if err != nil {
			return m, err
		}
		if ok {
			m = append(m, filepath.Join(dir, n))
		}
	}
	return m, nil
}

// hasMeta reports whether path holds a character filepath.Match treats
// specially.
func hasMeta(path string) bool {
	return strings.ContainsAny(path, `*?[\`)
}

// Walk walks the tree under root as filepath.Walk does: in lexical order,
// root included, symlinks reported (with fs.ModeSymlink) and not followed,
// gitlinks as empty directories, filepath.SkipDir and filepath.SkipAll
// honoured, and paths made by filepath.Join with root.
func (f *FS) Walk(root string, fn filepath.WalkFunc) error {
	info, err := f.Lstat(root)
	if err != nil {
		err = fn(root, nil, err)
	} else {
		err = f.walk(root, info, fn)
	}
	if err == filepath.SkipDir || err == filepath.SkipAll {
		return nil
	}
	return err
}

// walk is filepath.Walk's walk, which it mirrors line for line so that
// errors and SkipDir behave identically.
func (f *FS) walk(path string, info fs.FileInfo, fn filepath.WalkFunc) error {
	if !info.IsDir() {
		return fn(path, info, nil)
	}
	names, err := f.ReadDir(path)
	err1 := fn(path, info, err)
	if err != nil || err1 != nil {
		return err1
	}
	for _, name := range names {
		filename := filepath.Join(path, name)
		fileInfo, err := f.Lstat(filename)
		if err != nil {
			if err := fn(filename, fileInfo, err); err != nil && err != filepath.SkipDir {
				return err
			}
			continue
		}
		err = f.walk(filename, fileInfo, fn)
		if err != nil && (!fileInfo.IsDir() || err != filepath.SkipDir) {
			return err
		}
	}
	return nil
}

// fileInfo is an fs.FileInfo of the tree: git keeps no times and no
// permissions beyond the executable bit.
type fileInfo struct {
	name string
	size int64
	mode fs.FileMode
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return i.mode }
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i fileInfo) Sys() any           { return nil }

// file is an open file or directory: a reader over the blob.
type file struct {
	path string
	info fileInfo
	r    *bytes.Reader // nil for a directory
}

// Read reads the file's contents; a directory cannot be read.
func (h *file) Read(p []byte) (int, error) {
	if h.r == nil {
		return 0, &fs.PathError{Op: "read", Path: h.path, Err: syscall.EISDIR}
	}
	return h.r.Read(p)
}

// Write fails: the file system is read-only.
func (h *file) Write([]byte) (int, error) {
	return 0, &fs.PathError{Op: "write", Path: h.path, Err: ErrReadOnly}
}

// Close does nothing: the contents are in memory.
func (h *file) Close() error { return nil }

// Stat describes the file, as Stat on its path would.
func (h *file) Stat() (fs.FileInfo, error) { return h.info, nil }
