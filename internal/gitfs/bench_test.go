package gitfs

import (
	"bytes"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// benchDirs is the size of the benchmark repository: as many directories,
// each with a kustomization.yaml and a resource, as a monorepo of 10,000
// roots has.
const benchDirs = 10_000

// benchRepo writes, with git fast-import (seconds faster than files and
// git add), a commit of benchDirs directories apps/svcNNNNN, each with a
// kustomization.yaml and a deploy.yaml, and returns the repository and
// the paths of all their files under it.
func benchRepo(b *testing.B) (string, []string) {
	b.Helper()
	repo := filepath.Join(tempDir(b), "repo")
	initRepo(b, repo)
	var stream bytes.Buffer
	stream.WriteString("commit refs/heads/main\ncommitter t <t@example.com> 946684800 +0000\ndata 5\nbench\n")
	var files []string
	for i := range benchDirs {
		dir := fmt.Sprintf("apps/svc%05d", i)
		for name, data := range map[string]string{
			"kustomization.yaml": fmt.Sprintf("resources:\n- deploy.yaml\nnamePrefix: svc%05d-\n", i),
			"deploy.yaml":        fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: svc%05d\ndata:\n  k: v\n", i),
		} {
			fmt.Fprintf(&stream, "M 100644 inline %s/%s\ndata %d\n%s\n", dir, name, len(data), data)
			files = append(files, repo+"/"+dir+"/"+name)
		}
	}
	cmd := exec.Command("git", "-C", repo, "fast-import", "--quiet")
	cmd.Env = gitEnv()
	cmd.Stdin = &stream
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("git fast-import: %v\n%s", err, out)
	}
	return repo, files
}

// BenchmarkOpen is Open and Close of the 10,000-directory commit: one
// git rev-parse twice and one git ls-tree of 30,000 entries.
func BenchmarkOpen(b *testing.B) {
	repo, _ := benchRepo(b)
	for b.Loop() {
		f, err := Open(repo, "main")
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkReadFile reads the 20,000 files of the commit with a fresh FS
// each time (so every read goes to git): one at a time, from several
// goroutines, and after a Prefetch of them all. An op is all 20,000 reads.
func BenchmarkReadFile(b *testing.B) {
	repo, files := benchRepo(b)
	read := func(b *testing.B, f *FS, files []string) {
		for _, p := range files {
			if _, err := f.ReadFile(p); err != nil {
				b.Fatal(err)
			}
		}
	}
	run := func(b *testing.B, each func(b *testing.B, f *FS)) {
		for b.Loop() {
			b.StopTimer()
			f, err := Open(repo, "main")
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			each(b, f)
			b.StopTimer()
			f.Close()
			b.StartTimer()
		}
	}
	b.Run("serial", func(b *testing.B) {
		run(b, func(b *testing.B, f *FS) { read(b, f, files) })
	})
	b.Run("parallel4", func(b *testing.B) {
		run(b, func(b *testing.B, f *FS) {
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() { read(b, f, files[g*len(files)/4:(g+1)*len(files)/4]) })
			}
			wg.Wait()
		})
	})
	b.Run("prefetched", func(b *testing.B) {
		run(b, func(b *testing.B, f *FS) {
			f.Prefetch(files)
			read(b, f, files)
		})
	})
}

// BenchmarkWalk walks the 10,000-directory commit, as the scanner does.
func BenchmarkWalk(b *testing.B) {
	repo, _ := benchRepo(b)
	f := openFS(b, repo, "main")
	for b.Loop() {
		n := 0
		if err := f.Walk(repo, func(string, fs.FileInfo, error) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != 1+1+3*benchDirs {
			b.Fatalf("walked %d paths", n)
		}
	}
}
