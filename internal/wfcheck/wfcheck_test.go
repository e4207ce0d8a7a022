package wfcheck

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// checkoutStep is a pinned checkout step, as kustomatrix generates it.
const checkoutStep = "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n" +
	"        with:\n          persist-credentials: false\n"

// cleanWorkflow calls a local composite action with its required input.
const cleanWorkflow = `name: CI
on:
  push:
    branches: [main]
  pull_request:
permissions:
  contents: read
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
` + checkoutStep + `      - uses: ./.github/actions/greet
        with:
          who: ${{ github.actor }}
      - run: echo "built $SHA"
        env:
          SHA: ${{ github.sha }}
  test:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: |
          set -x
          echo "testing"
`

// cleanAction is a composite action whose scripts are shellcheck-clean.
const cleanAction = `name: Greet
description: Says hello.
inputs:
  who:
    description: Who to greet.
    required: true
outputs:
  greeting:
    description: The greeting.
    value: ${{ steps.say.outputs.greeting }}
runs:
  using: composite
  steps:
    - id: say
      shell: bash
      env:
        WHO: ${{ inputs.who }}
      run: |
        greeting="hello ${WHO}"
        echo "greeting=${greeting}" >> "$GITHUB_OUTPUT"
    - shell: bash
      env:
        WHO: ${{ inputs.who }}
      run: echo "done ${WHO}"
`

// reusableWorkflow is a local reusable workflow with one required input.
const reusableWorkflow = `on:
  workflow_call:
    inputs:
      target:
        type: string
        required: true
permissions:
  contents: read
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: echo "deploying $TARGET"
        env:
          TARGET: ${{ inputs.target }}
`

// callerJob is appended to cleanWorkflow's jobs to call reusableWorkflow.
const callerJob = `  deploy:
    needs: test
    uses: ./.github/workflows/reusable.yml
    with:
      target: production
`

// want describes a finding a test case expects; zero fields match anything.
type want struct {
	path, kind, contains string
	line                 int
}

// matches reports whether f satisfies w.
func (w want) matches(f Finding) bool {
	return (w.path == "" || f.Path == w.path) &&
		(w.kind == "" || f.Kind == w.kind) &&
		(w.line == 0 || f.Line == w.line) &&
		strings.Contains(f.Message, w.contains)
}

// writeRepo creates a repository in a temporary directory from relative path -> content.
func writeRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Repository paths used by the test cases.
const (
	wf       = ".github/workflows/ci.yml"
	act      = ".github/actions/greet/action.yml"
	reusable = ".github/workflows/reusable.yml"
)

// checkCase is one repository to Check and the findings it must produce.
type checkCase struct {
	name  string
	files map[string]string
	want  []want // nil means: no findings at all
}

// mustReplace replaces old (which must occur) once in s, so that a fixture edit cannot silently
// turn a negative test case into a copy of the clean one.
func mustReplace(s, old, repl string) string {
	if !strings.Contains(s, old) {
		panic(fmt.Sprintf("fixture does not contain %q", old))
	}
	return strings.Replace(s, old, repl, 1)
}

