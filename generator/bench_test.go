package generator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// The benchmarks of the issue "Scale: thousands of services", on the
// synthetic repositories of synth_test.go. hack/bench.sh runs them and
// BENCHMARKS.md records the figures. KUSTOMATRIX_BENCH_SIZES narrows the
// sizes (e.g. "100,1000"); the repositories are written once per process.

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range tempRoots {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// benchSizes are the numbers of services benchmarked: three environments
// each, so 300, 3,000 and 30,000 kustomization roots.
func benchSizes(b *testing.B) []int {
	b.Helper()
	env := os.Getenv("KUSTOMATRIX_BENCH_SIZES")
	if env == "" {
		return []int{100, 1000, 10000}
	}
	var sizes []int
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("KUSTOMATRIX_BENCH_SIZES: %q is not a positive number", f)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

func forSizes(b *testing.B, f func(b *testing.B, n int, dir string)) {
	for _, n := range benchSizes(b) {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			dir := synthRepo(b, n)
			f(b, n, dir)
		})
	}
}

func loadConfig(tb testing.TB, dir string) *Config {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil && !os.IsNotExist(err) {
		tb.Fatal(err)
	}
	cfg, err := LoadConfig(ConfigFile, data)
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

func scanDir(tb testing.TB, dir string) *Repo {
	tb.Helper()
	repo, err := Scan(filesys.MakeFsOnDisk(), dir, loadConfig(tb, dir))
	if err != nil {
		tb.Fatal(err)
	}
	return repo
}

// generateInto does what kustomatrix generate does.
func generateInto(dir string) error {
	cfg, err := LoadConfig(ConfigFile, nil)
	if err != nil {
		return err
	}
	repo, err := Scan(filesys.MakeFsOnDisk(), dir, cfg)
	if err != nil {
		return err
	}
	files, err := Render(repo)
	if err != nil {
		return err
	}
	_, err = Write(dir, files)
	return err
}

// BenchmarkScan is discovery and dependency analysis: the walk, parsing
// every kustomization, naming, closures.
func BenchmarkScan(b *testing.B) {
	forSizes(b, func(b *testing.B, n int, dir string) {
		cfg := loadConfig(b, dir)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			repo, err := Scan(filesys.MakeFsOnDisk(), dir, cfg)
			if err != nil {
				b.Fatal(err)
			}
			if len(repo.Targets) != 3*n {
				b.Fatalf("%d targets, want %d", len(repo.Targets), 3*n)
			}
		}
	})
}

// BenchmarkRender renders the pipeline of a scanned repository. Where the
// caller workflow passes GitHub's size limit, Render returns a *ConfigError
// after rendering that workflow: the benchmark times that, and reports
// rendered=0.
func BenchmarkRender(b *testing.B) {
	forSizes(b, func(b *testing.B, n int, dir string) {
		repo := scanDir(b, dir)
		_, err := Render(repo)
		var ce *ConfigError
		if err != nil && !errors.As(err, &ce) {
			b.Fatal(err)
		}
		if err != nil {
			b.Logf("Render fails at %d services; timed to the error: %v", n, err)
		}
		b.ReportAllocs()
		for b.Loop() {
			_, _ = Render(repo)
		}
		rendered := 1.0
		if err != nil {
			rendered = 0
		}
		b.ReportMetric(rendered, "rendered")
	})
}

// BenchmarkCheckInProcess is what kustomatrix check does, in process: the
// figure to profile (-cpuprofile, -memprofile).
func BenchmarkCheckInProcess(b *testing.B) {
	forSizes(b, func(b *testing.B, n int, dir string) {
		b.ReportAllocs()
		for b.Loop() {
			repo := scanDir(b, dir)
			files, err := Render(repo)
			if err != nil {
				b.Skipf("Render fails at %d services: %v", n, err)
			}
			changes, err := Drift(dir, files)
			if err != nil {
				b.Fatal(err)
			}
			for _, c := range changes {
				b.Fatalf("the repository is not up to date: %s %s", c.Kind, c.Path)
			}
		}
	})
}

var cli struct {
	once      sync.Once
	path, rss string
	err       error
}

