package generator_test

import (
	"math/rand/v2"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/kustomatrix/kustomatrix/generator"
)

// TestRepoFromPathsFileMatchesScan holds the affected fast path to the scan
// it replaces: for every repository, the repository rebuilt from the
// generated paths file has the same targets, closures, services and job
// ids, and maps random changes to the same result.
func TestRepoFromPathsFileMatchesScan(t *testing.T) {
	for name, dir := range allRepos(t) {
		t.Run(name, func(t *testing.T) {
			repo, files, err := renderRepo(t, dir)
			if err != nil {
				t.Skipf("does not generate: %v", err)
			}
			var paths []byte
			for _, f := range files {
				if f.Path == repo.Config.PathsFile() {
					paths = f.Content
				}
			}
			abs, _ := filepath.Abs(dir)
			fast, err := generator.RepoFromPathsFile(repo.Config, paths, generator.HasKustomizationOnDisk(abs))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fast.Targets, repo.Targets) {
				t.Fatalf("targets differ:\nscan: %v\nfile: %v", targetSummary(repo), targetSummary(fast))
			}
			if got, want := serviceJobs(fast), serviceJobs(repo); !reflect.DeepEqual(got, want) {
				t.Fatalf("services: got %v, want %v", got, want)
			}
			// Changes drawn from the inputs (globs made concrete; kustomization
			// files included) and from paths near them. The file is fresh
			// here, so the answer must be the scan's for any change: that is
			// what affected --checked relies on.
			var pool []string
			for _, tg := range repo.Targets {
				for _, in := range tg.Inputs {
					pool = append(pool, strings.ReplaceAll(in, "**", "x/y.yaml"), strings.TrimSuffix(in, "/**")+"-other",
						path.Join(path.Dir(in), "gone", "kustomization.yaml"))
				}
			}
			rnd := rand.New(rand.NewPCG(1, 2))
			for range 200 {
				cs := generator.ChangeSet{}
				for range 1 + rnd.IntN(3) {
					cs.Files = append(cs.Files, pool[rnd.IntN(len(pool))])
				}
				if got, want := generator.Affected(fast, cs), generator.Affected(repo, cs); !reflect.DeepEqual(got, want) {
					t.Fatalf("change %v: from the paths file %+v, from the scan %+v", cs.Files, got, want)
				}
			}
		})
	}
}

func targetSummary(r *generator.Repo) []string {
	var out []string
	for _, t := range r.Targets {
		out = append(out, t.Service+"/"+t.Environment+"@"+t.Path+" "+strings.Join(t.Inputs, ","))
	}
	return out
}

func serviceJobs(r *generator.Repo) []string {
	var out []string
	for _, s := range r.Services {
		out = append(out, s.Name+"="+s.JobID)
	}
	return out
}

// TestPathsFileQuoting round-trips strings that need JSON escapes.
func TestPathsFileQuoting(t *testing.T) {
	s := newScenarioRepo(t, []string{`a"b`, `c\d`, "tab\there", "<&>", "ünïcode", "\u2028sep"})
	files, err := generator.Render(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Path != s.Config.PathsFile() {
			continue
		}
		if !strings.Contains(string(f.Content), `"apps/a\"b/\u003cweird\u003e/\u003c\u0026\u003e"`) {
			t.Errorf("escaping changed:\n%s", f.Content)
		}
		back, err := generator.RepoFromPathsFile(s.Config, f.Content, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back.Targets, s.Targets) {
			t.Fatalf("round trip: got %v, want %v", targetSummary(back), targetSummary(s))
		}
	}
}

