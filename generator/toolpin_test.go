package generator_test

import (
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/kustomatrix/kustomatrix/generator"
)

// TestDefaultToolPinProvidesWhatTheWorkflowsUse reads action.yml at the
// commit generator.DefaultToolUses pins, from this repository's history,
// and checks that every step the generated files run through it passes
// only inputs that action declares and commands its script knows. The e2e
// tier maps the pin onto the working tree, so only this test notices a pin
// left behind when action.yml gains something the templates use.
func TestDefaultToolPinProvidesWhatTheWorkflowsUse(t *testing.T) {
	repo, sha, ok := strings.Cut(generator.DefaultToolUses, "@")
	if !ok || repo != "kustomatrix/kustomatrix" {
		t.Fatalf("DefaultToolUses %q: want kustomatrix/kustomatrix@<commit>", generator.DefaultToolUses)
	}
	if err := exec.Command("git", "-C", "..", "cat-file", "-e", sha+"^{commit}").Run(); err != nil {
		t.Skipf("the pinned commit %s is not in this clone (a shallow clone, or not a git checkout): %v", sha, err)
	}
	data, err := exec.Command("git", "-C", "..", "show", sha+":action.yml").Output()
	if err != nil {
		t.Fatalf("git show %s:action.yml: %v", sha, err)
	}
	var action struct {
		Inputs map[string]any
		Runs   struct{ Steps []map[string]any }
	}
	if err := yaml.Unmarshal(data, &action); err != nil {
		t.Fatalf("action.yml at %s: %v", sha, err)
	}
	commands := map[string]bool{}
	caseLabel := regexp.MustCompile(`(?m)^\s+([a-z][a-z -]*(?:\|[a-z -]+)*)\)$`)
	for _, st := range action.Runs.Steps {
		run, _ := st["run"].(string)
		for _, m := range caseLabel.FindAllStringSubmatch(run, -1) {
			for _, c := range strings.Split(m[1], "|") {
				commands[strings.TrimSpace(c)] = true
			}
		}
	}
	if len(commands) == 0 || len(action.Inputs) == 0 {
		t.Fatalf("no commands or inputs found in action.yml at %s", sha)
	}

	checked := 0
	for name, dir := range allRepos(t) {
		_, files, err := renderRepo(t, dir)
		if err != nil {
			continue // the golden error cases render nothing
		}
		for _, f := range files {
			var doc any
			if err := yaml.Unmarshal(f.Content, &doc); err != nil {
				t.Fatalf("%s/%s: %v", name, f.Path, err)
			}
			for _, st := range steps(doc) {
				uses, _ := st["uses"].(string)
				if uses != generator.DefaultToolUses {
					continue
				}
				checked++
				with, _ := st["with"].(map[string]any)
				var keys []string
				for k := range with {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					if _, ok := action.Inputs[k]; !ok {
						t.Errorf("%s/%s: step %q passes input %q, which action.yml at the pinned %s does not declare: move DefaultToolUses forward", name, f.Path, st["name"], k, sha[:12])
					}
				}
				if c, _ := with["command"].(string); !commands[c] {
					t.Errorf("%s/%s: step %q runs command %q, which action.yml at the pinned %s does not know: move DefaultToolUses forward", name, f.Path, st["name"], c, sha[:12])
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no generated step uses the default tool pin")
	}
	t.Logf("%d steps checked against action.yml at %s", checked, sha[:12])
}

// steps finds every step of a workflow (jobs.*.steps) or of a composite
// action (runs.steps).
func steps(doc any) []map[string]any {
	m, _ := doc.(map[string]any)
	var lists []any
	if runs, ok := m["runs"].(map[string]any); ok {
		lists = append(lists, runs["steps"])
	}
	if jobs, ok := m["jobs"].(map[string]any); ok {
		for _, j := range jobs {
			if job, ok := j.(map[string]any); ok {
				lists = append(lists, job["steps"])
			}
		}
	}
	var out []map[string]any
	for _, l := range lists {
		items, _ := l.([]any)
		for _, it := range items {
			if st, ok := it.(map[string]any); ok {
				out = append(out, st)
			}
		}
	}
	return out
}
