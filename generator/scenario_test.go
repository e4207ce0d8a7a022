package generator

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// scenario is a repository in memory, built the way kustomize's own
// harness builds its tests: write a base, write an overlay, expect a result.
type scenario struct {
	t    *testing.T
	fs   filesys.FileSystem
	repo string // the repository's absolute path in fs
}

func newScenario(t *testing.T) *scenario {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	if err := fs.MkdirAll("/repo"); err != nil {
		t.Fatal(err)
	}
	return &scenario{t: t, fs: fs, repo: "/repo"}
}

// newDiskScenario is a scenario in a temporary directory, for file names
// the in-memory file system refuses.
func newDiskScenario(t *testing.T) *scenario {
	t.Helper()
	return &scenario{t: t, fs: filesys.MakeFsOnDisk(), repo: t.TempDir()}
}

// in returns the scenario for a subtest: same repository, failures
// reported to t.
func (s *scenario) in(t *testing.T) *scenario {
	c := *s
	c.t = t
	return &c
}

// write writes a file, relative to the repository root.
func (s *scenario) write(p, content string) {
	s.t.Helper()
	full := filepath.Join(s.repo, filepath.FromSlash(p))
	if err := s.fs.MkdirAll(filepath.Dir(full)); err != nil {
		s.t.Fatal(err)
	}
	if err := s.fs.WriteFile(full, []byte(content)); err != nil {
		s.t.Fatal(err)
	}
}

// files writes files that only need to exist, with placeholder content.
func (s *scenario) files(ps ...string) {
	s.t.Helper()
	for _, p := range ps {
		s.write(p, "# "+p+"\n")
	}
}

// config loads a configuration file's content.
func (s *scenario) config(yaml string) *Config {
	s.t.Helper()
	cfg, err := LoadConfig(ConfigFile, []byte(yaml))
	if err != nil {
		s.t.Fatalf("bad scenario config: %v", err)
	}
	return cfg
}

// scan scans the repository with cfg (nil: the defaults) and fails the test
// on an error.
func (s *scenario) scan(cfg *Config) *Repo {
	s.t.Helper()
	r, err := s.scanErr(cfg)
	if err != nil {
		s.t.Fatalf("Scan: %v", err)
	}
	return r
}

// scanErr scans and returns the error, which must be a *ConfigError.
func (s *scenario) scanErr(cfg *Config) (*Repo, error) {
	s.t.Helper()
	if cfg == nil {
		cfg = s.config("")
	}
	r, err := Scan(s.fs, s.repo, cfg)
	var ce *ConfigError
	if err != nil && !errors.As(err, &ce) {
		s.t.Fatalf("Scan error is %T, not a *ConfigError: %v", err, err)
	}
	return r, err
}

// targetList lists a scan's targets as "service env path".
func targetList(r *Repo) []string {
	out := []string{}
	for _, t := range r.Targets {
		out = append(out, t.Service+" "+t.Environment+" "+t.Path)
	}
	return out
}

// inputs returns the inputs of the target at root.
func (s *scenario) inputs(r *Repo, root string) []string {
	s.t.Helper()
	for _, t := range r.Targets {
		if t.Path == root {
			return t.Inputs
		}
	}
	s.t.Fatalf("no target at %q; targets are %q", root, targetList(r))
	return nil
}

func diagnosticList(r *Repo) []string {
	out := []string{}
	for _, d := range r.Diagnostics {
		out = append(out, d.String())
	}
	return out
}