// rssHelper runs a command and writes its peak resident set (KiB) to the
// file named by its first argument. The benchmarks measure processes
// through it because on Linux a child started with vfork (as os/exec does)
// inherits its parent's peak RSS at exec: measured straight from this test
// process, every child would report at least the test's own peak. Started
// from this small helper, the child inherits only the helper's few MiB.
const rssHelper = `package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(127)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if err := os.WriteFile(os.Args[1], []byte(fmt.Sprint(ru.Maxrss)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(127)
	}
	os.Exit(cmd.ProcessState.ExitCode())
}
`

// cliBinary builds kustomatrix, and the helper measuring peak memory, once
// per process.
func cliBinary(b *testing.B) string {
	b.Helper()
	cli.once.Do(func() {
		dir, err := os.MkdirTemp("", "kustomatrix-bin-")
		if err != nil {
			cli.err = err
			return
		}
		tempRoots = append(tempRoots, dir)
		cli.path = filepath.Join(dir, "kustomatrix")
		cmd := exec.Command("go", "build", "-o", cli.path, "github.com/kustomatrix/kustomatrix/cmd/kustomatrix")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			cli.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		src := filepath.Join(dir, "rss.go")
		if cli.err = os.WriteFile(src, []byte(rssHelper), 0o644); cli.err != nil {
			return
		}
		cli.rss = filepath.Join(dir, "rss")
		cmd = exec.Command("go", "build", "-o", cli.rss, src)
		cmd.Dir = dir // outside any module: the helper needs only the standard library
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			cli.err = fmt.Errorf("go build (rss helper): %v\n%s", err, out)
		}
	})
	if cli.err != nil {
		b.Fatal(cli.err)
	}
	return cli.path
}

