package generator_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kustomatrix/kustomatrix/generator"
	"github.com/kustomatrix/kustomatrix/internal/wfcheck"
)

// corpora returns the real public manifest repositories beside the project
// (../shared/corpora). A user's clone has none: the tests using it skip,
// saying so, rather than pass silently.
func corpora(t *testing.T) []string {
	t.Helper()
	dirs, _ := filepath.Glob("../../shared/corpora/*")
	var out []string
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		t.Skip("../shared/corpora is not present (it is beside the project in CI); skipping the corpus tier")
	}
	return out
}

// allRepos are every repository the generator is held to: the example,
// the golden inputs and, in a subtest that says when they are missing, the
// real corpora.
func allRepos(t *testing.T) map[string]string {
	t.Helper()
	repos := map[string]string{"example": "../testdata/example"}
	for _, c := range goldenCases(t) {
		repos["golden/"+filepath.Base(c)] = filepath.Join(c, "input")
	}
	t.Run("corpora", func(t *testing.T) {
		for _, c := range corpora(t) {
			repos["corpus/"+filepath.Base(c)] = c
		}
	})
	return repos
}

// TestGeneratedPipelinesAreLintClean writes each generated pipeline next to
// its manifests and runs actionlint (with shellcheck), the SchemaStore
// workflow and action schemas, and shellcheck of composite steps on it.
func TestGeneratedPipelinesAreLintClean(t *testing.T) {
	repos := allRepos(t)
	checked := 0
	for name, dir := range repos {
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			if err := os.CopyFS(tmp, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			_, files, err := renderRepo(t, tmp)
			if err != nil {
				t.Skipf("no pipeline by design: %v", err)
			}
			if _, err := generator.Write(tmp, files); err != nil {
				t.Fatal(err)
			}
			findings, err := wfcheck.Check(tmp, wfcheck.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range findings {
				t.Errorf("%s", f)
			}
			checked++
		})
	}
	if checked < 8 {
		t.Fatalf("only %d repositories were linted; expected the example, the golden cases and the corpora", checked)
	}
}

// TestProjectActionAndCIAreLintClean lints the project's own root action
// (which every generated workflow calls) and its CI workflow.
func TestProjectActionAndCIAreLintClean(t *testing.T) {
	if _, err := os.Stat("../action.yml"); err != nil {
		t.Fatal(err)
	}
	findings, err := wfcheck.Check("..", wfcheck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Errorf("%s", f)
	}
}
