package gitdiff_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kustomatrix/kustomatrix/internal/gitdiff"
)

// TestChangesAndObjects runs real git on a two-commit history whose
// manifests live in a subdirectory: edits, additions, deletions, a rename
// (both sides), a symlink, and a file outside the subdirectory (named from
// it, "../outside.txt", as a kustomization there would name it);
// then reads both sides' contents back by id with one process.
func TestChangesAndObjects(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(p, c string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("m/a.yaml", "a: 1\n")
	write("m/gone.yaml", "g\n")
	write("m/old-name.yaml", "same content\n")
	write("m/bin", "\x00\x01\n\xff")
	write("outside.txt", "o\n")
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "-m", "base")
	write("m/a.yaml", "a: 1\n\n\nb: 2\n")
	write("m/bin", "\x00\x02\n")
	write("m/new/no-newline", "x")
	write("outside.txt", "changed\n")
	if err := os.Remove(filepath.Join(dir, "m/gone.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.yaml", filepath.Join(dir, "m/link.yaml")); err != nil {
		t.Fatal(err)
	}
	git("mv", "m/old-name.yaml", "m/new-name.yaml")
	git("add", "-A")
	git("commit", "-q", "-m", "head")

	g := gitdiff.Repo{Dir: filepath.Join(dir, "m")}
	changes, err := g.Changes("HEAD~1", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	sides := map[string][2]bool{}
	var ids []string
	for _, c := range changes {
		sides[c.Path] = [2]bool{c.Old != "", c.New != ""}
		for _, id := range []string{c.Old, c.New} {
			if id != "" {
				ids = append(ids, id)
			}
		}
	}
	want := map[string][2]bool{
		"a.yaml": {true, true}, "bin": {true, true}, "gone.yaml": {true, false}, "new/no-newline": {false, true},
		"old-name.yaml": {true, false}, "new-name.yaml": {false, true},
		"link.yaml":      {false, false}, // a symlink is no blob to parse
		"../outside.txt": {true, true},
	}
	if !reflect.DeepEqual(sides, want) {
		t.Fatalf("changes: got %v, want %v", sides, want)
	}
	objs, err := g.Objects(ids)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range changes {
		got[c.Path] = string(objs[c.Old]) + "|" + string(objs[c.New])
	}
	wantContent := map[string]string{
		"a.yaml": "a: 1\n|a: 1\n\n\nb: 2\n", "bin": "\x00\x01\n\xff|\x00\x02\n", "gone.yaml": "g\n|",
		"new/no-newline": "|x", "old-name.yaml": "same content\n|", "new-name.yaml": "|same content\n", "link.yaml": "|",
		"../outside.txt": "o\n|changed\n",
	}
	if !reflect.DeepEqual(got, wantContent) {
		t.Fatalf("contents: got %q, want %q", got, wantContent)
	}
	if _, err := g.Objects([]string{"0123456789012345678901234567890123456789"}); err == nil {
		t.Fatal("a missing object was read")
	}
}
