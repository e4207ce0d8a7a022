package release

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func projectRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// scriptDigest runs the shell implementation, the one the action runs.
func scriptDigest(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("bash", filepath.Join(projectRoot(t), "hack", "release", "tree-digest.sh"), dir).Output()
	if err != nil {
		t.Fatalf("tree-digest.sh %s: %v", dir, err)
	}
	return strings.TrimSpace(string(out))
}

func mustDigest(t *testing.T, dir string) string {
	t.Helper()
	d, err := TreeDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// sampleTree has names whose order differs between bytewise and
// path-component sorting ("a-b" < "a/b" < "a0"), spaces and dot files.
func sampleTree(t *testing.T) string {
	dir := t.TempDir()
	for rel, content := range map[string]string{
		"a-b":                  "1",
		"a/b":                  "2",
		"a0":                   "3",
		"with space/f.txt":     "4",
		".hidden":              "5",
		"hack/release/VERSION": "v1.0.0\n",
		"empty":                "",
	} {
		write(t, dir, rel, content)
	}
	return dir
}

func TestTreeDigestMatchesScript(t *testing.T) {
	dir := sampleTree(t)
	if got, want := mustDigest(t, dir), scriptDigest(t, dir); got != want {
		t.Fatalf("Go digest %s, tree-digest.sh %s", got, want)
	}
	// The project itself, as a commit of it would hold it.
	cp := t.TempDir()
	if err := CopyTree(projectRoot(t), cp); err != nil {
		t.Fatal(err)
	}
	if got, want := mustDigest(t, cp), scriptDigest(t, cp); got != want {
		t.Fatalf("project copy: Go digest %s, tree-digest.sh %s", got, want)
	}
}

func TestTreeDigestStableAndSensitive(t *testing.T) {
	base := mustDigest(t, sampleTree(t))
	if again := mustDigest(t, sampleTree(t)); again != base {
		t.Fatalf("two identical trees: %s, %s", base, again)
	}
	for name, tc := range map[string]struct {
		edit func(t *testing.T, dir string)
		same bool
	}{
		"one byte changed":  {edit: func(t *testing.T, d string) { write(t, d, "a/b", "3") }},
		"byte appended":     {edit: func(t *testing.T, d string) { write(t, d, "a0", "3\n") }},
		"file added":        {edit: func(t *testing.T, d string) { write(t, d, "a/c", "") }},
		"empty file added":  {edit: func(t *testing.T, d string) { write(t, d, "z", "") }},
		"file removed":      {edit: func(t *testing.T, d string) { os.Remove(filepath.Join(d, "empty")) }},
		"file renamed":      {edit: func(t *testing.T, d string) { os.Rename(filepath.Join(d, "a0"), filepath.Join(d, "a1")) }},
		"contents swapped":  {edit: func(t *testing.T, d string) { write(t, d, "a-b", "3"); write(t, d, "a0", "1") }},
		"version changed":   {edit: func(t *testing.T, d string) { write(t, d, "hack/release/VERSION", "v1.0.1\n") }},
		"sums file written": {edit: func(t *testing.T, d string) { write(t, d, SumsFile, "x") }, same: true},
		"dist written":      {edit: func(t *testing.T, d string) { write(t, d, "dist/kustomatrix_linux_amd64", "x") }, same: true},
		".git written":      {edit: func(t *testing.T, d string) { write(t, d, ".git/HEAD", "x") }, same: true},
		"empty dir added":   {edit: func(t *testing.T, d string) { os.MkdirAll(filepath.Join(d, "nothing"), 0o755) }, same: true},
	} {
		t.Run(name, func(t *testing.T) {
			dir := sampleTree(t)
			tc.edit(t, dir)
			got := mustDigest(t, dir)
			if (got == base) != tc.same {
				t.Fatalf("digest %s after the edit, %s before (want same=%t)", got, base, tc.same)
			}
			if s := scriptDigest(t, dir); s != got {
				t.Fatalf("tree-digest.sh says %s, Go %s", s, got)
			}
		})
	}
	dir := sampleTree(t)
	if err := os.Symlink("a0", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := TreeDigest(dir); err == nil {
		t.Fatal("a tree with a symbolic link has a digest")
	}
	if err := exec.Command("bash", filepath.Join(projectRoot(t), "hack", "release", "tree-digest.sh"), dir).Run(); err == nil {
		t.Fatal("tree-digest.sh gave a digest to a tree with a symbolic link")
	}
}

func TestParseSums(t *testing.T) {
	h := strings.Repeat("ab", 32)
	got, err := ParseSums([]byte(h + "  kustomatrix_linux_amd64\n" + h + "  source-tree\n"))
	if err != nil || got["kustomatrix_linux_amd64"] != h || got[TreeLine] != h || len(got) != 2 {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{h + " one-space\n", "abc  short\n", h + "  x\n" + h + "  x\n", strings.ToUpper(h) + "  upper\n"} {
		if _, err := ParseSums([]byte(bad)); err == nil {
			t.Errorf("ParseSums(%q) accepted", bad)
		}
	}
}

// TestReproducibleBuild builds the release for this platform twice, from
// copies of the tree at different paths and with separate build caches (the
// second one empty), and compares the bytes.
func TestReproducibleBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: two release builds")
	}
	platform := runtime.GOOS + "/" + runtime.GOARCH
	// Both copies first: the tree must be the same for both builds.
	var dirs []string
	for i := range 2 {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("copy-%d", i))
		if err := CopyTree(projectRoot(t), dir); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(dir, SumsFile))
		dirs = append(dirs, dir)
	}
	var bins [][]byte
	var sums []string
	for i, dir := range dirs {
		var env []string
		if i == 1 {
			env = append(env, "GOCACHE="+t.TempDir())
		}
		if out, err := Build(dir, env, platform); err != nil {
			t.Fatal(err)
		} else {
			t.Logf("build %d:\n%s", i, out)
		}
		bin, err := os.ReadFile(filepath.Join(dir, "dist", HostAsset()))
		if err != nil {
			t.Fatal(err)
		}
		bins = append(bins, bin)
		// One platform: the sums go to dist/ only (a release lists all four).
		if _, err := os.Stat(filepath.Join(dir, SumsFile)); !os.IsNotExist(err) {
			t.Fatalf("a one-platform build wrote %s: %v", SumsFile, err)
		}
		committed, err := os.ReadFile(filepath.Join(dir, "dist", "SHA256SUMS"))
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, string(committed))
		parsed, err := ParseSums(committed)
		if err != nil {
			t.Fatal(err)
		}
		if want := mustDigest(t, dir); parsed[TreeLine] != want {
			t.Fatalf("the sums record tree %s, the tree's digest is %s", parsed[TreeLine], want)
		}
		if got, _ := FileSum(filepath.Join(dir, "dist", HostAsset())); parsed[HostAsset()] != got {
			t.Fatalf("the sums record %s for %s, its SHA-256 is %s", parsed[HostAsset()], HostAsset(), got)
		}
		version, _ := os.ReadFile(filepath.Join(dir, VersionFile))
		out, err := exec.Command(filepath.Join(dir, "dist", HostAsset()), "version").Output()
		if err != nil || !strings.Contains(string(out), "version: "+strings.TrimSpace(string(version))+"\n") {
			t.Fatalf("the release binary's version: %v\n%s", err, out)
		}
	}
	if !bytes.Equal(bins[0], bins[1]) {
		t.Fatalf("two builds of the same tree differ (%d and %d bytes)", len(bins[0]), len(bins[1]))
	}
	if sums[0] != sums[1] {
		t.Fatalf("two builds wrote different sums:\n%s\n%s", sums[0], sums[1])
	}
}