// runProcess runs a command b.N times, timing each run (wall clock, with
// the helper's start of about a millisecond), and reports the peak
// resident set of the largest run as MiB-peak.
func runProcess(b *testing.B, wantExit int, name string, args ...string) {
	b.Helper()
	cliBinary(b)
	rssFile := filepath.Join(b.TempDir(), "maxrss")
	var peakKiB int64
	b.ResetTimer()
	for b.Loop() {
		cmd := exec.Command(cli.rss, append([]string{rssFile, name}, args...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			b.Fatal(err)
		}
		if code := cmd.ProcessState.ExitCode(); code != wantExit {
			b.Fatalf("%s %s: exit %d, want %d\n%s", name, strings.Join(args, " "), code, wantExit, stderr.String())
		}
		b.StopTimer()
		data, err := os.ReadFile(rssFile)
		if err != nil {
			b.Fatal(err)
		}
		kib, err := strconv.ParseInt(string(data), 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		peakKiB = max(peakKiB, kib) // KiB on Linux
		b.StartTimer()
	}
	b.ReportMetric(float64(peakKiB)/1024, "MiB-peak")
}

// BenchmarkCheckProcess times kustomatrix check end to end, as a process,
// on a repository that is up to date.
func BenchmarkCheckProcess(b *testing.B) {
	bin := cliBinary(b)
	forSizes(b, func(b *testing.B, n int, dir string) {
		if _, err := os.Stat(filepath.Join(dir, ".github")); err != nil {
			b.Skipf("no generated pipeline at %d services (Render fails)", n)
		}
		runProcess(b, 0, bin, "check", "--repo", dir)
	})
}

// changedFiles is a deterministic change of k files: for k = 1, a service's
// Deployment (its three targets); otherwise files spread evenly over the
// services, terraform/ and docs/, leaving out the shared base and component
// (which affect every target, or every tenth service, by design).
func changedFiles(n, k int) []string {
	if k == 1 {
		return []string{"apps/" + synthService(n/2) + "/base/deployment.yaml"}
	}
	var all []string
	for p := range synthFiles(n) {
		if !strings.HasPrefix(p, "bases/") && !strings.HasPrefix(p, "components/") {
			all = append(all, p)
		}
	}
	sort.Strings(all)
	if k > len(all) {
		k = len(all)
	}
	out := make([]string, 0, k)
	for i := 0; i < k; i++ {
		out = append(out, all[i*len(all)/k])
	}
	return out
}

var changeSizes = []int{1, 1000}

// BenchmarkAffected maps a change through a scanned repository (the scan is
// not timed: BenchmarkAffectedProcess has the whole command).
func BenchmarkAffected(b *testing.B) {
	forSizes(b, func(b *testing.B, n int, dir string) {
		repo := scanDir(b, dir)
		for _, k := range changeSizes {
			b.Run(fmt.Sprintf("files=%d", k), func(b *testing.B) {
				cs := ChangeSet{Files: changedFiles(n, k)}
				b.ReportAllocs()
				var res *AffectedResult
				for b.Loop() {
					res = Affected(repo, cs)
				}
				if res.All || len(res.Targets) == 0 {
					b.Fatalf("unexpected result: %s", res.Reason)
				}
				b.ReportMetric(float64(len(res.Targets)), "targets-affected")
			})
		}
	})
}

// BenchmarkAffectedProcess times kustomatrix affected --files end to end;
// the 1,000-file change names kustomization files, which makes affected
// scan, unless --checked says kustomatrix check has just passed (as in the
// generated plan job). The --checked answer is compared with the scan's.
func BenchmarkAffectedProcess(b *testing.B) {
	bin := cliBinary(b)
	forSizes(b, func(b *testing.B, n int, dir string) {
		for _, k := range changeSizes {
			list := filepath.Join(b.TempDir(), "changed.txt")
			if err := os.WriteFile(list, []byte(strings.Join(changedFiles(n, k), "\n")+"\n"), 0o644); err != nil {
				b.Fatal(err)
			}
			args := []string{"affected", "--repo", dir, "--files", list}
			b.Run(fmt.Sprintf("files=%d", k), func(b *testing.B) {
				runProcess(b, 0, bin, args...)
			})
			if k == 1 {
				continue
			}
			scanned, err := exec.Command(bin, append(args, "--scan")...).Output()
			if err != nil {
				b.Fatal(err)
			}
			checked, err := exec.Command(bin, append(args, "--checked")...).Output()
			if err != nil {
				b.Fatal(err)
			}
			if !bytes.Equal(checked, scanned) {
				b.Fatalf("affected --checked differs from a scan:\n%.2000s\n---\n%.2000s", checked, scanned)
			}
			b.Run(fmt.Sprintf("files=%d/checked", k), func(b *testing.B) {
				runProcess(b, 0, bin, append(args, "--checked")...)
			})
		}
	})
}

// BenchmarkFloorRead is the floor: walking the repository and reading every
// file once, in one goroutine.
func BenchmarkFloorRead(b *testing.B) {
	forSizes(b, func(b *testing.B, n int, dir string) {
		var files, bytes int
		for b.Loop() {
			files, bytes = 0, 0
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				data, err := os.ReadFile(p)
				files++
				bytes += len(data)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(files), "files")
		b.ReportMetric(float64(bytes)/(1<<20), "MiB")
	})
}

// BenchmarkFloorFindCat is the floor as a shell pipeline would see it.
func BenchmarkFloorFindCat(b *testing.B) {
	forSizes(b, func(b *testing.B, n int, dir string) {
		runProcess(b, 0, "sh", "-c", `find "$1" -type f | xargs cat > /dev/null`, "sh", dir)
	})
}

// naiveSample is how many roots BenchmarkNaiveBuild builds at most; beyond
// it the time is extrapolated linearly to every root.
const naiveSample = 300

// BenchmarkNaiveBuild is the naive pipeline: kustomize build of every root
// (krusty.MakeKustomizer(...).Run), one after the other. With more than
// naiveSample roots it builds an evenly spread sample and reports ns/op
// extrapolated to all roots (roots-built says how many were built).
func BenchmarkNaiveBuild(b *testing.B) {
	forSizes(b, func(b *testing.B, n int, dir string) {
		repo := scanDir(b, dir)
		roots := make([]string, 0, naiveSample)
		total := len(repo.Targets)
		if total <= naiveSample {
			for _, t := range repo.Targets {
				roots = append(roots, t.Path)
			}
		} else {
			for i := 0; i < naiveSample; i++ {
				roots = append(roots, repo.Targets[i*total/naiveSample].Path)
			}
		}
		opts := krusty.MakeDefaultOptions()
		opts.LoadRestrictions = types.LoadRestrictionsRootOnly
		fsys := filesys.MakeFsOnDisk()
		start := time.Now()
		iters := 0
		for b.Loop() {
			iters++
			for _, r := range roots {
				if _, err := krusty.MakeKustomizer(opts).Run(fsys, filepath.Join(dir, filepath.FromSlash(r))); err != nil {
					b.Fatalf("kustomize build %s: %v", r, err)
				}
			}
		}
		perOp := float64(time.Since(start).Nanoseconds()) / float64(iters)
		b.ReportMetric(perOp*float64(total)/float64(len(roots)), "ns/op")
		b.ReportMetric(float64(len(roots)), "roots-built")
		b.ReportMetric(float64(total), "roots-total")
	})
}

// The fast path that makes a scan of a big monorepo affordable (fastYAML,
// fastUnmarshal in kustomization.go) must never change a result: where it
// answers, kustomize's own decoding gives the same JSON and the same
// Kustomization.

// fastYAMLCases are the shapes of YAML the fast path must get right or
// leave to kustomize: YAML 1.1 words and numbers, quotes, comments,
// compact and nested sequences, and what it gives up on.
var fastYAMLCases = []string{
	"resources:\n- a.yaml\n- ../../base\n",
	"resources:\n  - a.yaml # the app\n  - 'b #c.yaml'\n  - \"d.yaml\"\n",
	"---\nkind: Component\n",
	"---\nkind: Component\n---\nkind: Kustomization\n",
	"a: yes\nb: No\nc: on\nd: OFF\ne: y\nf: ~\ng: null\nh:\ni: true\nj: False\n",
	"a: 0755\nb: 08\nc: 1_000\nd: 0x1F\ne: +12\nf: -3\ng: 0b101\nh: -0b11\ni: 1e3\nj: 1.5\nk: 1.4.2\nl: 99999999999999999999\nm: 0o17\n",
	"a: 2024-01-01\nb: 2024-01-01T10:00:00Z\nc: 12345-6\nd: 1234-\n",
	"a: .\nb: ..\nc: ../x\nd: .5\ne: .inf\nf: -.Inf\ng: .nan\nh: .x\n",
	"a: 'it''s'\nb: \"x\\ty\"\nc: 'a' #c\nd: 'a'#c\ne: 'a' b\nf: 'open\n",
	"a: b: c\nb: c:\nc: http://x/y?z=1#frag\nd: a #b\ne: a#b\nf: - x\ng: -x\nh: -\n",
	"images:\n- name: app\n  newTag: v1\n- name: db\n  newName: x\n  digest: sha256:abc\n",
	"- a\n- b\n",
	"plain\n",
	"",
	"# only a comment\n",
	"a:\n  - - x\n    - y\n  -\n    b: c\n  - # nothing\n  -\n",
	"a:\n  b:\n  - x\n  c: d\n",
	"a:\n- x\n - y\n",
	"a: x\n  continued\n",
	"a:\n  x\n",
	"a:\n  x\n  y\n",
	"a: 1\na: 2\n",
	"a: 1\nA: 2\n",
	"a: [x, y]\nb: {c: d}\nc: &anchor x\nd: *anchor\ne: !!str 1\nf: |\n  text\ng: >\n  text\n",
	"a: 1\r\nb: 2\r\n",
	"a:\tb\n",
	"\ufeffa: b\n",
	"a: é\n",
	"? a\n: b\n",
	"a : b\n",
	"yes: 1\n",
	"on: x\nn: y\n",
	"<<: x\n",
	"  a: b\n  c: d\n",
	"  a: b\nc: d\n",
	"a:\n    b: 1\n  c: 2\n",
	"a:\n  - b: 1\n    c: 2\n  - d\n",
	"a:\n- b:\n  - c\n- d\n",
	"a: ---\nb: ...\n---x: y\n",
	"%YAML 1.1\n---\na: b\n",
	"a: b\n...\n",
	"a: \"\"\nb: ''\nc: \" spaced \"\n",
	"1: x\n",
	"a_b/c.d-e: x\n_x: y\n",
	"a: x,y\nb: x[0]\nc: x{1}\nd: a@b\ne: a`b\n",
	"a: ,x\nb: [\nc: }\nd: @x\ne: `x\nf: %x\ng: ?x\nh: :x\n",
	"kind: Kustomization\nresources: yes\n",
	"kind: Kustomization\nnamespace: 0755\n",
	"kind: Kustomization\nunknownField: x\n",
	"replicas:\n- name: x\n  count: \"2\"\n",
	"replicas:\n- name: x\n  count: 2\n",
}

// checkFastYAML fails when the fast path answers differently from
// kustomize: its JSON must be sigs.k8s.io/yaml's, byte for byte, and its
// Kustomization that of types.Kustomization.Unmarshal.
func checkFastYAML(t *testing.T, name string, data []byte) bool {
	t.Helper()
	tree, ok := fastYAML(data)
	if !ok {
		return false
	}
	got, err := json.Marshal(tree)
	if err != nil {
		t.Fatalf("%s: fast tree does not marshal: %v", name, err)
	}
	want, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("%s: the fast path accepts what yaml.v2 rejects (%v):\n%s", name, err, data)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: fast JSON differs:\n got %s\nwant %s\nfrom:\n%s", name, got, want, data)
	}
	var fast, slow types.Kustomization
	if fastUnmarshal(data, &fast) {
		if err := slow.Unmarshal(data); err != nil {
			t.Fatalf("%s: fastUnmarshal accepts what kustomize rejects (%v):\n%s", name, err, data)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%s: fastUnmarshal differs from kustomize:\n got %+v\nwant %+v", name, fast, slow)
		}
	}
	return true
}

func TestFastYAMLMatchesKustomize(t *testing.T) {
	fast := 0
	for i, c := range fastYAMLCases {
		checkFastYAML(t, fmt.Sprintf("case %d", i), []byte(c))
		// Each line alone too, so that one line the fast path gives up on
		// does not hide the others.
		for j, l := range strings.SplitAfter(c, "\n") {
			if checkFastYAML(t, fmt.Sprintf("case %d line %d", i, j+1), []byte(l)) {
				fast++
			}
		}
	}
	t.Logf("the fast path took %d lines of the cases", fast)
	// Every YAML file of the fixtures, the example and the corpora.
	fast, all := 0, 0
	for _, root := range []string{"../testdata", "../../shared/corpora"} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml") || d.Name() == "Kustomization") {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			all++
			if checkFastYAML(t, p, data) {
				fast++
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	t.Logf("the fast path took %d of %d YAML files of the fixtures and corpora", fast, all)
	// The synthetic repositories must take it throughout, or the
	// benchmarks measure something else.
	for p, c := range synthFiles(20) {
		if isKustomizationName(path.Base(p)) && !checkFastYAML(t, p, []byte(c)) {
			t.Errorf("%s: the fast path gives up on a synthetic kustomization:\n%s", p, c)
		}
	}
}

// FuzzFastYAML: wherever the fast path answers, it answers as kustomize.
func FuzzFastYAML(f *testing.F) {
	for _, c := range fastYAMLCases {
		f.Add([]byte(c))
	}
	for _, b := range fixtureFiles(f, func(p string) bool { return isKustomizationName(path.Base(p)) }) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastYAML(t, "fuzz", data)
	})
}

