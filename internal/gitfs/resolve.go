package gitfs

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// maxHops is how many symlinks one path may go through, as on Linux
// (MAXSYMLINKS): more, and resolution fails with ELOOP, as a loop does.
const maxHops = 40

// loc is where a path leads: an entry of the tree, or, outside Root, a
// directory above Root or an OS symlink. Outside Root nothing exists; a
// path may only pass through there on its way into Root, as
// "/repo/../repo/x" or "/var/…" on macOS, where /var links to /private/var.
type loc struct {
	rel    string // inside: slash-separated path under Root, "" for Root
	n      *node  // inside: the entry; nil outside Root
	abs    string // outside: the OS path
	osLink string // outside: the target of the OS symlink at abs, if it is one
}

func (l loc) isDir() bool {
	if l.n == nil {
		return l.osLink == ""
	}
	return l.n.mode == modeTree || l.n.mode == modeGitlink
}

func (l loc) isLink() bool {
	if l.n == nil {
		return l.osLink != ""
	}
	return l.n.mode == modeSymlink
}

// resolve walks name one element at a time, as the kernel does: ".." goes
// to the parent of where the walk is, not of the path's text, so
// "link/.." is the parent of the link's target. Symlinks are followed in
// the middle of the path, and at its end if follow is set (stat, not
// lstat); a trailing slash follows and requires a directory. A relative
// name is relative to the working directory, as on disk. The errors are
// the bare causes, as the kernel's: fs.ErrNotExist, syscall.ENOTDIR,
// syscall.ELOOP, or why a symlink could not be read. A loc returned
// without error is inside Root.
func (f *FS) resolve(name string, follow bool) (loc, error) {
	cur, p, err := f.start(name)
	if err != nil {
		return loc{}, err
	}
	for hops := 0; ; {
		var c string
		c, p = nextElem(p)
		switch c {
		case "":
			if cur.n == nil {
				return loc{}, fs.ErrNotExist
			}
			return cur, nil
		case ".":
			continue
		case "..":
			cur = f.parent(cur)
			continue
		}
		next, err := f.child(cur, c)
		if err != nil {
			return loc{}, err
		}
		more := p != "" // a trailing slash counts: "file/" is ENOTDIR
		if next.isLink() && (more || follow) {
			if hops++; hops > maxHops {
				return loc{}, syscall.ELOOP
			}
			target, err := f.readlink(next)
			if err != nil {
				return loc{}, err
			}
			if target == "" {
				return loc{}, fs.ErrNotExist
			}
			if filepath.IsAbs(target) {
				cur = f.top()
			}
			p = target + p // relative: from the link's directory, where cur is
			continue
		}
		if more && !next.isDir() {
			return loc{}, syscall.ENOTDIR
		}
		cur = next
	}
}

// start is where the resolution of name starts, and what of name is left
// to walk from there: the working directory for a relative name, Root for
// a name under it (there are no symlinks above Root to walk through), "/"
// for any other.
func (f *FS) start(name string) (loc, string, error) {
	if name == "" {
		return loc{}, "", fs.ErrNotExist
	}
	p := name
	if !filepath.IsAbs(p) {
		wd, err := os.Getwd()
		if err != nil {
			return loc{}, "", err
		}
		p = wd + "/" + p
	}
	if rest, ok := strings.CutPrefix(p, f.root); ok && f.root != "/" && (rest == "" || rest[0] == '/') {
		return loc{n: f.nodes[""]}, rest, nil
	}
	return f.top(), p, nil
}

// nextElem splits the first element off p: the element, and the rest
// from the separator after it ("" when p ends there). The element is ""
// when only separators are left.
func nextElem(p string) (elem, rest string) {
	p = strings.TrimLeft(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:]
	}
	return p, ""
}

// top is where an absolute path starts: "/".
func (f *FS) top() loc {
	if f.root == "/" {
		return loc{n: f.nodes[""]}
	}
	return loc{abs: "/"}
}

// parent is the directory that contains the directory l ("/" for "/").
func (f *FS) parent(l loc) loc {
	switch {
	case l.n == nil:
		return loc{abs: filepath.Dir(l.abs)}
	case l.rel != "":
		dir := ""
		if i := strings.LastIndexByte(l.rel, '/'); i >= 0 {
			dir = l.rel[:i]
		}
		return loc{rel: dir, n: f.nodes[dir]}
	case f.root == "/":
		return l
	default:
		return loc{abs: filepath.Dir(f.root)}
	}
}

// child is the entry name of directory l. Outside Root, only the
// directories on the way to Root and the OS's symlinks are there.
func (f *FS) child(l loc, name string) (loc, error) {
	if l.n != nil {
		if l.n.mode != modeTree { // a gitlink: an empty directory
			return loc{}, fs.ErrNotExist
		}
		rel := name
		if l.rel != "" {
			rel = l.rel + "/" + name
		}
		n := f.nodes[rel]
		if n == nil {
			return loc{}, fs.ErrNotExist
		}
		return loc{rel: rel, n: n}, nil
	}
	abs := filepath.Join(l.abs, name)
	switch {
	case abs == f.root:
		return loc{n: f.nodes[""]}, nil
	case strings.HasPrefix(f.root, abs+"/"):
		return loc{abs: abs}, nil
	}
	if fi, err := os.Lstat(abs); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if t, err := os.Readlink(abs); err == nil && t != "" {
			return loc{abs: abs, osLink: t}, nil
		}
	}
	return loc{}, fs.ErrNotExist
}

// readlink returns the target of the symlink l.
func (f *FS) readlink(l loc) (string, error) {
	if l.n == nil {
		return l.osLink, nil
	}
	return f.linkTarget(l.n)
}

// osPath is the OS path of l, which is inside Root.
func (f *FS) osPath(l loc) string {
	if l.rel == "" {
		return f.root
	}
	return filepath.Join(f.root, filepath.FromSlash(l.rel))
}

// info describes l, which is inside Root, under name.
func (f *FS) info(l loc, name string) fileInfo {
	i := fileInfo{name: name, size: max(l.n.size, 0)}
	switch l.n.mode {
	case modeTree, modeGitlink:
		i.mode, i.size = fs.ModeDir|0o755, 0
	case modeSymlink:
		i.mode = fs.ModeSymlink | 0o777
	case modeExec:
		i.mode = 0o755
	default:
		i.mode = 0o644
	}
	return i
}