// newScenarioRepo is a repository value with one target per input string.
func newScenarioRepo(t *testing.T, inputs []string) *generator.Repo {
	t.Helper()
	cfg, err := generator.LoadConfig(generator.ConfigFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	tg := &generator.Target{Service: "svc", Environment: "dev", Path: "apps/svc/dev"}
	for _, in := range inputs {
		tg.Inputs = append(tg.Inputs, "apps/"+in+"/x.yaml")
	}
	tg.Inputs = append(tg.Inputs, `apps/a"b/<weird>/<&>`)
	sort.Strings(tg.Inputs)
	return &generator.Repo{Config: cfg, Targets: []*generator.Target{tg},
		Services: []*generator.Service{{Name: "svc", JobID: generator.JobID("svc"), Targets: []*generator.Target{tg}}}}
}

// TestRepoFromPathsFileRefusesOtherForms: anything but the exact generated
// form is refused, so that affected scans instead of trusting it.
func TestRepoFromPathsFileRefusesOtherForms(t *testing.T) {
	cfg, _ := generator.LoadConfig(generator.ConfigFile, nil)
	good := generator.Header + "\nglobal:\n  - \".kustomatrix.yaml\"\ntargets:\n  - service: \"a\"\n    environment: \"dev\"\n    path: \"apps/a\"\n    paths:\n      - \"apps/a/**\"\n"
	if r, err := generator.RepoFromPathsFile(cfg, []byte(good), nil); err != nil || len(r.Targets) != 1 || r.Services[0].JobID != "deploy-a" {
		t.Fatalf("the generated form: %v %+v", err, r)
	}
	for name, bad := range map[string]string{
		"no header":      strings.TrimPrefix(good, generator.Header+"\n"),
		"flow style":     strings.Replace(good, "    paths:\n      - \"apps/a/**\"\n", "    paths: [\"apps/a/**\"]\n", 1),
		"plain scalar":   strings.Replace(good, `service: "a"`, `service: a`, 1),
		"extra key":      strings.Replace(good, "    paths:", "    note: \"x\"\n    paths:", 1),
		"bad escape":     strings.Replace(good, `"apps/a/**"`, `"apps/a/\q"`, 1),
		"unclean path":   strings.Replace(good, `path: "apps/a"`, `path: "apps/../a"`, 1),
		"no targets":     strings.SplitAfter(good, "targets:\n")[0],
		"unknown key":    good + "oops: 1\n",
		"job id clash":   good + strings.Replace(strings.SplitAfter(good, "targets:\n")[1], `"a"`, `"A"`, 1),
		"reindented":     strings.ReplaceAll(good, "      - ", "    - "),
		"CRLF line ends": strings.ReplaceAll(good, "\n", "\r\n"),
	} {
		if _, err := generator.RepoFromPathsFile(cfg, []byte(bad), nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestGraphChange(t *testing.T) {
	links := map[string]bool{"apps/a/link": true}
	isLink := func(p string) bool { return links[p] }
	for files, want := range map[string]string{
		"apps/a/deployment.yaml,docs/x.md":         "",
		"apps/a/kustomization.yaml":                "kustomization file changed: apps/a/kustomization.yaml",
		"x/kustomization.yml":                      "kustomization file changed: x/kustomization.yml",
		"x/Kustomization":                          "kustomization file changed: x/Kustomization",
		"x/KUSTOMIZATION.YAML":                     "kustomization file changed: x/KUSTOMIZATION.YAML",
		".kustomatrix.yaml":                        ".kustomatrix.yaml changed",
		"apps/a/link":                              "symlink changed: apps/a/link",
		"apps/a/kustomization.yaml.bak,apps/b.yml": "",
	} {
		if got := generator.GraphChange(strings.Split(files, ","), isLink, nil); got != want {
			t.Errorf("%s: got %q, want %q", files, got, want)
		}
	}
}

func TestSameReferences(t *testing.T) {
	const before = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
  - ingress.yaml
images:
  - name: app
    newTag: "1.0"
patches:
  - path: replicas.yaml
  - patch: |-
      - op: replace
        path: /spec/replicas
        value: 2
    target: {kind: Deployment}
configMapGenerator:
  - name: cfg
    files: [app.properties]
`
	for name, tc := range map[string]struct {
		after string
		same  bool
	}{
		"identical":           {before, true},
		"tag bump":            {strings.Replace(before, `"1.0"`, `"1.1"`, 1), true},
		"inline patch edited": {strings.Replace(before, "value: 2", "value: 3", 1), true},
		"comment added":       {"# bump\n" + before, true},
		"resource added":      {strings.Replace(before, "  - ingress.yaml\n", "  - ingress.yaml\n  - hpa.yaml\n", 1), false},
		"resource renamed":    {strings.Replace(before, "ingress.yaml", "ingress2.yaml", 1), false},
		"resources reordered": {strings.Replace(before, "  - ../../base\n  - ingress.yaml\n", "  - ingress.yaml\n  - ../../base\n", 1), false},
		"moved to components": {strings.Replace(before, "resources:\n  - ../../base", "components:\n  - ../../base\nresources:", 1), false},
		"patch file changed":  {strings.Replace(before, "replicas.yaml", "replicas-prod.yaml", 1), false},
		"generator file":      {strings.Replace(before, "app.properties", "other.properties", 1), false},
		"became a Component":  {strings.Replace(before, "kind: Kustomization", "kind: Component", 1), false},
		"broken after":        {before + "resources: [\n", false},
	} {
		if got := generator.SameReferences("apps/a/overlays/dev/kustomization.yaml", []byte(before), []byte(tc.after)); got != tc.same {
			t.Errorf("%s: SameReferences = %t, want %t", name, got, tc.same)
		}
	}
}