// TestAffectedMatchesInputIndex holds Affected, which now indexes the
// change, to the per-target input index it replaced (kept here as the
// reference): the same targets for changes of files, directories, parents
// and odd paths, on a repository with escaped and directory inputs.
func TestAffectedMatchesInputIndex(t *testing.T) {
	targets := []*Target{
		{Path: "a", Inputs: []string{"a/kustomization.yaml", "bases/common/**", `a/config\[1\].yaml`}},
		{Path: "b", Inputs: []string{"**"}},
		{Path: "c", Inputs: []string{"c/kustomization.yaml", "c/x.yaml", "shared/**"}},
		{Path: "d", Inputs: []string{"d/kustomization.yaml", `d/\{weird\}/**`}},
		{Path: "e", Inputs: []string{"/**", "e/kustomization.yaml"}},
	}
	for i := 0; i < 40; i++ {
		s := synthService(i)
		targets = append(targets, &Target{Path: "apps/" + s, Inputs: []string{"apps/" + s + "/base/deployment.yaml", "apps/" + s + "/overlays/prod/**", "bases/common/kustomization.yaml"}})
	}
	paths := []string{"a/kustomization.yaml", "a/config[1].yaml", "a/config1.yaml", "bases/common", "bases/common/x.yaml", "bases",
		"c/x.yaml", "c", "shared", "shared/deep/er.yaml", "d/{weird}/x", "d/{weird}", "d/weird/x", "/abs/file", "/", ".", "",
		"apps/svc0003/base/deployment.yaml", "apps/svc0007/overlays/prod", "apps/svc0007/overlays/prod/replicas.yaml", "apps/svc0009/overlays/dev/x.yaml",
		"bases/common/kustomization.yaml", "terraform/main.tf", "e/kustomization.yaml"}
	repo := &Repo{Config: &Config{}, Targets: targets}
	repo.Config.Defaults()
	for i := 0; i < 2000; i++ {
		var files []string
		for j := 0; j <= i%4; j++ {
			files = append(files, paths[(i*7+j*13)%len(paths)])
		}
		if i < len(paths) {
			files = []string{paths[i]}
		}
		want := referenceAffected(targets, files)
		got := Affected(repo, ChangeSet{Files: files})
		var gotPaths []string
		for _, tg := range got.Targets {
			gotPaths = append(gotPaths, tg.Path)
		}
		if strings.Join(gotPaths, " ") != strings.Join(want, " ") {
			t.Fatalf("files %q: Affected gives %q, the input index %q", files, gotPaths, want)
		}
	}
}

