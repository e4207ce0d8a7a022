package replay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadSetStale: a reused build is only as good as the rule that says
// nothing it read changed, so every shape of change a build can see is
// here, with one that it cannot see.
func TestReadSetStale(t *testing.T) {
	for name, c := range map[string]struct {
		changed []string
		after   func(top string) // the tree at the next commit
		want    bool
	}{
		"nothing read changed":      {changed: []string{"app/README.md", "other/x.yaml"}, want: false},
		"a read file changed":       {changed: []string{"app/deployment.yaml"}, want: true},
		"the symlink's target file": {changed: []string{"shared/cm.yaml"}, want: true},
		"the symlink itself":        {changed: []string{"app/cm.yaml"}, want: true},
		"a file in a listed dir":    {changed: []string{"app/files/new.txt"}, want: true},
		"a probed file appears": {changed: []string{"app/Kustomization"}, after: func(top string) {
			write(t, top, "app/Kustomization", "")
		}, want: true},
		"a probed directory disappears": {changed: []string{"base/kustomization.yaml"}, after: func(top string) {
			os.RemoveAll(filepath.Join(top, "base"))
		}, want: true},
		"a probed directory becomes a link": {changed: []string{"base"}, after: func(top string) {
			os.RemoveAll(filepath.Join(top, "base"))
			if err := os.Symlink("shared", filepath.Join(top, "base")); err != nil {
				t.Fatal(err)
			}
		}, want: true},
	} {
		t.Run(name, func(t *testing.T) {
			top := t.TempDir()
			write(t, top, "app/kustomization.yaml", "resources: [deployment.yaml, cm.yaml]")
			write(t, top, "app/deployment.yaml", "")
			write(t, top, "app/README.md", "")
			write(t, top, "app/files/a.txt", "")
			write(t, top, "shared/cm.yaml", "")
			write(t, top, "base/kustomization.yaml", "")
			if err := os.Symlink("../shared/cm.yaml", filepath.Join(top, "app/cm.yaml")); err != nil {
				t.Fatal(err)
			}
			rec := &recordingFS{top: top, paths: map[string]readKind{}}
			for _, f := range []string{"app/kustomization.yaml", "app/deployment.yaml", "app/cm.yaml"} {
				rec.note(filepath.Join(top, f), readFile)
			}
			for _, f := range []string{"app", "app/Kustomization", "base"} {
				rec.note(filepath.Join(top, f), readProbe)
			}
			rec.note(filepath.Join(top, "app/files"), readList)
			s := rec.readSet()
			if c.after != nil {
				c.after(top)
			}
			if got := s.stale(top, c.changed); got != c.want {
				t.Errorf("stale(%v) = %v, want %v (files %v, under %v, probes %v)", c.changed, got, c.want, s.Files, s.Under, s.Probes)
			}
		})
	}
}

// TestScanLog: commits that only touch code or documentation are left
// out, symlinks and submodules are kept, and so is the newest-first cap.
func TestScanLog(t *testing.T) {
	log := strings.Join([]string{
		"\x00c5 c4\x00docs only",
		":100644 100644 a b M\tREADME.md",
		"\x00c4 c3\x00a link",
		":000000 120000 a b A\tapps/x/base",
		"\x00c3 c2\x00a submodule bump",
		":160000 160000 a b M\tvendor/sub",
		"\x00c2 c1\x00yaml and go",
		":100644 100644 a b M\tmain.go",
		":100644 100644 a b M\t\"apps/x/release: notes.txt\"",
		"\x00c1\x00root commit",
		":000000 100644 a b A\tapps/x/kustomization.yaml",
	}, "\n")
	var got []string
	for _, c := range scanLog(strings.NewReader(log), 0) {
		got = append(got, c.Hash+" "+c.Subject)
	}
	if want := "c4 a link|c3 a submodule bump|c2 yaml and go"; strings.Join(got, "|") != want {
		t.Errorf("scanLog = %q, want %q", strings.Join(got, "|"), want)
	}
	if got := scanLog(strings.NewReader(log), 2); len(got) != 2 || got[1].Hash != "c3" {
		t.Errorf("scanLog with n=2 = %v", got)
	}
}

func write(t *testing.T, top, rel, content string) {
	t.Helper()
	p := filepath.Join(top, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
