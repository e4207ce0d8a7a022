package gitfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// smallRepo commits a few files and returns the repository's directory and
// the commit.
func smallRepo(t *testing.T, entries ...entry) (string, string) {
	t.Helper()
	repo := filepath.Join(tempDir(t), "repo")
	initRepo(t, repo)
	write(t, repo, entries...)
	return repo, commitAll(t, repo)
}

func TestOpen(t *testing.T) {
	repo, commit := smallRepo(t, regular("a.txt", "a\n"), regular("sub/b.txt", "b\n"))
	runGit(t, repo, "tag", "-a", "-m", "annotated", "v1")
	tree := runGit(t, repo, "rev-parse", "HEAD^{tree}")
	blob := runGit(t, repo, "rev-parse", "HEAD:a.txt")
	notRepo := tempDir(t)
	tests := []struct {
		name, dir, rev string
		wantErr        string // "" for success
	}{
		{name: "HEAD", dir: repo, rev: "HEAD"},
		{name: "branch", dir: repo, rev: "main"},
		{name: "short hash", dir: repo, rev: commit[:7]},
		{name: "annotated tag", dir: repo, rev: "v1"},
		{name: "from a subdirectory", dir: filepath.Join(repo, "sub"), rev: "HEAD"},
		{name: "unknown rev", dir: repo, rev: "nope", wantErr: `"nope" is not a commit`},
		{name: "tree", dir: repo, rev: tree, wantErr: strconv.Quote(tree) + " is not a commit"},
		{name: "blob", dir: repo, rev: blob, wantErr: strconv.Quote(blob) + " is not a commit"},
		{name: "option", dir: repo, rev: "--output=x", wantErr: `"--output=x" is not a commit`},
		{name: "empty rev", dir: repo, rev: "", wantErr: "no revision"},
		{name: "not a repository", dir: notRepo, rev: "HEAD", wantErr: "not a git repository"},
		{name: "no such directory", dir: filepath.Join(notRepo, "nope"), rev: "HEAD", wantErr: "git rev-parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Open(tt.dir, tt.rev)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Open(%q, %q) = %v, want an error saying %q", tt.dir, tt.rev, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Root() != repo || f.Commit() != commit {
				t.Errorf("Root(), Commit() = %q, %q; want %q, %q", f.Root(), f.Commit(), repo, commit)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(repo, "x")); err == nil {
		t.Errorf("the rev %q was taken for an option", "--output=x")
	}
}

// TestErrors checks the errors: a missing path's wraps fs.ErrNotExist and
// quotes the path; every write fails with fs.ErrPermission.
func TestErrors(t *testing.T) {
	repo, commit := smallRepo(t, regular("a.txt", "a\n"), regular("dir/b.txt", "b\n"))
	f := openFS(t, repo, "HEAD")
	missing := repo + "/no\nsuch file"
	_, err := f.ReadFile(missing)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), strconv.Quote(missing)) || !strings.Contains(err.Error(), commit[:12]) {
		t.Errorf("ReadFile(missing) = %v, want fs.ErrNotExist naming %q at %s", err, missing, commit[:12])
	}
	for name, err := range map[string]error{
		"ReadDir":  second(f.ReadDir(missing)),
		"Open":     second(f.Open(missing)),
		"Stat":     second(f.Stat(missing)),
		"Readlink": second(f.Readlink(missing)),
	} {
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s(missing) = %v, want fs.ErrNotExist", name, err)
		}
	}
	a := repo + "/a.txt"
	for name, err := range map[string]error{
		"Create":    second(f.Create(a)),
		"Mkdir":     f.Mkdir(repo + "/new"),
		"MkdirAll":  f.MkdirAll(repo + "/new/dir"),
		"RemoveAll": f.RemoveAll(repo + "/dir"),
		"WriteFile": f.WriteFile(a, []byte("x")),
		"File.Write": func() error {
			h, err := f.Open(a)
			if err != nil {
				return err
			}
			defer h.Close()
			return second(h.Write([]byte("x")))
		}(),
	} {
		if !errors.Is(err, fs.ErrPermission) || !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s = %v, want ErrReadOnly", name, err)
		}
	}
	if data, err := os.ReadFile(a); err != nil || string(data) != "a\n" {
		t.Errorf("the file on disk changed: %q, %v", data, err)
	}
	h, err := f.Open(repo + "/dir")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Read(make([]byte, 1)); !errors.Is(err, syscall.EISDIR) {
		t.Errorf("Read on a directory = %v, want EISDIR", err)
	}
	if fi, err := h.Stat(); err != nil || !fi.IsDir() || fi.Name() != "dir" {
		t.Errorf("Stat of an open directory = %v, %v", fi, err)
	}
}