// TestCommittedSums takes the release commit the tree's sums come from
// (the newest commit that changed them: later commits, which move the pin,
// are not release trees), checks that the sums record that commit's tree,
// rebuilds this platform's binary from it and compares the bytes with the
// committed sum. Before the first release there are no sums: the root
// action builds from source.
func TestCommittedSums(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a release build")
	}
	root := projectRoot(t)
	if _, err := os.Stat(filepath.Join(root, SumsFile)); os.IsNotExist(err) {
		t.Skip("no " + SumsFile + ": no release yet (README: Installing the tool)")
	}
	commit, err := LastReleaseCommit(root)
	if err != nil {
		t.Skipf("no git history to find the release commit in: %v", err)
	}
	if commit == "" {
		t.Fatalf("%s exists but no commit of the history holds it: commit it (README: Cutting a release)", SumsFile)
	}
	dir := filepath.Join(t.TempDir(), "release")
	if err := ExtractCommit(root, commit, dir); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, SumsFile))
	if err != nil {
		t.Fatal(err)
	}
	sums, err := ParseSums(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := scriptDigest(t, dir); sums[TreeLine] != got {
		t.Fatalf("%s at the release commit %s records tree %s, the commit's tree is %s: the sums were written for another tree", SumsFile, commit, sums[TreeLine], got)
	}
	if _, err := Build(dir, nil, runtime.GOOS+"/"+runtime.GOARCH); err != nil {
		t.Fatal(err)
	}
	got, err := FileSum(filepath.Join(dir, "dist", HostAsset()))
	if err != nil {
		t.Fatal(err)
	}
	if got != sums[HostAsset()] {
		t.Fatalf("a fresh build of %s at %s has SHA-256 %s, %s records %s", HostAsset(), commit, got, SumsFile, sums[HostAsset()])
	}
	// The release workflow's own check, for this platform.
	check := exec.Command("bash", filepath.Join(dir, "hack", "release.sh"), "--check", runtime.GOOS+"/"+runtime.GOARCH)
	check.Dir = dir
	if out, err := check.CombinedOutput(); err != nil || !strings.Contains(string(out), "the build reproduces "+SumsFile) {
		t.Fatalf("hack/release.sh --check %s/%s at %s: %v\n%s", runtime.GOOS, runtime.GOARCH, commit, err, out)
	}
}