// checkCases covers each check: clean inputs give no findings, and each kind of problem is
// reported with the right path, kind and (where stable) line.
var checkCases = []checkCase{{
	name:  "clean workflow and composite action",
	files: map[string]string{wf: cleanWorkflow, act: cleanAction},
}, {
	name: "clean root action only",
	files: map[string]string{"action.yml": `name: Root
description: A root composite action.
runs:
  using: composite
  steps:
    - run: echo "root"
      shell: bash
`},
}, {
	name:  "clean call of a local reusable workflow",
	files: map[string]string{act: cleanAction, wf: cleanWorkflow + callerJob, reusable: reusableWorkflow},
}, {
	name:  "undefined input of a local reusable workflow",
	files: map[string]string{act: cleanAction, wf: cleanWorkflow + mustReplace(callerJob, "target:", "targett:"), reusable: reusableWorkflow},
	want:  []want{{path: wf, kind: "workflow-call", contains: "targett"}},
}, {
	name: "bad expression",
	files: map[string]string{act: cleanAction,
		wf: mustReplace(cleanWorkflow, "github.sha", "github.no_such_property")},
	want: []want{{path: wf, kind: "expression", line: 20, contains: "no_such_property"}},
}, {
	name:  "unknown needs",
	files: map[string]string{act: cleanAction, wf: mustReplace(cleanWorkflow, "needs: build", "needs: biuld")},
	want:  []want{{path: wf, kind: "job-needs", line: 21, contains: "biuld"}},
}, {
	name:  "missing input of local composite action",
	files: map[string]string{act: cleanAction, wf: mustReplace(cleanWorkflow, "who:", "whom:")},
	want:  []want{{path: wf, kind: "action", contains: "whom"}},
}, {
	name:  "shellcheck runs inside actionlint for workflows",
	files: map[string]string{act: cleanAction, wf: mustReplace(cleanWorkflow, `echo "testing"`, `echo $1`)},
	want:  []want{{path: wf, kind: "shellcheck", contains: "SC2086"}},
}, {
	name: "schema: job without runs-on",
	files: map[string]string{act: cleanAction,
		wf: mustReplace(cleanWorkflow, "  test:\n    needs: build\n    runs-on: ubuntu-latest\n", "  test:\n    needs: build\n")},
	want: []want{{path: wf, kind: KindSchema, line: 21, contains: "runs-on"}},
}, {
	name:  "schema: unknown top-level key",
	files: map[string]string{act: cleanAction, wf: cleanWorkflow + "jobz:\n  x: 1\n"},
	want:  []want{{path: wf, kind: KindSchema, line: 28, contains: "jobz"}},
}, {
	name: "composite shellcheck problem",
	files: map[string]string{wf: cleanWorkflow,
		act: mustReplace(cleanAction, `echo "done ${WHO}"`, `echo finished $1`)},
	want: []want{{path: act, kind: KindShellcheck, line: 24, contains: "SC2086"}},
}, {
	name: "composite run step without shell",
	files: map[string]string{wf: cleanWorkflow,
		act: mustReplace(cleanAction, "    - shell: bash\n      env:", "    - env:")},
	want: []want{
		{path: act, kind: KindCompositeShell, line: 23, contains: "runs.steps[1]"},
		{path: act, kind: KindSchema},
	},
}, {
	name:  "root action.yml violating the schema",
	files: map[string]string{"action.yml": "name: Root\ndescription: Broken.\nruns:\n  using: node99\n  main: index.js\n"},
	want:  []want{{path: "action.yml", kind: KindSchema, line: 4, contains: "node20"}},
}, {
	name:  "unparsable action.yml",
	files: map[string]string{wf: cleanWorkflow, act: "name: [unclosed\n"},
	want:  []want{{path: act, kind: KindYAML}},
}, {
	name:  "duplicate key in action.yml",
	files: map[string]string{wf: cleanWorkflow, act: cleanAction + "name: Again\n"},
	want:  []want{{path: act, kind: KindYAML, line: 25, contains: `"name" is duplicated`}},
}}

func TestCheck(t *testing.T) {
	for _, tc := range checkCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Check(writeRepo(t, tc.files), Options{})
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			for _, f := range got {
				t.Log(f)
			}
			if tc.want == nil && len(got) != 0 {
				t.Fatalf("want no findings, got %d", len(got))
			}
			for _, w := range tc.want {
				if !containsMatch(got, w) {
					t.Errorf("no finding matches %+v", w)
				}
			}
		})
	}
}

// containsMatch reports whether any finding matches w.
func containsMatch(fs []Finding, w want) bool {
	for _, f := range fs {
		if w.matches(f) {
			return true
		}
	}
	return false
}

func TestCheckErrors(t *testing.T) {
	clean := map[string]string{".github/workflows/ci.yml": cleanWorkflow, ".github/actions/greet/action.yml": cleanAction}
	tests := []struct {
		name     string
		files    map[string]string
		opts     Options
		contains string
	}{
		{"missing shellcheck", clean, Options{Shellcheck: "/nonexistent/shellcheck"}, "shellcheck"},
		{"nothing to check", map[string]string{"README.md": "hi\n"}, Options{}, "no workflow or action file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Check(writeRepo(t, tc.files), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("want error containing %q, got %v", tc.contains, err)
			}
		})
	}
	if _, err := Check(filepath.Join(t.TempDir(), "missing"), Options{}); err == nil {
		t.Error("want error for a missing repository directory")
	}
}

