package gitdiff

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// syntheticHistory writes a repository with commits commits on main (each
// changing one of 1,000 manifests) and a branch "feature" of 3 commits off
// main 20 commits before its tip: a pull request's shape. It returns the
// repository, main's tip and feature's tip. git fast-import makes it in
// seconds.
func syntheticHistory(b *testing.B, commits int) (dir, base, head string) {
	b.Helper()
	dir = filepath.Join(b.TempDir(), "origin")
	if out, err := exec.Command("git", "init", "-q", "-b", "main", dir).CombinedOutput(); err != nil {
		b.Fatalf("git init: %v\n%s", err, out)
	}
	var in bytes.Buffer
	commit := func(mark int, ref string, from int, file string, body string) {
		fmt.Fprintf(&in, "commit %s\nmark :%d\ncommitter t <t@example.com> %d +0000\ndata 2\nc\n", ref, mark, 1700000000+mark)
		if from > 0 {
			fmt.Fprintf(&in, "from :%d\n", from)
		}
		fmt.Fprintf(&in, "M 100644 inline %s\ndata %d\n%s\n", file, len(body), body)
	}
	for i := 1; i <= commits; i++ {
		from := i - 1
		commit(i, "refs/heads/main", from, fmt.Sprintf("apps/svc-%03d/deployment.yaml", i%1000),
			fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: svc-%03d}\nspec: {replicas: %d}\n", i%1000, i))
	}
	for j := 1; j <= 3; j++ {
		from := commits + j - 1
		if j == 1 {
			from = commits - 20
		}
		commit(commits+j, "refs/heads/feature", from, "apps/svc-007/deployment.yaml", fmt.Sprintf("feature %d", j))
	}
	cmd := exec.Command("git", "-C", dir, "fast-import", "--quiet")
	cmd.Stdin = &in
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("fast-import: %v\n%s", err, out)
	}
	rev := func(r string) string {
		out, err := exec.Command("git", "-C", dir, "rev-parse", r).Output()
		if err != nil {
			b.Fatal(err)
		}
		return string(bytes.TrimSpace(out))
	}
	return dir, rev("main"), rev("feature")
}

// BenchmarkPlanCheckout compares the plan job's checkout on a repository
// with 20,000 commits (override with KUSTOMATRIX_BENCH_COMMITS): the whole
// history (fetch-depth: 0, what the plan job did) against 2 commits plus
// what Resolve fetches on demand to find a pull request's merge base.
// Served over file:// with --no-local, so git packs and transfers objects
// as it would from a remote.
func BenchmarkPlanCheckout(b *testing.B) {
	commits := 20000
	if n, err := fmt.Sscan(os.Getenv("KUSTOMATRIX_BENCH_COMMITS"), &commits); n != 1 || err != nil {
		commits = 20000
	}
	origin, base, head := syntheticHistory(b, commits)
	url := "file://" + origin
	clone := func(b *testing.B, args ...string) string {
		dst := filepath.Join(b.TempDir(), "clone")
		if out, err := exec.Command("git", append(append([]string{"clone", "-q", "--no-local", "--branch", "feature"}, args...), url, dst)...).CombinedOutput(); err != nil {
			b.Fatalf("clone: %v\n%s", err, out)
		}
		return dst
	}
	b.Run(fmt.Sprintf("commits=%d/full-history", commits), func(b *testing.B) {
		for range b.N {
			dst := clone(b)
			if _, err := (Repo{Dir: dst}).Resolve(base, head, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("commits=%d/depth-2-fetch-on-demand", commits), func(b *testing.B) {
		for range b.N {
			dst := clone(b, "--depth", "2")
			rg, err := Repo{Dir: dst, Fetch: true}.Resolve(base, head, false)
			if err != nil || rg.From == "" {
				b.Fatal(rg, err)
			}
		}
	})
}
