package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// fileList is the --files input: changed paths as git, a script or a
// person writes them, cleaned into the slash-separated paths relative to
// the repository that the path filters match.
type fileList struct {
	dir string // the repository (--repo), a real path
	top string // the boundary: the git work tree holding dir, else dir
	nul bool   // -z: entries end in NUL, and are never quoted
}

// readFileList reads the --files list (name, or stdin for "-"): one path a
// line, or NUL-separated with -z or when the input holds a NUL (git diff
// -z --name-only). Each path is cleaned: an absolute path inside the
// repository, "./", "a/../b" and "//" all name the same file; a
// git-quoted path ("caf\303\251.yaml", core.quotePath) is unquoted; a
// directory stands for every file below it. A path that matches no file
// in the working tree is said on stderr and kept (a deleted file is a
// change); paths outside the repository (the git work tree holding it)
// are a usage error naming each one: they can match nothing, and a list
// that names them is not the list of this repository's changes.
func readFileList(name string, stdin io.Reader, stderr io.Writer, dir string, nul bool) ([]string, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, usageError("--files: %v", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &exitError{code: exitFailure, err: fmt.Errorf("reading --files: %w", err)}
	}
	l := fileList{dir: dir, top: workTreeTop(dir), nul: nul || bytes.IndexByte(data, 0) >= 0}
	return l.clean(data, stderr)
}

func (l fileList) clean(data []byte, stderr io.Writer) ([]string, error) {
	sep := "\n"
	if l.nul {
		sep = "\x00"
	}
	var files, outside []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	for _, entry := range strings.Split(string(data), sep) {
		if !l.nul {
			// Only a CRLF line end goes: spaces belong to the name (a file
			// may be called "cm.yaml ").
			entry = strings.TrimSuffix(entry, "\r")
			if strings.HasPrefix(entry, `"`) {
				u, err := strconv.Unquote(entry)
				if err != nil {
					return nil, usageError("--files: %s is not a path as git quotes it: %v", entry, err)
				}
				entry = u
			}
		}
		if entry == "" {
			continue
		}
		// No path kustomatrix accepts holds a line break or a control
		// character (a tab aside): such an entry is a list read the wrong
		// way (lines read with -z, say), never a file to match.
		if i := strings.IndexFunc(entry, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }); i >= 0 {
			return nil, usageError("--files: %q holds a control character (%U): not a path kustomatrix can match; one path per line, or NUL-separated with -z", entry, rune(entry[i]))
		}
		rel, abs, ok := l.resolve(entry)
		if !ok {
			outside = append(outside, entry)
			continue
		}
		below, err := filesBelow(abs, rel)
		if err != nil {
			return nil, &exitError{code: exitFailure, err: fmt.Errorf("--files: %q: %w", entry, err)}
		}
		if below == nil {
			fmt.Fprintf(stderr, "kustomatrix: --files: %q matches no file in the working tree (taken as deleted)\n", entry)
			if rel == "." {
				continue
			}
			below = []string{rel}
		}
		for _, p := range below {
			add(p)
		}
	}
	if len(outside) > 0 {
		q := make([]string, len(outside))
		for i, p := range outside {
			q[i] = fmt.Sprintf("%q is outside the repository", p)
		}
		return nil, usageError("--files: %s (%s): give paths relative to --repo, or absolute paths inside it", strings.Join(q, ", "), l.top)
	}
	if files == nil {
		files = []string{}
	}
	return files, nil
}

// resolve cleans one entry: its absolute path, and its path relative to
// the repository (slash-separated, "../" when it leaves --repo for the
// rest of the git work tree); ok is false when it lies outside the work
// tree.
func (l fileList) resolve(entry string) (rel, abs string, ok bool) {
	p := filepath.FromSlash(entry)
	if filepath.IsAbs(p) {
		abs = realPrefix(filepath.Clean(p))
	} else {
		abs = filepath.Join(l.dir, p)
	}
	if up, err := filepath.Rel(l.top, abs); err != nil || up == ".." || strings.HasPrefix(up, ".."+string(filepath.Separator)) {
		return "", "", false
	}
	r, err := filepath.Rel(l.dir, abs)
	if err != nil {
		return "", "", false
	}
	return filepath.ToSlash(r), abs, true
}

// realPrefix resolves the symlinks of the longest part of p that exists
// (the repository reached through a link, /tmp on macOS), keeping the rest.
func realPrefix(p string) string {
	rest := ""
	for cur := p; ; {
		if real, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(real, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return p
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

// filesBelow is what an entry names on disk: the file itself (a symlink
// too: it is the change), or every file below a directory (".git" left
// out), relative to the repository; nil when it names nothing.
func filesBelow(abs, rel string) ([]string, error) {
	fi, err := os.Lstat(abs)
	if err != nil {
		return nil, nil
	}
	if !fi.IsDir() {
		return []string{rel}, nil
	}
	var out []string
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		r, err := filepath.Rel(abs, p)
		if err != nil {
			return err
		}
		out = append(out, pathJoin(rel, filepath.ToSlash(r)))
		return nil
	})
	return out, err
}

func pathJoin(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// workTreeTop is the top of the git work tree holding dir (the nearest
// directory above it with a .git entry), or dir when there is none.
func workTreeTop(dir string) string {
	for cur := dir; ; {
		if _, err := os.Lstat(filepath.Join(cur, ".git")); err == nil {
			return cur
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return dir
		}
		cur = parent
	}
}