func (s *scenario) expect(what string, want, got any) {
	s.t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		s.t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

// problemList returns the messages of a *ConfigError.
func problemList(err error) []string {
	var ce *ConfigError
	if !errors.As(err, &ce) {
		return nil
	}
	var out []string
	for _, p := range ce.Problems {
		out = append(out, p.String())
	}
	return out
}

// cartRepo is a service with a base and two overlays, the common layout.
func cartRepo(t *testing.T) *scenario {
	th := newScenario(t)
	th.write("apps/cart/base/kustomization.yaml", "resources:\n  - deployment.yaml\n")
	th.files("apps/cart/base/deployment.yaml")
	th.write("apps/cart/overlays/dev/kustomization.yaml", "resources:\n  - ../../base\n")
	th.write("apps/cart/overlays/prod/kustomization.yaml", "resources:\n  - ../../base\n  - namespace.yaml\n")
	th.files("apps/cart/overlays/prod/namespace.yaml")
	return th
}

func TestScenarioDiscovery(t *testing.T) {
	t.Run("referenced bases are not roots", func(t *testing.T) {
		th := cartRepo(t)
		r := th.scan(nil)
		th.expect("targets", []string{"cart dev apps/cart/overlays/dev", "cart prod apps/cart/overlays/prod"}, targetList(r))
		th.expect("diagnostics", []string{}, diagnosticList(r))
		th.expect("services", []string{"cart deploy-cart 2"}, serviceSummary(r))
	})
	t.Run("a component is never a root", func(t *testing.T) {
		th := cartRepo(t)
		th.write("components/debug/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n")
		th.write("components/unused/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n")
		th.write("apps/cart/overlays/dev/kustomization.yaml", "resources:\n  - ../../base\ncomponents:\n  - ../../../../components/debug\n")
		r := th.scan(nil)
		th.expect("targets", []string{"cart dev apps/cart/overlays/dev", "cart prod apps/cart/overlays/prod"}, targetList(r))
		th.expect("dev inputs", []string{
			"apps/cart/base/deployment.yaml", "apps/cart/base/kustomization.yaml",
			"apps/cart/overlays/dev/kustomization.yaml", "components/debug/kustomization.yaml",
		}, th.inputs(r, "apps/cart/overlays/dev"))
	})
	t.Run("hidden directories are skipped", func(t *testing.T) {
		th := cartRepo(t)
		th.write(".github/kustomize/kustomization.yaml", "resources: [cm.yaml]\n")
		th.write("apps/.old/prod/kustomization.yaml", "resources: [cm.yaml]\n")
		th.files(".github/kustomize/cm.yaml", "apps/.old/prod/cm.yaml")
		r := th.scan(nil)
		th.expect("targets", []string{"cart dev apps/cart/overlays/dev", "cart prod apps/cart/overlays/prod"}, targetList(r))
	})
	t.Run("a base in a hidden directory is still followed", func(t *testing.T) {
		// The walk skips hidden directories when looking for roots, but a
		// root may still reference a kustomization inside one, and kustomize
		// builds it like any other.
		th := newScenario(t)
		th.write("apps/web/kustomization.yaml", "resources:\n  - ../../.shared/base\n")
		th.write(".shared/base/kustomization.yaml", "resources:\n  - ../../common\n")
		th.write("common/kustomization.yaml", "resources:\n  - labels.yaml\n")
		th.files("common/labels.yaml")
		r := th.scan(nil)
		th.expect("targets", []string{"web default apps/web"}, targetList(r))
		th.expect("inputs", []string{
			".shared/base/kustomization.yaml", "apps/web/kustomization.yaml",
			"common/kustomization.yaml", "common/labels.yaml",
		}, th.inputs(r, "apps/web"))
		th.expect("diagnostics", []string{}, diagnosticList(r))
	})
	t.Run("every kustomization file name", func(t *testing.T) {
		th := newScenario(t)
		th.write("a/kustomization.yaml", "resources: []\n")
		th.write("b/kustomization.yml", "resources: []\n")
		th.write("c/Kustomization", "resources: []\n")
		th.write("d/kustomization.json", "{}\n") // not a name kustomize knows
		r := th.scan(nil)
		th.expect("targets", []string{"a default a", "b default b", "c default c"}, targetList(r))
		th.expect("c inputs", []string{"c/Kustomization"}, th.inputs(r, "c"))
	})
	t.Run("two kustomization files in one directory", func(t *testing.T) {
		th := newScenario(t)
		th.write("app/kustomization.yaml", "resources: []\n")
		th.write("app/kustomization.yml", "resources: []\n")
		r := th.scan(nil)
		th.expect("targets", []string{"app default app"}, targetList(r))
		th.expect("inputs", []string{"app/kustomization.yaml"}, th.inputs(r, "app"))
		th.expect("diagnostics", []string{
			`app/kustomization.yml: directory "app" has several kustomization files (kustomization.yaml, kustomization.yml); kustomize refuses to build it [yaml]`,
		}, diagnosticList(r))
	})
	t.Run("include and exclude globs", func(t *testing.T) {
		th := cartRepo(t)
		th.write("apps/cart/overlays/staging/kustomization.yaml", "resources: [../../base]\n")
		th.write("platform/ingress/kustomization.yaml", "resources: []\n")
		th.write("legacy/old/kustomization.yaml", "resources: []\n")
		for name, tc := range map[string]struct {
			config string
			want   []string
		}{
			"include": {"discovery: {include: ['apps/**']}", []string{
				"cart dev apps/cart/overlays/dev", "cart prod apps/cart/overlays/prod", "cart staging apps/cart/overlays/staging"}},
			"exclude": {"discovery: {exclude: ['legacy/**', '**/staging']}", []string{
				"cart dev apps/cart/overlays/dev", "cart prod apps/cart/overlays/prod", "ingress default platform/ingress"}},
			"include and exclude": {"discovery: {include: ['apps/**', 'platform/*'], exclude: ['apps/*/overlays/dev']}", []string{
				"cart prod apps/cart/overlays/prod", "cart staging apps/cart/overlays/staging", "ingress default platform/ingress"}},
			"brace alternatives": {"discovery: {include: ['{legacy,platform}/**']}", []string{
				"ingress default platform/ingress", "old default legacy/old"}},
		} {
			t.Run(name, func(t *testing.T) {
				th := th.in(t)
				th.expect("targets", tc.want, targetList(th.scan(th.config(tc.config))))
			})
		}
	})
	t.Run("overrides name roots the rule does not fit", func(t *testing.T) {
		th := cartRepo(t)
		th.write("odd-layout/here/kustomization.yaml", "resources: []\n")
		r := th.scan(th.config(`discovery:
  overrides:
    - {path: odd-layout/here, service: odd, environment: prod}
    - {path: apps/cart/overlays/dev, service: basket, environment: development}
`))
		th.expect("targets", []string{
			"basket development apps/cart/overlays/dev", "cart prod apps/cart/overlays/prod", "odd prod odd-layout/here",
		}, targetList(r))
	})
}

func serviceSummary(r *Repo) []string {
	var out []string
	for _, s := range r.Services {
		out = append(out, fmt.Sprintf("%s %s %d", s.Name, s.JobID, len(s.Targets)))
	}
	return out
}

// TestScenarioNaming: each case is a set of roots, each with one empty
// kustomization, and the names they get.
func TestScenarioNaming(t *testing.T) {
	for name, tc := range map[string]struct {
		roots  []string
		config string
		want   []string // "service environment path"
		errs   []string // a *ConfigError instead
	}{
		"overlays directory": {
			roots: []string{"apps/cart/overlays/dev", "apps/cart/overlays/prod", "services/api/envs/qa", "web/environments/uat", "db/variants/preview"},
			want: []string{"api qa services/api/envs/qa", "cart dev apps/cart/overlays/dev", "cart prod apps/cart/overlays/prod",
				"db preview db/variants/preview", "web uat web/environments/uat"},
		},
		"environment words": {
			roots: []string{"apps/cart/prod-eu", "apps/cart/staging_2", "apps/cart/dev", "apps/search/production", "apps/search/pre-prod"},
			want: []string{"cart dev apps/cart/dev", "cart prod-eu apps/cart/prod-eu", "cart staging_2 apps/cart/staging_2",
				"search pre-prod apps/search/pre-prod", "search production apps/search/production"},
		},
		"flat environment directories": {
			roots: []string{"clusters/production", "clusters/staging"},
			want:  []string{"clusters production clusters/production", "clusters staging clusters/staging"},
		},
		"environment in the middle of the path": {
			roots: []string{"prod/cart", "staging/cart"},
			want:  []string{"cart prod prod/cart", "cart staging staging/cart"},
		},
		"no environment": {
			roots: []string{"platform/ingress", "tools"},
			want:  []string{"ingress default platform/ingress", "tools default tools"},
		},
		"generic segments carry no name": {
			roots: []string{"apps/cart/k8s/overlays/prod", "services/api/deploy/staging", "billing/kubernetes/manifests", "config"},
			want: []string{"api staging services/api/deploy/staging", "billing default billing/kubernetes/manifests",
				"cart prod apps/cart/k8s/overlays/prod", "config default config"},
		},
		"environments named in the configuration are environment words": {
			roots:  []string{"apps/cart/eu-central", "apps/cart/us-east"},
			config: "environments:\n  eu-central: {}\n  us-east: {}\n",
			want:   []string{"cart eu-central apps/cart/eu-central", "cart us-east apps/cart/us-east"},
		},
		"without the configuration they are services": {
			roots: []string{"apps/cart/eu-central"},
			want:  []string{"eu-central default apps/cart/eu-central"},
		},
		"a clash takes a parent segment": {
			roots: []string{"team-a/cart/overlays/prod", "team-b/cart/overlays/dev", "team-b/cart/overlays/prod", "team-c/cart/overlays/qa"},
			want: []string{"team-a-cart prod team-a/cart/overlays/prod", "team-b-cart dev team-b/cart/overlays/dev",
				"team-b-cart prod team-b/cart/overlays/prod", "team-c-cart qa team-c/cart/overlays/qa"},
		},
		"a clash grows until names differ": {
			roots: []string{"eu/shop/cart/prod", "us/shop/cart/prod"},
			want:  []string{"eu-shop-cart prod eu/shop/cart/prod", "us-shop-cart prod us/shop/cart/prod"},
		},
		"a clash with no parent left": {
			roots: []string{"cart/prod", "cart/k8s/prod"},
			errs: []string{
				`cart/k8s/prod: cannot give kustomization root "cart/k8s/prod" a unique service and environment name; set discovery.overrides in .kustomatrix.yaml [naming]`,
				`cart/prod: cannot give kustomization root "cart/prod" a unique service and environment name; set discovery.overrides in .kustomatrix.yaml [naming]`,
			},
		},
		"an override resolves the clash": {
			roots:  []string{"cart/prod", "cart/k8s/prod"},
			config: "discovery:\n  overrides:\n    - {path: cart/k8s/prod, service: cart-k8s, environment: prod}\n",
			want:   []string{"cart prod cart/prod", "cart-k8s prod cart/k8s/prod"},
		},
		"two services with one job id": {
			roots: []string{"a.b", "a-b"},
			errs: []string{
				`a.b: services "a-b" (a-b) and "a.b" (a.b) both map to job id "deploy-a-b"; rename a directory or set discovery.overrides in .kustomatrix.yaml [naming]`,
			},
		},
		"job ids ignore case": {
			roots: []string{"Cart", "cart"},
			errs: []string{
				`cart: services "Cart" (Cart) and "cart" (cart) both map to job id "deploy-cart"; rename a directory or set discovery.overrides in .kustomatrix.yaml [naming]`,
			},
		},
		"a root at the repository root": {
			roots: []string{"."},
			want:  []string{"root default ."},
		},
		"a root directly in an overlays directory": {
			roots: []string{"overlays/prod"},
			want:  []string{"root prod overlays/prod"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			th := newScenario(t)
			for _, r := range tc.roots {
				th.write(path.Join(r, "kustomization.yaml"), "resources: []\n")
			}
			r, err := th.scanErr(th.config(tc.config))
			if tc.errs != nil {
				th.expect("problems", tc.errs, problemList(err))
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			th.expect("targets", tc.want, targetList(r))
		})
	}
}

func TestScenarioDependencies(t *testing.T) {
	t.Run("a broken overlay keeps its base", func(t *testing.T) {
		// Only the broken overlay references the base: the base must not
		// become a target of its own, and stays in the overlay's closure.
		th := newScenario(t)
		th.write("apps/web/base/kustomization.yaml", "resources:\n  - deployment.yaml\n")
		th.files("apps/web/base/deployment.yaml")
		th.write("apps/web/overlays/prod/kustomization.yaml", "resources:\n  - ../../base\nimages:\n  - name: web\n   newTag: 2\n")
		r := th.scan(nil)
		th.expect("targets", []string{"web prod apps/web/overlays/prod"}, targetList(r))
		th.expect("inputs", []string{
			"apps/web/base/deployment.yaml", "apps/web/base/kustomization.yaml", "apps/web/overlays/prod/**",
		}, th.inputs(r, "apps/web/overlays/prod"))
		hit := Affected(r, ChangeSet{Files: []string{"apps/web/base/deployment.yaml"}})
		th.expect("affected by a base change", []AffectedTarget{{Service: "web", Environment: "prod", Path: "apps/web/overlays/prod"}}, withoutWhy(hit.Targets))
	})
	t.Run("patches of every spelling", func(t *testing.T) {
		th := cartRepo(t)
		th.write("apps/cart/overlays/prod/kustomization.yaml", `resources:
  - ../../base
patches:
  - path: replicas.yaml
  - target: {kind: Deployment}
    patch: |-
      - op: replace
        path: /spec/replicas
        value: 3
patchesJson6902:
  - target: {group: apps, version: v1, kind: Deployment, name: cart}
    path: probe.json6902.yaml
patchesStrategicMerge:
  - memory.yaml
  - |-
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: cart}
`)
		th.files("apps/cart/overlays/prod/replicas.yaml", "apps/cart/overlays/prod/probe.json6902.yaml", "apps/cart/overlays/prod/memory.yaml",
			"apps/cart/overlays/prod/unused.yaml")
		r := th.scan(nil)
		th.expect("inputs", []string{
			"apps/cart/base/deployment.yaml", "apps/cart/base/kustomization.yaml",
			"apps/cart/overlays/prod/kustomization.yaml", "apps/cart/overlays/prod/memory.yaml",
			"apps/cart/overlays/prod/probe.json6902.yaml", "apps/cart/overlays/prod/replicas.yaml",
		}, th.inputs(r, "apps/cart/overlays/prod"))
		th.expect("diagnostics", []string{}, diagnosticList(r))
	})
	t.Run("generator sources", func(t *testing.T) {
		th := newScenario(t)
		th.write("app/kustomization.yaml", `configMapGenerator:
  - name: settings
    files:
      - app.properties
      - nginx.conf=conf/nginx-default.conf
    envs:
      - settings.env
    literals:
      - MODE=prod
secretGenerator:
  - name: credentials
    files:
      - secrets
`)
		th.files("app/app.properties", "app/conf/nginx-default.conf", "app/settings.env", "app/secrets/password.txt", "app/secrets/token.txt")
		r := th.scan(nil)
		th.expect("inputs", []string{
			"app/app.properties", "app/conf/nginx-default.conf", "app/kustomization.yaml", "app/secrets/**", "app/settings.env",
		}, th.inputs(r, "app"))
		th.expect("diagnostics", []string{}, diagnosticList(r))
	})
	t.Run("helm charts", func(t *testing.T) {
		th := newScenario(t)
		th.write("redis/kustomization.yaml", `helmCharts:
  - name: redis
    version: 1.2.3
    valuesFile: values.yaml
    additionalValuesFiles: [values-prod.yaml]
`)
		th.files("redis/values.yaml", "redis/values-prod.yaml", "redis/charts/redis/Chart.yaml")
		th.write("vendored/kustomization.yaml", "helmGlobals:\n  chartHome: ../third-party/charts\nhelmCharts:\n  - name: nginx\n")
		r := th.scan(nil)
		th.expect("default chart home", []string{
			"redis/charts/**", "redis/kustomization.yaml", "redis/values-prod.yaml", "redis/values.yaml",
		}, th.inputs(r, "redis"))
		th.expect("chart home outside, not yet pulled", []string{"third-party/charts/**", "vendored/kustomization.yaml"}, th.inputs(r, "vendored"))
		th.expect("diagnostics", []string{}, diagnosticList(r))
	})
	t.Run("replacements, openapi, crds and configurations", func(t *testing.T) {
		th := newScenario(t)
		th.write("app/kustomization.yaml", `resources: [deployment.yaml]
replacements:
  - path: replacements.yaml
  - source: {kind: ConfigMap, name: x, fieldPath: data.y}
    targets: [{select: {kind: Deployment}, fieldPaths: [spec.replicas]}]
openapi:
  path: schema.json
crds:
  - crd.yaml
configurations:
  - kustomizeconfig.yaml
`)
		th.files("app/deployment.yaml", "app/replacements.yaml", "app/schema.json", "app/crd.yaml", "app/kustomizeconfig.yaml")
		r := th.scan(nil)
		th.expect("inputs", []string{
			"app/crd.yaml", "app/deployment.yaml", "app/kustomization.yaml", "app/kustomizeconfig.yaml", "app/replacements.yaml", "app/schema.json",
		}, th.inputs(r, "app"))
		th.expect("diagnostics", []string{}, diagnosticList(r))
	})
	t.Run("generator and transformer configuration files", func(t *testing.T) {
		th := newScenario(t)
		th.write("app/kustomization.yaml", "generators:\n  - flags-generator.yaml\ntransformers:\n  - labels.yaml\n  - patch-transformer.yaml\n")
		th.write("app/flags-generator.yaml", `apiVersion: builtin
kind: ConfigMapGenerator
metadata: {name: flags}
files:
  - flags.properties
  - extra=more/extra.txt
envs:
  - flags.env
`)
		th.write("app/labels.yaml", "apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: l}\nlabels: {team: x}\nfieldSpecs: [{path: metadata/labels, create: true}]\n")
		th.write("app/patch-transformer.yaml", "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: patch.yaml\ntarget: {kind: Deployment}\n")
		th.files("app/flags.properties", "app/more/extra.txt", "app/flags.env", "app/patch.yaml")
		r := th.scan(nil)
		th.expect("inputs", []string{
			"app/flags-generator.yaml", "app/flags.env", "app/flags.properties", "app/kustomization.yaml", "app/labels.yaml",
			"app/more/extra.txt", "app/patch-transformer.yaml", "app/patch.yaml",
		}, th.inputs(r, "app"))
		th.expect("diagnostics", []string{}, diagnosticList(r))
	})
	t.Run("file names with glob metacharacters", func(t *testing.T) {
		th := newDiskScenario(t)
		th.write("app/kustomization.yaml", "resources:\n  - 'config[1].yaml'\n  - '{weird}*.yaml'\n")
		th.files("app/config[1].yaml", "app/{weird}*.yaml")
		r := th.scan(nil)
		th.expect("inputs", []string{`app/\{weird\}\*.yaml`, `app/config\[1\].yaml`, "app/kustomization.yaml"}, th.inputs(r, "app"))
		hit := Affected(r, ChangeSet{Files: []string{"app/config[1].yaml"}})
		th.expect("affected by the literal file", []AffectedTarget{{Service: "app", Environment: "default", Path: "app"}}, withoutWhy(hit.Targets))
		miss := Affected(r, ChangeSet{Files: []string{"app/config1.yaml", "app/{weird}x.yaml"}})
		th.expect("not affected by what the glob would match unescaped", []AffectedTarget{}, miss.Targets)
	})
	t.Run("a missing file is an input and a diagnostic", func(t *testing.T) {
		th := newScenario(t)
		th.write("app/kustomization.yaml", "resources:\n  - deployment.yaml\n  - missing.yaml\npatches:\n  - path: gone.yaml\n")
		th.files("app/deployment.yaml")
		r := th.scan(nil)
		th.expect("inputs", []string{"app/deployment.yaml", "app/gone.yaml", "app/kustomization.yaml", "app/missing.yaml"}, th.inputs(r, "app"))
		th.expect("diagnostics", []string{
			`app/kustomization.yaml:3:5: resources "missing.yaml" does not exist [missing]`,
			`app/kustomization.yaml:5:11: patches "gone.yaml" does not exist [missing]`,
		}, diagnosticList(r))
	})
	t.Run("a directory without a kustomization as a resource", func(t *testing.T) {
		th := newScenario(t)
		th.write("app/kustomization.yaml", "resources:\n  - manifests\n")
		th.files("app/manifests/a.yaml")
		r := th.scan(nil)
		th.expect("inputs", []string{"app/kustomization.yaml", "app/manifests/**"}, th.inputs(r, "app"))
		th.expect("diagnostics", []string{`app/kustomization.yaml:2:5: resources "manifests" is a directory without a kustomization file [missing]`}, diagnosticList(r))
	})
	t.Run("a cycle", func(t *testing.T) {
		th := newScenario(t)
		th.write("app/overlays/prod/kustomization.yaml", "resources:\n  - ../../a\n")
		th.write("app/a/kustomization.yaml", "resources:\n  - a.yaml\n  - ../b\n")
		th.write("app/b/kustomization.yaml", "resources:\n  - b.yaml\n  - ../a\n")
		th.files("app/a/a.yaml", "app/b/b.yaml")
		r := th.scan(nil)
		th.expect("targets", []string{"app prod app/overlays/prod"}, targetList(r))
		th.expect("inputs", []string{
			"app/a/a.yaml", "app/a/kustomization.yaml", "app/b/b.yaml", "app/b/kustomization.yaml", "app/overlays/prod/kustomization.yaml",
		}, th.inputs(r, "app/overlays/prod"))
		th.expect("diagnostics", []string{`app/b/kustomization.yaml:3:5: resources "../a" refers back to a kustomization that includes this one [cycle]`}, diagnosticList(r))
	})
	t.Run("references leaving the repository", func(t *testing.T) {
		th := newScenario(t)
		th.write("apps/app/kustomization.yaml", "resources:\n  - ../../../outside\n  - /etc/manifests/cm.yaml\n")
		r := th.scan(nil)
		// The relative one stays in the closure as it leads out: git names a
		// change there so to a manifest repository in a subdirectory.
		th.expect("inputs", []string{"../outside/**", "apps/app/kustomization.yaml"}, th.inputs(r, "apps/app"))
		th.expect("diagnostics", []string{
			`apps/app/kustomization.yaml:2:5: resources "../../../outside" leaves the repository: only a change git records (in the git repository around a manifest repository in a subdirectory) marks this target [escape]`,
			`apps/app/kustomization.yaml:3:5: resources "/etc/manifests/cm.yaml" leaves the repository: only a change git records (in the git repository around a manifest repository in a subdirectory) marks this target [escape]`,
		}, diagnosticList(r))
	})
	t.Run("remote resources", func(t *testing.T) {
		th := newScenario(t)
		th.write("app/kustomization.yaml", `resources:
  - https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v3.3.1
  - github.com/org/repo/deploy?ref=v1
  - git@github.com:org/repo.git
`)
		r := th.scan(nil)
		th.expect("inputs", []string{"app/kustomization.yaml"}, th.inputs(r, "app"))
		const fix = "; allow it with a host/org pattern in kustomize.remoteResources in .kustomatrix.yaml and pin git references with ?ref=<40-hex commit SHA>, or vendor it into the repository [remote-refused]"
		th.expect("diagnostics without kustomize.remoteResources", []string{
			`app/kustomization.yaml:2:5: remote resources "https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v3.3.1" is refused: no pattern of kustomize.remoteResources (none set) matches "github.com/kubernetes-sigs/kustomize"` + fix,
			`app/kustomization.yaml:3:5: remote resources "github.com/org/repo/deploy?ref=v1" is refused: no pattern of kustomize.remoteResources (none set) matches "github.com/org/repo/deploy"` + fix,
			`app/kustomization.yaml:4:5: remote resources "git@github.com:org/repo.git" is refused: no pattern of kustomize.remoteResources (none set) matches "github.com/org/repo.git"` + fix,
		}, diagnosticList(r))
	})
	t.Run("remote resources kustomize.remoteResources allows", func(t *testing.T) {
		th := newScenario(t)
		th.write("app/kustomization.yaml", `resources:
  - https://github.com/org/repo//deploy?ref=0123456789abcdef0123456789abcdef01234567
  - github.com/org/repo/deploy?ref=v1
  - file:///srv/git/repo//deploy?ref=0123456789abcdef0123456789abcdef01234567
`)
		cfg := th.config("kustomize:\n  remoteResources: [github.com/org/*]\n")
		const fix = "; allow it with a host/org pattern in kustomize.remoteResources in .kustomatrix.yaml and pin git references with ?ref=<40-hex commit SHA>, or vendor it into the repository [remote-refused]"
		th.expect("diagnostics", []string{
			`app/kustomization.yaml:2:5: remote resources "https://github.com/org/repo//deploy?ref=0123456789abcdef0123456789abcdef01234567" is allowed by kustomize.remoteResources but not tracked: its changes do not mark this target as affected [remote]`,
			`app/kustomization.yaml:3:5: remote resources "github.com/org/repo/deploy?ref=v1" is refused: git ref "v1" is not pinned to a full 40-character commit SHA (?ref=<sha>): a branch or tag can move` + fix,
			`app/kustomization.yaml:4:5: remote resources "file:///srv/git/repo//deploy?ref=0123456789abcdef0123456789abcdef01234567" is refused: file:// is a local transport: it reads a repository outside this one; no kustomize.remoteResources pattern can allow it; vendor it into the repository [remote-refused]`,
		}, diagnosticList(th.scan(cfg)))
	})
	t.Run("the load restrictor", func(t *testing.T) {
		th := cartRepo(t)
		th.write("apps/cart/overlays/prod/kustomization.yaml", "resources:\n  - ../../base\npatches:\n  - path: ../../../../shared/labels.yaml\n")
		th.files("shared/labels.yaml")
		want := []string{
			"apps/cart/base/deployment.yaml", "apps/cart/base/kustomization.yaml",
			"apps/cart/overlays/prod/kustomization.yaml", "shared/labels.yaml",
		}
		r := th.scan(nil)
		th.expect("inputs under rootOnly", want, th.inputs(r, "apps/cart/overlays/prod"))
		th.expect("diagnostics under rootOnly", []string{
			`apps/cart/overlays/prod/kustomization.yaml:4:11: patches "../../../../shared/labels.yaml" is outside "apps/cart/overlays/prod"; kustomize's load restrictor rootOnly rejects it (set kustomize.loadRestrictor: none to allow it) [load-restrictor]`,
		}, diagnosticList(r))
		r = th.scan(th.config("kustomize: {loadRestrictor: none}"))
		th.expect("inputs under none", want, th.inputs(r, "apps/cart/overlays/prod"))
		th.expect("diagnostics under none", []string{}, diagnosticList(r))
	})
	t.Run("a kustomization that does not parse", func(t *testing.T) {
		th := cartRepo(t)
		th.write("apps/cart/overlays/prod/kustomization.yaml", "resources:\n  - ../../base\n  bad: [\n")
		th.write("apps/cart/base/kustomization.yaml", "resources:\n  - deployment.yaml\nresourcse: []\n")
		r := th.scan(nil)
		th.expect("targets", []string{"cart dev apps/cart/overlays/dev", "cart prod apps/cart/overlays/prod"}, targetList(r))
		th.expect("prod inputs", []string{"apps/cart/base/**", "apps/cart/overlays/prod/**"}, th.inputs(r, "apps/cart/overlays/prod"))
		th.expect("dev inputs", []string{"apps/cart/base/**", "apps/cart/overlays/dev/kustomization.yaml"}, th.inputs(r, "apps/cart/overlays/dev"))
		th.expect("diagnostics", []string{
			`apps/cart/base/kustomization.yaml:1: kustomization does not parse, its whole directory counts as input: invalid Kustomization: json: unknown field "resourcse" [yaml]`,
			// The YAML parser's own line (the mapping's, not the bad key's).
			`apps/cart/overlays/prod/kustomization.yaml:2: kustomization does not parse, its whole directory counts as input: invalid Kustomization: yaml: line 2: did not find expected '-' indicator [yaml]`,
		}, diagnosticList(r))
	})
}

// shopRepo has two services sharing a base, a component used by one
// target, a service that shares nothing and a root that does not parse.
func shopRepo(t *testing.T) *scenario {
	th := cartRepo(t)
	th.write("apps/cart/base/kustomization.yaml", "resources:\n  - deployment.yaml\n  - ../../../shared/base\n")
	th.write("apps/cart/overlays/prod/kustomization.yaml", "resources:\n  - ../../base\n  - namespace.yaml\ncomponents:\n  - ../../../../components/tracing\n")
	th.write("apps/search/base/kustomization.yaml", "resources:\n  - deployment.yaml\n  - ../../../shared/base\n")
	th.write("apps/search/overlays/prod/kustomization.yaml", "resources:\n  - ../../base\n")
	th.write("shared/base/kustomization.yaml", "resources:\n  - networkpolicy.yaml\n")
	th.write("components/tracing/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - path: tracing.yaml\n")
	th.write("platform/ingress/kustomization.yaml", "resources:\n  - ingress.yaml\n")
	th.write("broken/app/kustomization.yaml", "resources: [\n")
	th.files("apps/search/base/deployment.yaml", "shared/base/networkpolicy.yaml", "components/tracing/tracing.yaml",
		"platform/ingress/ingress.yaml", "broken/app/deployment.yaml", "README.md", "scripts/ci/check.sh")
	return th
}