// referenceAffected is the input index Affected used before: every
// target's inputs in maps, looked up for each changed file.
func referenceAffected(targets []*Target, files []string) []string {
	exact, dirs := map[string][]int{}, map[string][]int{}
	type glob struct {
		glob   string
		target int
	}
	var globs []glob
	for i, t := range targets {
		for _, in := range t.Inputs {
			switch {
			case in == "**":
				dirs["."] = append(dirs["."], i)
			case strings.Contains(in, `\`):
				globs = append(globs, glob{in, i})
			case strings.HasSuffix(in, "/**"):
				d := strings.TrimSuffix(in, "/**")
				dirs[d] = append(dirs[d], i)
			default:
				exact[in] = append(exact[in], i)
			}
		}
	}
	hit := map[int]bool{}
	for _, f := range files {
		for _, i := range exact[f] {
			hit[i] = true
		}
		for d := f; ; d = path.Dir(d) {
			for _, i := range dirs[d] {
				hit[i] = true
			}
			if d == "." || d == "/" {
				break
			}
		}
		for _, g := range globs {
			if ok, _ := doublestar.Match(g.glob, f); ok {
				hit[g.target] = true
			}
			if ok, _ := doublestar.Match(g.glob, f+"/**"); ok {
				hit[g.target] = true
			}
		}
		// A changed path touches every input below it (a gitlink).
		for i, t := range targets {
			for _, in := range t.Inputs {
				if f != "" && strings.HasPrefix(in, f+"/") {
					hit[i] = true
				}
			}
		}
	}
	var out []string
	for i, t := range targets {
		if hit[i] {
			out = append(out, t.Path)
		}
	}
	return out
}

// BenchmarkAffectedGitProcess times the command the generated plan job
// runs, kustomatrix affected --base REV --head REV, on a git history of the
// synthetic repository: the head is the repository as written, the base the
// same tree with changedFiles(n, 1000) at a previous revision. The
// kustomization files among them differ as a bot's image tag bump does
// (their references are unchanged), so affected reads the committed paths
// file instead of scanning. The answer is checked against --scan once.
//
// The history lives outside the repository (GIT_DIR), so that the other
// benchmarks read the same tree.
func BenchmarkAffectedGitProcess(b *testing.B) {
	bin := cliBinary(b)
	forSizes(b, func(b *testing.B, n int, dir string) {
		if _, err := os.Stat(filepath.Join(dir, ".github")); err != nil {
			b.Skipf("no generated pipeline at %d services", n)
		}
		changed := changedFiles(n, 1000)
		gitDir := synthHistory(b, n, dir, changed)
		b.Setenv("GIT_DIR", gitDir)
		b.Setenv("GIT_WORK_TREE", dir)
		kusts := 0
		for _, f := range changed {
			if IsKustomizationFile(f) {
				kusts++
			}
		}
		b.ReportMetric(float64(kusts), "kustomizations-changed")
		for _, c := range []struct{ name, base string }{
			// Tag bumps: the graph is the same at both ends, nothing but
			// the head's paths file is read.
			{"files=1000", "before"},
			// One kustomization gained a reference at the head: the base
			// is scanned too, from git objects.
			{"files=1001/graph-change", "before-graph"},
		} {
			args := []string{"affected", "--repo", dir, "--base", c.base, "--deployed"}
			fast, err := exec.Command(bin, append(args, "--checked")...).Output()
			if err != nil {
				b.Fatal(err)
			}
			scanned, err := exec.Command(bin, append(args, "--scan")...).Output()
			if err != nil {
				b.Fatal(err)
			}
			if !bytes.Equal(fast, scanned) {
				b.Fatalf("affected --checked differs from a scan of both ends:\n%.2000s\n---\n%.2000s", fast, scanned)
			}
			b.Run(c.name, func(b *testing.B) {
				runProcess(b, 0, bin, append(args, "--checked")...)
			})
		}
	})
}

// synthHistory makes (once) a git history of the repository in dir: tag
// "after" is the tree as it is, tag "before" its parent, in which the
// changed files are at a previous revision.
func synthHistory(b *testing.B, n int, dir string, changed []string) string {
	b.Helper()
	gitDir := filepath.Join(filepath.Dir(dir), fmt.Sprintf("history-graph-%d.git", n))
	env := append(os.Environ(), "GIT_DIR="+gitDir, "GIT_WORK_TREE="+dir,
		"GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com", "GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com")
	git := func(stdin string, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env, cmd.Stdin = dir, env, strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if _, err := os.Stat(gitDir); err == nil {
		// Kept from an earlier run: valid while "after" is still the tree.
		cmd := exec.Command("git", "diff", "--quiet", "after", "--")
		cmd.Dir, cmd.Env = dir, env
		if cmd.Run() == nil {
			return gitDir
		}
		if err := os.RemoveAll(gitDir); err != nil {
			b.Fatal(err)
		}
	}
	git("", "init", "-q")
	git("", "add", "-A")
	// The previous revision of each changed file: a kustomization with an
	// older image tag (or a comment), any other file one line shorter.
	var paths strings.Builder
	old := b.TempDir()
	for i, f := range changed {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			b.Fatal(err)
		}
		prev := string(data) + "# a line the change removed\n"
		if IsKustomizationFile(f) {
			if strings.Contains(prev, "newTag: ") {
				prev = strings.Replace(string(data), "newTag: ", "newTag: previous-", 1)
			} else {
				prev = "# an older comment\n" + string(data)
			}
		}
		p := filepath.Join(old, strconv.Itoa(i))
		if err := os.WriteFile(p, []byte(prev), 0o644); err != nil {
			b.Fatal(err)
		}
		paths.WriteString(p + "\n")
	}
	shas := strings.Fields(git(paths.String(), "hash-object", "-w", "--stdin-paths"))
	var info strings.Builder
	for i, f := range changed {
		fmt.Fprintf(&info, "100644 %s\t%s\n", shas[i], f)
	}
	git(info.String(), "update-index", "--index-info")
	git("", "commit", "-q", "-m", "before")
	git("", "tag", "before")
	// before-graph: "before" with one more reference in the first
	// service's prod overlay, so that the change from it to "after"
	// alters the dependency graph.
	overlay := "apps/" + synthService(0) + "/overlays/prod/kustomization.yaml"
	data, err := os.ReadFile(filepath.Join(dir, overlay))
	if err != nil {
		b.Fatal(err)
	}
	extra := filepath.Join(old, "graph")
	if err := os.WriteFile(extra, append(data, "\n# and one more\nconfigurations:\n  - ../../base/deployment.yaml\n"...), 0o644); err != nil {
		b.Fatal(err)
	}
	sha := git(extra+"\n", "hash-object", "-w", "--stdin-paths")
	git(fmt.Sprintf("100644 %s\t%s\n", sha, overlay), "update-index", "--index-info")
	git("", "commit", "-q", "-m", "before-graph")
	git("", "tag", "before-graph")
	git("", "add", "-A")
	git("", "commit", "-q", "-m", "after")
	git("", "tag", "after")
	return gitDir
}
