package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReleaseBuildToolPin runs generate and check as a release build (a
// stamped version), which cannot name its own release commit: it never
// renders its compiled default pin, takes the configuration's or the one
// the files carry, and warns when that pin is another release.
func TestReleaseBuildToolPin(t *testing.T) {
	version = "v9.8.7"
	t.Cleanup(func() { version = "" })
	dir := t.TempDir()
	for rel, content := range map[string]string{
		"apps/api/kustomization.yaml": "resources:\n  - cm.yaml\n",
		"apps/api/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: api\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kmx := func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		code := run(append(args, "--repo", dir), strings.NewReader(""), &out, &errOut)
		return out.String(), errOut.String(), code
	}
	config := func(version string) {
		t.Helper()
		text := "tool:\n  uses: kustomatrix/kustomatrix@" + strings.Repeat("a", 40) + "\n  version: " + version + "\n"
		if err := os.WriteFile(filepath.Join(dir, ".kustomatrix.yaml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	_, stderr, code := kmx("generate")
	if code != 2 || !strings.Contains(stderr, "kustomatrix v9.8.7 cannot name its own release commit") || !strings.Contains(stderr, "<the commit tagged v9.8.7>") {
		t.Fatalf("a new pipeline without tool: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, ".github")); !os.IsNotExist(err) {
		t.Fatalf("the refused generate wrote files: %v", err)
	}
	if _, stderr, code = kmx("check"); code != 2 || !strings.Contains(stderr, "cannot name its own release commit") {
		t.Fatalf("check without any pin: exit %d\n%s", code, stderr)
	}

	config("v9.8.7")
	if _, stderr, code = kmx("generate"); code != 0 || strings.Contains(stderr, "warning") {
		t.Fatalf("generate with tool: of this release: exit %d\n%s", code, stderr)
	}
	if err := os.Remove(filepath.Join(dir, ".kustomatrix.yaml")); err != nil {
		t.Fatal(err)
	}
	// The plan job's check: no tool: in the configuration, the pin the
	// files carry.
	if stdout, stderr, code := kmx("check"); code != 0 || !strings.Contains(stdout, "up to date") {
		t.Fatalf("check of files pinned to this release: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code = kmx("generate", "--update-tool"); code != 2 || !strings.Contains(stderr, "cannot name its own release commit") {
		t.Fatalf("--update-tool in a release build: exit %d\n%s", code, stderr)
	}

	config("v9.0.0")
	if _, stderr, code = kmx("generate"); code != 0 || !strings.Contains(stderr, "warning: this is kustomatrix v9.8.7; the generated workflows run v9.0.0") {
		t.Fatalf("a pin of another release: exit %d\n%s", code, stderr)
	}
}
