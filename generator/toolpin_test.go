package generator_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/kustomatrix/kustomatrix/generator"
	"github.com/kustomatrix/kustomatrix/internal/release"
)

// TestDefaultToolPinProvidesWhatTheWorkflowsUse reads action.yml at the
// commit generator.DefaultToolUses pins, from this repository's history,
// and checks that every step the generated files run through it passes
// only inputs that action declares and commands its script knows. The e2e
// tier maps the pin onto the working tree, so only this test notices a pin
// left behind when action.yml gains something the templates use.
func TestDefaultToolPinProvidesWhatTheWorkflowsUse(t *testing.T) {
	skipAtReleaseCommit(t)
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

// TestDefaultToolPinIsAReleaseTree checks that the commit DefaultToolUses
// pins is a release commit: its hack/release/SHA256SUMS records the digest
// of its own tree (so the root action at that commit downloads and verifies
// the binary instead of building it, and the pin's SHA pins the binary's
// bytes) and its hack/release/VERSION is DefaultToolVersion, the "# vX.Y.Z"
// comment of every generated uses:. internal/release's TestCommittedSums
// rebuilds the release commit and compares the bytes.
func TestDefaultToolPinIsAReleaseTree(t *testing.T) {
	skipAtReleaseCommit(t)
	_, sha, _ := strings.Cut(generator.DefaultToolUses, "@")
	if err := exec.Command("git", "-C", "..", "cat-file", "-e", sha+"^{commit}").Run(); err != nil {
		t.Skipf("the pinned commit %s is not in this clone (a shallow clone, or not a git checkout): %v", sha, err)
	}
	dir := filepath.Join(t.TempDir(), "pinned")
	if err := release.ExtractCommit("..", sha, dir); err != nil {
		t.Fatal(err)
	}
	version, err := os.ReadFile(filepath.Join(dir, release.VersionFile))
	if err != nil {
		t.Fatal(err)
	}
	if v := strings.TrimSpace(string(version)); v != generator.DefaultToolVersion {
		t.Errorf("DefaultToolVersion is %s, %s at the pinned %s says %s", generator.DefaultToolVersion, release.VersionFile, sha[:12], v)
	}
	data, err := os.ReadFile(filepath.Join(dir, release.SumsFile))
	if err != nil {
		t.Fatalf("the pinned %s is not a release commit (README: Cutting a release): %v", sha[:12], err)
	}
	sums, err := release.ParseSums(data)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := release.TreeDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if sums[release.TreeLine] != digest {
		t.Fatalf("the sums at the pinned %s record tree %s, its tree is %s: the root action there would build from source", sha[:12], sums[release.TreeLine], digest)
	}
	for _, platform := range []string{"linux_amd64", "linux_arm64", "darwin_amd64", "darwin_arm64"} {
		if sums["kustomatrix_"+platform] == "" {
			t.Errorf("the sums at the pinned %s have no kustomatrix_%s", sha[:12], platform)
		}
	}
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

func TestRecordedTool(t *testing.T) {
	const pin = "kustomatrix/kustomatrix@0123456789abcdef0123456789abcdef01234567"
	step := func(uses, command string) string {
		return "jobs:\n  plan:\n    steps:\n      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n" +
			"      - uses: " + uses + "\n        with:\n          command: " + command + "\n"
	}
	for name, tc := range map[string]struct {
		workflow string
		want     generator.Tool
		ok       bool
	}{
		"the check step's pin":         {step(pin+" # v0.7.0", "check"), generator.Tool{Uses: pin, Version: "v0.7.0"}, true},
		"a fork's pin":                 {step("acme/kmx@"+strings.Repeat("f", 40)+" #  v1.0.0-rc.1 ", "check"), generator.Tool{Uses: "acme/kmx@" + strings.Repeat("f", 40), Version: "v1.0.0-rc.1"}, true},
		"no version comment":           {step(pin, "check"), generator.Tool{}, false},
		"a comment that is no version": {step(pin+" # pinned by hand", "check"), generator.Tool{}, false},
		"a branch, not a SHA":          {step("kustomatrix/kustomatrix@main # v0.7.0", "check"), generator.Tool{}, false},
		"no check step":                {step(pin+" # v0.7.0", "affected"), generator.Tool{}, false},
		"no plan job":                  {"jobs:\n  other:\n    steps: []\n", generator.Tool{}, false},
		"not YAML":                     {"jobs: [\n", generator.Tool{}, false},
		"empty":                        {"", generator.Tool{}, false},
	} {
		t.Run(name, func(t *testing.T) {
			got, ok := generator.RecordedTool([]byte(tc.workflow))
			if got != tc.want || ok != tc.ok {
				t.Errorf("RecordedTool = %+v, %t; want %+v, %t", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// skipAtReleaseCommit skips the checks of the default pin in the source of
// a release commit, whose DefaultToolUses is, by construction, the release
// before it (the pin move follows the release commit): no build of that
// source renders it (generator.DefaultIsThisRelease).
// Anywhere else (main between releases) the two versions differing is a
// release left half cut, and fails.
func skipAtReleaseCommit(t *testing.T) {
	t.Helper()
	if generator.DefaultIsThisRelease() {
		return
	}
	digest, err := exec.Command("bash", filepath.Join("..", "hack", "release", "tree-digest.sh"), "..").Output()
	if err != nil {
		t.Fatalf("tree-digest.sh: %v", err)
	}
	data, _ := os.ReadFile(filepath.Join("..", release.SumsFile))
	sums, _ := release.ParseSums(data)
	if sums[release.TreeLine] != strings.TrimSpace(string(digest)) {
		t.Fatalf("SourceVersion is %s and DefaultToolVersion %s, and this tree is no release commit (its sums record another tree): finish cutting the release (README: Cutting a release)", generator.SourceVersion, generator.DefaultToolVersion)
	}
	t.Skipf("the source of release %s: DefaultToolUses names %s, the release before it, which its builds never render", generator.SourceVersion, generator.DefaultToolVersion)
}

// TestSourceVersion keeps generator.SourceVersion, which every build
// carries, equal to hack/release/VERSION, which the release process reads.
func TestSourceVersion(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", release.VersionFile))
	if err != nil {
		t.Fatal(err)
	}
	if v := strings.TrimSpace(string(data)); v != generator.SourceVersion {
		t.Fatalf("generator.SourceVersion is %s, %s says %s: cutting a release sets both", generator.SourceVersion, release.VersionFile, v)
	}
}

// TestReleasesEndWithTheDefault: between releases the default pin is the
// newest release; in a release commit's source, the newest before it.
func TestReleasesEndWithTheDefault(t *testing.T) {
	n := len(generator.Releases)
	if n == 0 {
		if generator.DefaultIsThisRelease() {
			t.Fatal("no release is listed, yet the default pin claims to be this source's release")
		}
		return
	}
	last := generator.Releases[n-1]
	if last != (generator.Tool{Uses: generator.DefaultToolUses, Version: generator.DefaultToolVersion}) {
		t.Fatalf("the newest release %s # %s is not the default pin %s # %s", last.Uses, last.Version, generator.DefaultToolUses, generator.DefaultToolVersion)
	}
	seen := map[string]bool{}
	for _, r := range generator.Releases {
		_, sha, _ := strings.Cut(r.Uses, "@")
		if !strings.HasPrefix(r.Uses, generator.ToolRepository()+"@") || !generator.IsCommitSHA(sha) || seen[r.Version] {
			t.Errorf("release %s # %s: want %s@<commit>, each version once", r.Uses, r.Version, generator.ToolRepository())
		}
		seen[r.Version] = true
	}
}

func TestKnownTool(t *testing.T) {
	old := generator.Releases
	t.Cleanup(func() { generator.Releases = old })
	repo := generator.ToolRepository()
	rel := generator.Tool{Uses: repo + "@" + strings.Repeat("1", 40), Version: "v0.1.0"}
	generator.Releases = []generator.Tool{rel}
	own := strings.Repeat("2", 40)
	for name, tc := range map[string]struct {
		tool generator.Tool
		own  string
		want bool
	}{
		"a release":                    {rel, "", true},
		"a release, relabelled":        {generator.Tool{Uses: rel.Uses, Version: "v0.2.0"}, "", false},
		"its own commit":               {generator.Tool{Uses: repo + "@" + own, Version: generator.SourceVersion}, own, true},
		"its own commit, relabelled":   {generator.Tool{Uses: repo + "@" + own, Version: "v0.0.9"}, own, false},
		"its own commit, unknown":      {generator.Tool{Uses: repo + "@" + own, Version: generator.SourceVersion}, "", false},
		"an unknown commit":            {generator.Tool{Uses: repo + "@" + strings.Repeat("3", 40), Version: "v0.1.0"}, own, false},
		"a fork at a release's commit": {generator.Tool{Uses: "acme/kustomatrix@" + strings.Repeat("1", 40), Version: "v0.1.0"}, "", false},
	} {
		if got := generator.KnownTool(tc.tool, tc.own); got != tc.want {
			t.Errorf("%s: KnownTool(%+v, %q) = %t, want %t", name, tc.tool, tc.own, got, tc.want)
		}
	}
}