func second[T any](_ T, err error) error { return err }

// objectFile is where git keeps the loose object of path at HEAD.
func objectFile(t *testing.T, repo, path string) string {
	t.Helper()
	oid := runGit(t, repo, "rev-parse", "HEAD:"+path)
	return filepath.Join(repo, ".git", "objects", oid[:2], oid[2:])
}

// TestBrokenObjects checks that a blob git does not have, or cannot read,
// fails the reads of its own path and no other, before and after a
// Prefetch: the listing does not read blobs, and a cat-file that dies on a
// corrupt object is started again.
func TestBrokenObjects(t *testing.T) {
	repo, _ := smallRepo(t,
		regular("a.txt", "alpha\n"),
		regular("deleted.txt", "deleted\n"),
		regular("corrupt.txt", "corrupt, and long enough to be cut short\n"),
		regular("d.txt", "delta\n"),
		symlink("to-a", "a.txt"),
		symlink("to-deleted", "deleted.txt"),
		symlink("gone-link", "./a.txt"),
	)
	for _, p := range []string{"deleted.txt", "gone-link"} {
		if err := os.Remove(objectFile(t, repo, p)); err != nil {
			t.Fatal(err)
		}
	}
	corrupt := objectFile(t, repo, "corrupt.txt")
	data, err := os.ReadFile(corrupt)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(corrupt, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(corrupt, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	f := openFS(t, repo, "HEAD")
	check := func(when string) {
		t.Helper()
		for p, want := range map[string]string{"a.txt": "alpha\n", "d.txt": "delta\n", "to-a": "alpha\n"} {
			if got, err := f.ReadFile(repo + "/" + p); err != nil || string(got) != want {
				t.Errorf("%s: ReadFile(%q) = %q, %v; want %q", when, p, got, err, want)
			}
		}
		for _, p := range []string{"deleted.txt", "to-deleted", "corrupt.txt", "gone-link"} {
			_, err := f.ReadFile(repo + "/" + p)
			if err == nil || errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), strconv.Quote(repo+"/"+p)) {
				t.Errorf("%s: ReadFile(%q) = %v, want an error that is not fs.ErrNotExist", when, p, err)
			}
		}
		if _, err := f.ReadFile(repo + "/deleted.txt"); !errors.Is(err, errMissing) {
			t.Errorf("%s: ReadFile(deleted.txt) = %v, want errMissing", when, err)
		}
		if !f.Exists(repo+"/deleted.txt") || !f.Exists(repo+"/corrupt.txt") || f.Exists(repo+"/gone-link") {
			t.Errorf("%s: Exists answers from the listing, except for a link it cannot read", when)
		}
	}
	check("first reads")
	// The corrupt object first: cat-file dies mid-batch, and the reads after
	// it must start it again.
	f.Prefetch([]string{repo + "/corrupt.txt", repo + "/d.txt", repo + "/deleted.txt", repo + "/a.txt"})
	check("after Prefetch")
}

