package generator_test

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kustomatrix/kustomatrix/generator"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden/*/want")

// renderRepo scans and renders a repository on disk the way the CLI does.
// Fatal problems come back as the error; diagnostics are part of the result.
func renderRepo(t *testing.T, dir string) (*generator.Repo, []generator.File, error) {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(abs, generator.ConfigFile))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	cfg, err := generator.LoadConfig(generator.ConfigFile, data)
	if err != nil {
		return nil, nil, err
	}
	repo, err := generator.Scan(filesys.MakeFsOnDisk(), abs, cfg)
	if err != nil {
		return nil, nil, err
	}
	files, err := generator.Render(repo)
	return repo, files, err
}

// goldenOutput is everything a case is compared on: the generated files,
// plus diagnostics.txt, or error.txt when generation fails.
func goldenOutput(t *testing.T, input string) map[string]string {
	t.Helper()
	out := map[string]string{}
	repo, files, err := renderRepo(t, input)
	if err != nil {
		var ce *generator.ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		out["error.txt"] = err.Error() + "\n"
		return out
	}
	var diags []string
	for _, d := range repo.Diagnostics {
		diags = append(diags, d.String())
	}
	out["diagnostics.txt"] = strings.Join(diags, "\n") + "\n"
	for _, f := range files {
		out[f.Path] = string(f.Content)
	}
	return out
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func goldenCases(t *testing.T) []string {
	t.Helper()
	cases, err := filepath.Glob("../testdata/golden/*")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases found: %v", err)
	}
	return cases
}

// TestGolden renders every case under testdata/golden and compares the
// result with its want directory; -update rewrites want.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(filepath.Base(c), func(t *testing.T) {
			got := goldenOutput(t, filepath.Join(c, "input"))
			want := filepath.Join(c, "want")
			if *update {
				if err := os.RemoveAll(want); err != nil {
					t.Fatal(err)
				}
				writeTree(t, want, got)
				return
			}
			if diff := cmp.Diff(readTree(t, want), got); diff != "" {
				t.Errorf("output differs from %s (-want +got); run go test ./generator -run TestGolden -update:\n%s", want, diff)
			}
		})
	}
}

// TestGoldenIdempotent is gofmt's idempotence check: on a repository that
// already holds its generated files, check finds nothing and generate
// writes nothing.
func TestGoldenIdempotent(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(filepath.Base(c), func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(filepath.Join(c, "input"))); err != nil {
				t.Fatal(err)
			}
			_, files, err := renderRepo(t, dir)
			if err != nil {
				t.Skipf("case fails by design: %v", err)
			}
			if changes, err := generator.Write(dir, files); err != nil || len(changes) != len(files) {
				t.Fatalf("first Write: %d changes for %d files, err %v", len(changes), len(files), err)
			}
			_, again, err := renderRepo(t, dir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(files, again); diff != "" {
				t.Fatalf("rendering again after generate changed the output (-first +second):\n%s", diff)
			}
			changes, err := generator.Drift(dir, again)
			if err != nil || len(changes) != 0 {
				t.Fatalf("Drift after Write = %v, %v; want none", changes, err)
			}
		})
	}
}

// TestExampleIsUpToDate keeps the README's quick start true: the bundled
// example holds its generated files, and generate on it changes nothing.
func TestExampleIsUpToDate(t *testing.T) {
	_, files, err := renderRepo(t, "../testdata/example")
	if err != nil {
		t.Fatal(err)
	}
	changes, err := generator.Drift("../testdata/example", files)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		t.Errorf("testdata/example: %s %s; run: go run ./cmd/kustomatrix generate --update-tool --repo testdata/example\n%s", c.Kind, c.Path, c.Diff)
	}
}
