package generator

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteIsAllOrNothing: when one file cannot be staged, no file is
// replaced or created, no directory is left behind, and no temporary
// file. The failure is a name whose temporary file is too long for the
// file system (which stops root too); a read-only directory, for others.
func TestWriteIsAllOrNothing(t *testing.T) {
	long := strings.Repeat("n", 245) // the file fits in 255 bytes, its temporary file does not
	for name, fail := range map[string]func(t *testing.T, dir string) File{
		"name too long": func(t *testing.T, dir string) File {
			return File{Path: ".github/workflows/" + long + ".yml", Content: []byte(Header + "\nnew\n")}
		},
		"read-only directory": func(t *testing.T, dir string) File {
			if os.Geteuid() == 0 {
				t.Skip("root writes to read-only directories")
			}
			ro := filepath.Join(dir, ".github", "workflows")
			if err := os.Chmod(ro, 0o555); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(ro, 0o755) })
			return File{Path: ".github/workflows/x.yml", Content: []byte(Header + "\nnew\n")}
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			old := []byte(Header + "\nold\n")
			writeFiles(t, dir, map[string][]byte{
				".github/x-paths.yml":                   old,
				".github/workflows/x.yml":               old,
				".github/workflows/orphan.yml":          old,
				".github/actions/gone-diff/action.yml":  old,
				".github/workflows/.x.yml.tmp-99":       old,
				".github/actions/keep-diff/.action.yml": old,
			})
			files := []File{
				{Path: ".github/actions/x-diff/action.yml", Content: []byte(Header + "\nnew\n")},
				{Path: ".github/x-paths.yml", Content: []byte(Header + "\nnew\n")},
				fail(t, dir),
			}
			if _, err := Write(dir, files); err == nil {
				t.Fatal("Write succeeded")
			}
			for _, p := range []string{".github/x-paths.yml", ".github/workflows/x.yml", ".github/workflows/orphan.yml", ".github/actions/gone-diff/action.yml"} {
				if got, err := os.ReadFile(filepath.Join(dir, p)); err != nil || string(got) != string(old) {
					t.Errorf("%s was changed: %q, %v", p, got, err)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, ".github/actions/x-diff")); !os.IsNotExist(err) {
				t.Errorf("the new action's directory was left behind: %v", err)
			}
			stale, err := StaleFiles(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(stale) > 0 {
				t.Errorf("temporary files left: %q", stale)
			}
		})
	}
}

func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for p, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOrphansBelongToAPipeline: only files of a pipeline kustomatrix
// generated here (its paths file carries the header) are orphans: a
// hand-written file that starts with the header at a producible name is
// kept; an old pipeline's files are removed, CRLF line ends and all.
func TestOrphansBelongToAPipeline(t *testing.T) {
	dir := t.TempDir()
	put := func(p, content string) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put(".github/workflows/release.yml", Header+"\nname: release\n") // hand-written, no release-paths.yml
	put(".github/workflows/old.yml", Header+"\r\nname: old\r\n")     // an old pipeline, checked out with CRLF
	put(".github/workflows/old-deploy.yml", Header+"\r\nname: old-d\r\n")
	put(".github/old-paths.yml", Header+"\r\ntargets: []\r\n")
	changes, err := Drift(dir, []File{{Path: ".github/new-paths.yml", Content: []byte(Header + "\n")}})
	if err != nil {
		t.Fatal(err)
	}
	var orphans []string
	for _, c := range changes {
		if c.Kind == Orphan {
			orphans = append(orphans, c.Path)
		}
	}
	want := []string{".github/old-paths.yml", ".github/workflows/old-deploy.yml", ".github/workflows/old.yml"}
	if fmt.Sprint(orphans) != fmt.Sprint(want) {
		t.Fatalf("orphans %q, want %q", orphans, want)
	}
}

// TestDriftLineEndings: a generated file checked out with CRLF line endings
// (core.autocrlf) is generated and up to date when only its line endings
// differ, and changed (never "not generated") when its content does.
func TestDriftLineEndings(t *testing.T) {
	dir := t.TempDir()
	want := []byte(Header + "\nname: x\non: push\n")
	crlf := func(b []byte) []byte { return []byte(strings.ReplaceAll(string(b), "\n", "\r\n")) }
	writeFiles(t, dir, map[string][]byte{
		".github/workflows/x.yml":   crlf(want),
		".github/workflows/y.yml":   crlf([]byte(Header + "\nname: old\n")),
		".github/workflows/z.yml":   []byte(Header + "\r\nname: x\n"),
		".github/workflows/own.yml": crlf([]byte("# hand-written\n")),
	})
	files := []File{{Path: ".github/workflows/x.yml", Content: want}, {Path: ".github/workflows/y.yml", Content: want}, {Path: ".github/workflows/z.yml", Content: []byte(Header + "\nname: x\n")}}
	changes, err := Drift(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Path != ".github/workflows/y.yml" || changes[0].Kind != Changed {
		t.Fatalf("changes %+v; want only y.yml changed", changes)
	}
	if _, err := Drift(dir, append(files, File{Path: ".github/workflows/own.yml", Content: want})); err == nil || !strings.Contains(err.Error(), "refusing to overwrite .github/workflows/own.yml") {
		t.Fatalf("a hand-written CRLF file: %v", err)
	}
}