// TestClose checks that Close ends the git process and reaps it, that a
// second Close is fine, and that contents cannot be read afterwards.
func TestClose(t *testing.T) {
	repo, _ := smallRepo(t, regular("a.txt", "a\n"))
	f, err := Open(repo, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadFile(repo + "/a.txt"); err != nil {
		t.Fatal(err)
	}
	pid := f.cat.p.cmd.Process.Pid
	if err := f.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	// A zombie would still answer signal 0: ESRCH means exited and reaped.
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("after Close, git cat-file (pid %d) is still there: kill -0 = %v", pid, err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
	if _, err := f.ReadFile(repo + "/a.txt"); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("ReadFile after Close = %v, want fs.ErrClosed", err)
	}
	if !f.Exists(repo + "/a.txt") {
		t.Errorf("Exists after Close = false, want true: the listing needs no process")
	}
	unused, err := Open(repo, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	if err := unused.Close(); err != nil || unused.cat.p != nil {
		t.Errorf("Close of an FS that never read = %v", err)
	}
}

// TestReadFileCopies checks that a caller changing what ReadFile returned
// does not change the next read, which comes from the cache.
func TestReadFileCopies(t *testing.T) {
	repo, _ := smallRepo(t, regular("a.txt", "a\n"))
	f := openFS(t, repo, "HEAD")
	for range 2 {
		data, err := f.ReadFile(repo + "/a.txt")
		if err != nil || string(data) != "a\n" {
			t.Fatalf("ReadFile = %q, %v", data, err)
		}
		data[0] = 'X'
	}
}

// TestConcurrent reads, stats, lists and walks from many goroutines at
// once, with a Prefetch in the middle; run with -race.
func TestConcurrent(t *testing.T) {
	var entries []entry
	var files []string
	for d := range 20 {
		for i := range 15 {
			p := fmt.Sprintf("d%02d/f%02d.yaml", d, i)
			entries = append(entries, regular(p, "content of "+p+"\n"))
			files = append(files, p)
		}
		entries = append(entries, symlink(fmt.Sprintf("d%02d/link", d), fmt.Sprintf("../d%02d/f00.yaml", (d+1)%20)))
	}
	repo, _ := smallRepo(t, entries...)
	f := openFS(t, repo, "HEAD")
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				if err := concurrentOp(f, repo, files, g, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		abs := make([]string, len(files))
		for i, p := range files {
			abs[i] = repo + "/" + p
		}
		f.Prefetch(abs)
	})
	wg.Go(func() {
		n := 0
		err := f.Walk(repo, func(string, fs.FileInfo, error) error { n++; return nil })
		if err != nil || n != 1+20+len(files)+20 {
			errs <- fmt.Errorf("Walk saw %d paths, %v", n, err)
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// concurrentOp is the i-th operation of goroutine g in TestConcurrent.
func concurrentOp(f *FS, repo string, files []string, g, i int) error {
	p := files[(g*37+i*11)%len(files)]
	abs := repo + "/" + p
	switch i % 4 {
	case 0:
		if data, err := f.ReadFile(abs); err != nil || string(data) != "content of "+p+"\n" {
			return fmt.Errorf("ReadFile(%q) = %q, %v", p, data, err)
		}
	case 1:
		link := filepath.Join(filepath.Dir(abs), "link")
		if data, err := f.ReadFile(link); err != nil || !strings.HasPrefix(string(data), "content of d") {
			return fmt.Errorf("ReadFile(%q) = %q, %v", link, data, err)
		}
	case 2:
		if !f.Exists(abs) || f.IsDir(abs) || !f.IsDir(filepath.Dir(abs)) || f.IsDir(filepath.Dir(abs)+"/link") {
			return fmt.Errorf("Exists/IsDir(%q) wrong", p)
		}
	default:
		names, err := f.ReadDir(filepath.Dir(abs))
		if err != nil || len(names) != 16 || !slices.Contains(names, filepath.Base(p)) {
			return fmt.Errorf("ReadDir(%q) = %q, %v", filepath.Dir(p), names, err)
		}
		h, err := f.Open(abs)
		if err != nil {
			return err
		}
		defer h.Close()
		if data, err := io.ReadAll(h); err != nil || string(data) != "content of "+p+"\n" {
			return fmt.Errorf("Open(%q) read %q, %v", p, data, err)
		}
	}
	return nil
}

// TestPrefetch checks that Prefetch reads the files it is given, once
// each, and skips what is not a readable file.
func TestPrefetch(t *testing.T) {
	repo, _ := smallRepo(t,
		regular("a.txt", "a\n"), regular("same.txt", "a\n"), regular("dir/b.txt", "b\n"),
		symlink("to-b", "dir/b.txt"), regular("unread.txt", "unread\n"),
	)
	f := openFS(t, repo, "HEAD")
	var paths []string
	for _, p := range []string{"a.txt", "same.txt", "to-b", "dir", "nope", "a.txt"} {
		paths = append(paths, repo+"/"+p)
	}
	f.Prefetch(paths)
	f.cacheMu.RLock()
	n, size := len(f.blobs), f.cached
	f.cacheMu.RUnlock()
	if n != 2 || size != 4 {
		t.Errorf("after Prefetch, %d blobs of %d bytes cached; want a.txt's and b.txt's, 4 bytes", n, size)
	}
	if data, err := f.ReadFile(repo + "/to-b"); err != nil || string(data) != "b\n" {
		t.Errorf("ReadFile(to-b) = %q, %v", data, err)
	}
}
