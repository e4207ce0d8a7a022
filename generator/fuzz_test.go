package generator

import (
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gopkg.in/yaml.v3"
)

// The seed corpora are the real fixtures (added below) plus the hand-made
// edge cases in testdata/fuzz/<FuzzName>/, which is also where the fuzzer
// keeps any input that fails.

// fixtureFiles returns the content of every file under ../testdata whose
// slash-separated path satisfies keep.
func fixtureFiles(f *testing.F, keep func(p string) bool) [][]byte {
	f.Helper()
	var out [][]byte
	err := filepath.WalkDir("../testdata", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !keep(filepath.ToSlash(p)) {
			return err
		}
		b, err := os.ReadFile(p)
		out = append(out, b)
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	if len(out) == 0 {
		f.Fatal("no fixtures found under ../testdata")
	}
	return out
}

// FuzzLoadConfig: LoadConfig never panics; it returns a *ConfigError with
// positioned, sorted problems, or a configuration with every default
// applied that validates again and survives a YAML round trip.
func FuzzLoadConfig(f *testing.F) {
	for _, b := range fixtureFiles(f, func(p string) bool { return path.Base(p) == ConfigFile || strings.Contains(p, "/config/") }) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := LoadConfig("fuzz.yaml", data)
		if err != nil {
			checkConfigError(t, err)
			return
		}
		if cfg.Name == "" || cfg.DeployBranch == "" || len(cfg.RunsOn) == 0 || cfg.Kustomize.LoadRestrictor == "" ||
			cfg.Tool.Uses == "" || cfg.Tool.Version == "" {
			t.Fatalf("defaults not applied: %+v", cfg)
		}
		again := *cfg
		again.Defaults()
		if !reflect.DeepEqual(*cfg, again) {
			t.Fatalf("Defaults changed a loaded config:\n%s", cmp.Diff(*cfg, again, cmp.AllowUnexported(Config{})))
		}
		if ps := cfg.validate("fuzz.yaml", &yaml.Node{}); len(ps) != 0 {
			t.Fatalf("a loaded config does not validate again: %v", ps)
		}
		roundTrip(t, cfg)
	})
}

func checkConfigError(t *testing.T, err error) {
	ce, ok := err.(*ConfigError)
	if !ok {
		t.Fatalf("error is %T, not *ConfigError: %v", err, err)
	}
	if len(ce.Problems) == 0 {
		t.Fatal("a *ConfigError without problems")
	}
	for _, p := range ce.Problems {
		if p.Path != "fuzz.yaml" || p.Line < 0 || p.Col < 0 || p.Message == "" || p.Kind == "" {
			t.Fatalf("malformed problem %#v", p)
		}
	}
	sorted := sortDiagnostics(slices.Clone(ce.Problems))
	if !slices.Equal(sorted, ce.Problems) {
		t.Fatalf("problems are not sorted and unique: %q", ce.Error())
	}
}

// roundTrip writes a loaded configuration back as YAML and loads it again:
// what LoadConfig accepts and returns, it must accept and return unchanged.
func roundTrip(t *testing.T, cfg *Config) {
	var n yaml.Node
	if err := n.Encode(cfg); err != nil {
		t.Fatalf("encoding a loaded config: %v", err)
	}
	dropNullAWSEKS(&n)
	out, err := yaml.Marshal(&n)
	if err != nil {
		t.Fatalf("marshalling a loaded config: %v", err)
	}
	back, err := LoadConfig("fuzz.yaml", out)
	if err != nil {
		t.Fatalf("a loaded config, written back, does not load:\n%s\n%v", out, err)
	}
	if diff := cmp.Diff(cfg, back, cmpopts.EquateEmpty(), cmpopts.EquateNaNs(), cmpopts.IgnoreUnexported(Config{})); diff != "" {
		t.Fatalf("a loaded config changes when written back and loaded (-first +second):\n%s\n%s", diff, out)
	}
}

// dropNullAWSEKS removes the "awsEks: null" that encoding a nil *AWSEKS
// writes: LoadConfig wants a mapping there, and a user leaves the key out.
func dropNullAWSEKS(root *yaml.Node) {
	envs, _ := childNode(root, "environments")
	if envs == nil {
		return
	}
	for i := 1; i < len(envs.Content); i += 2 {
		for _, key := range []string{"credentials", "diffCredentials"} {
			cr, _ := childNode(envs.Content[i], key)
			if cr == nil {
				continue
			}
			for j := 0; j+1 < len(cr.Content); j += 2 {
				if cr.Content[j].Value == "awsEks" && cr.Content[j+1].Tag == "!!null" {
					cr.Content = append(cr.Content[:j], cr.Content[j+2:]...)
					break
				}
			}
		}
	}
}