func TestCheckExplicitShellcheck(t *testing.T) {
	path, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Fatalf("shellcheck is required by these tests: %v", err)
	}
	repo := writeRepo(t, map[string]string{".github/workflows/ci.yml": cleanWorkflow, ".github/actions/greet/action.yml": cleanAction})
	got, err := Check(repo, Options{Shellcheck: path})
	if err != nil || len(got) != 0 {
		t.Fatalf("Check = %v, %v; want no findings", got, err)
	}
}

func TestCheckSortsFindings(t *testing.T) {
	repo := writeRepo(t, map[string]string{
		"action.yml":               "name: A\ndescription: B\nruns:\n  using: composite\n  steps:\n    - run: echo $1\n    - run: echo $2\n",
		".github/workflows/ci.yml": "on: push\njobz: {}\n",
	})
	got, err := Check(repo, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < 4 {
		t.Fatalf("want at least 4 findings, got %v", got)
	}
	for i := 1; i < len(got); i++ {
		a, b := got[i-1], got[i]
		if a.Path > b.Path || (a.Path == b.Path && (a.Line > b.Line || (a.Line == b.Line && a.Col > b.Col))) {
			t.Errorf("findings out of order: %v before %v", a, b)
		}
	}
}

func TestFindingString(t *testing.T) {
	f := Finding{Path: ".github/workflows/ci.yml", Line: 3, Col: 7, Message: "boom", Kind: "expression"}
	if got, want := f.String(), ".github/workflows/ci.yml:3:7: boom [expression]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestCompileSchemasRefusesRemoteRefs(t *testing.T) {
	fsys := fstest.MapFS{"s/a.json": {Data: []byte(`{
  "$id": "https://example.com/a.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "$ref": "https://example.com/elsewhere.json"
}`)}}
	_, err := compileSchemas(fsys, "s", []string{"a.json"})
	if err == nil || !strings.Contains(err.Error(), "https://example.com/elsewhere.json") {
		t.Fatalf("want error naming the remote reference, got %v", err)
	}
}

func TestEmbeddedSchemasCompile(t *testing.T) {
	if _, err := loadSchemas(); err != nil {
		t.Fatal(err)
	}
}

func TestScriptPosition(t *testing.T) {
	src := "runs:\n  steps:\n    - run: |\n        a\n\n          b $1\n    - run: echo $1\n    - run: \"echo $1\"\n    - run: >\n        echo $1\n"
	doc, findings := parseYAML("action.yml", []byte(src))
	if doc == nil || len(findings) != 0 {
		t.Fatalf("parse: %v", findings)
	}
	_, runs := mappingEntry(doc.root.Content[0], "runs")
	_, steps := mappingEntry(runs, "steps")
	lines := splitLines(src)
	tests := []struct {
		step, line, col int
		want            position
	}{
		{0, 3, 5, position{6, 13}}, // literal block: line offset and indentation
		{1, 1, 6, position{7, 17}}, // plain scalar
		{2, 1, 6, position{8, 18}}, // double-quoted scalar: skip the quote
		{3, 1, 6, position{9, 12}}, // folded block: falls back to the run: value
	}
	for _, tc := range tests {
		_, run := mappingEntry(steps.Content[tc.step], "run")
		if got := scriptPosition(run, lines, tc.line, tc.col); got != tc.want {
			t.Errorf("step %d %d:%d: got %v, want %v", tc.step, tc.line, tc.col, got, tc.want)
		}
	}
}

func TestSanitizeExpressions(t *testing.T) {
	got := sanitizeExpressions(`echo "${{ inputs.a }}" ${{ b }} ${{ unclosed`)
	want := `echo "_______________" ________ ${{ unclosed`
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
