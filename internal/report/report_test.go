package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	reports := []Report{
		{Service: "web", Environment: "prod", Path: "apps/web/overlays/prod", Status: StatusNoChanges},
		{Service: "cart", Environment: "prod", Path: "apps/cart/overlays/prod", Status: StatusChanges, Diff: "+a: ✓\n", RunURL: runURL},
		{Service: "cart", Environment: "dev", Path: "apps/cart/overlays/dev", Status: StatusError, Diff: "error: boom"},
	}
	for i, r := range reports {
		// Artifacts downloaded without merging land in a directory each.
		sub := filepath.Join(dir, []string{"", "report-cart-prod", "x/y"}[i])
		name, err := Write(sub, r)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Dir(name) != sub || filepath.Base(name) != FileName(r) {
			t.Errorf("written to %s", name)
		}
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a report"), 0o644)
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Report{reports[2], reports[1], reports[0]} // by service, then environment
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	// Write leaves no temporary file behind.
	filepath.WalkDir(dir, func(p string, d os.DirEntry, _ error) error {
		if strings.HasPrefix(d.Name(), ".report-") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

func TestFileName(t *testing.T) {
	a := FileName(Report{Service: "team/a", Environment: "prod", Path: "team/a/prod"})
	b := FileName(Report{Service: "team-a", Environment: "prod", Path: "team-a/prod"})
	if a == b {
		t.Errorf("two targets share the file name %s", a)
	}
	if !strings.HasPrefix(a, "team-a_prod_") || !strings.HasSuffix(a, ".json") {
		t.Errorf("file name %q", a)
	}
}

func TestWriteRejectsInvalid(t *testing.T) {
	_, err := Write(t.TempDir(), Report{Service: "a", Environment: "b", Path: "c", Status: "unknown"})
	if err == nil || !strings.Contains(err.Error(), `status "unknown"`) {
		t.Errorf("err = %v", err)
	}
}

func TestReadErrors(t *testing.T) {
	valid := `{"service": "cart", "environment": "prod", "path": "apps/cart/overlays/prod", "status": "changes"}`
	for name, tc := range map[string]struct {
		files map[string]string
		want  string
	}{
		"not JSON":         {files: map[string]string{"a.json": "{"}, want: "a.json: not a kustomatrix report"},
		"an unknown field": {files: map[string]string{"a.json": `{"service": "a", "environment": "b", "path": "c", "status": "changes", "colour": 1}`}, want: `unknown field "colour"`},
		"a bad status":     {files: map[string]string{"a.json": `{"service": "a", "environment": "b", "path": "c", "status": "changed"}`}, want: `a.json: status "changed"`},
		"no service":       {files: map[string]string{"a.json": `{"environment": "b", "path": "c", "status": "changes"}`}, want: "service is empty"},
		"two reports for one target": {files: map[string]string{"a.json": valid, "sub/b.json": valid},
			want: "two reports for cart/prod"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for n, content := range tc.files {
				p := filepath.Join(dir, n)
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, []byte(content), 0o644)
			}
			_, err := Read(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want %q", err, tc.want)
			}
		})
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing directory reads as no reports")
	}
}