// FuzzParseKustomization: parseKustomization never panics; a kustomization
// that does not parse has a positioned [yaml] diagnostic and at most guessed
// references (to kustomization directories); one that does names no empty,
// inline or badly positioned reference.
func FuzzParseKustomization(f *testing.F) {
	for _, b := range fixtureFiles(f, func(p string) bool { return isKustomizationName(path.Base(p)) }) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k := parseKustomization("app", "app/kustomization.yaml", data)
		if k == nil || k.Dir != "app" || k.File != "app/kustomization.yaml" {
			t.Fatalf("parseKustomization = %+v", k)
		}
		for _, r := range k.Refs {
			if r.Value == "" || r.Line < 0 || r.Col < 0 || r.Kind < refKustomization || r.Kind > refDir {
				t.Fatalf("malformed reference %#v", r)
			}
		}
		if k.Err != nil {
			if k.Err.Kind != KindYAML || k.Err.Path != k.File || k.Err.Line < 1 || k.Err.Message == "" {
				t.Fatalf("malformed parse diagnostic %#v", *k.Err)
			}
			if k.Component {
				t.Fatal("a kustomization that does not parse is taken for a component")
			}
			for _, r := range k.Refs {
				if r.Kind != refKustomization || r.Line < 1 {
					t.Fatalf("a guessed reference that is not a positioned kustomization reference: %#v", r)
				}
			}
			return
		}
		for _, r := range k.Refs {
			if r.Field == "" {
				t.Fatalf("a reference without its field: %#v", r)
			}
			// Only the fields kustomize may read inline are tested for
			// content; in every other field "{}" or "#x" is a file name.
			if r.Field == "patchesStrategicMerge" && isInline(r.Value) {
				t.Fatalf("an inline document taken for a path: %#v", r)
			}
		}
	})
}

// FuzzPluginPaths: pluginPaths never panics, and every path it returns is
// a string of the document (or the path part of a "key=path" string).
func FuzzPluginPaths(f *testing.F) {
	for _, b := range fixtureFiles(f, func(p string) bool {
		return strings.HasSuffix(p, ".yaml") && !isKustomizationName(path.Base(p)) && !strings.Contains(p, "/config/")
	}) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := pluginPaths(data)
		if again := pluginPaths(data); !slices.Equal(got, again) {
			t.Fatalf("pluginPaths is not deterministic: %q then %q", got, again)
		}
		if len(got) == 0 {
			return
		}
		strs := documentStrings(data)
		for _, p := range got {
			if !strs[p] {
				t.Fatalf("pluginPaths returned %q, which is not a string of the document (strings: %q)", p, slices.Sorted(maps.Keys(strs)))
			}
		}
	})
}

// documentStrings collects every string value of every document, and the
// part after the first '=' of each, as pluginPaths may return either.
func documentStrings(data []byte) map[string]bool {
	out := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out[v] = true
			if i := strings.Index(v, "="); i >= 0 {
				out[v[i+1:]] = true
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		case map[any]any:
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for {
		var doc map[string]any
		if dec.Decode(&doc) != nil {
			return out
		}
		walk(doc)
	}
}

// FuzzJobID: every job id is one GitHub accepts, lower case (GitHub
// compares job ids ignoring case), and "deploy-" plus the usable part of
// the name; JobID is idempotent on that part. A name with no usable
// character at all (empty, only punctuation or non-ASCII letters) gets
// "deploy-x" and a hash of the name, so such names do not collide.
func FuzzJobID(f *testing.F) {
	for _, s := range []string{"cart", "team-a-cart", "a.b", "Cart_Service", "", "日本", "über", "--x--", "K", "İ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id := JobID(s)
		if !jobIDRe.MatchString(id) {
			t.Fatalf("JobID(%q) = %q does not match %s", s, id, jobIDRe)
		}
		if id != strings.ToLower(id) {
			t.Fatalf("JobID(%q) = %q is not lower case", s, id)
		}
		usable := strings.IndexFunc(strings.ToLower(s), func(r rune) bool {
			return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_'
		}) >= 0
		if !usable {
			if !regexp.MustCompile(`^deploy-x[0-9a-f]{8}$`).MatchString(id) {
				t.Fatalf("JobID(%q) = %q; want deploy-x and a hash for a name without a usable character", s, id)
			}
			return
		}
		rest, ok := strings.CutPrefix(id, "deploy-")
		if !ok || rest == "" || strings.HasPrefix(rest, "-") || strings.HasSuffix(rest, "-") || strings.Contains(rest, "--") {
			t.Fatalf("JobID(%q) = %q; want deploy- and a name without leading, trailing or doubled dashes", s, id)
		}
		if again := JobID(rest); again != id {
			t.Fatalf("JobID is not idempotent: JobID(%q) = %q, JobID(%q) = %q", s, id, rest, again)
		}
	})
}

// FuzzSplitName: for any clean relative directory path, the naming rule
// gives a non-empty environment and non-empty candidates, all taken from
// the path's segments (or the "default" environment and the "root" service).
func FuzzSplitName(f *testing.F) {
	for _, s := range []string{"apps/cart/overlays/prod", "clusters/production", "apps/cart/prod-eu", ".", "overlays/prod",
		"apps/cart/k8s/overlays/prod", "k8s", "overlays", "a/overlays", "prod", "team-a/cart/envs/qa"} {
		f.Add(s, "")
	}
	f.Add("apps/cart/eu-central", "eu-central")
	f.Fuzz(func(t *testing.T, p, env string) {
		envWords := map[string]bool{}
		if env != "" {
			envWords[env] = true
		}
		splitName(p, envWords) // any string: no panic
		p = path.Clean(p)
		if strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../") {
			return // not a directory inside the repository
		}
		np := splitName(p, envWords)
		segs := map[string]bool{}
		for _, s := range strings.Split(p, "/") {
			segs[s] = true
		}
		if np.environment == "" || !(segs[np.environment] || np.environment == DefaultEnvironment) {
			t.Fatalf("splitName(%q).environment = %q", p, np.environment)
		}
		if len(np.candidates) == 0 {
			t.Fatalf("splitName(%q) has no candidates", p)
		}
		for _, c := range np.candidates {
			if c == "" || !(segs[c] || c == "root") || c == "." {
				t.Fatalf("splitName(%q).candidates = %q", p, np.candidates)
			}
		}
	})
}
