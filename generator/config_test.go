package generator

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// defaultsWith is the configuration LoadConfig returns for a file setting
// what set sets: the rest are defaults.
func defaultsWith(set func(*Config)) *Config {
	c := &Config{}
	if set != nil {
		set(c)
	}
	c.Defaults()
	return c
}

const testSHA = "0123456789abcdef0123456789abcdef01234567"

// TestLoadConfig checks LoadConfig's result, or every diagnostic it
// reports, in the exact file:line:col: message [kind] form users see.
func TestLoadConfig(t *testing.T) {
	for name, tc := range map[string]struct {
		in   string
		want *Config  // the result, when the file is valid
		errs []string // every problem, sorted, when it is not
		bug  string   // a known bug: the case is skipped, saying why
	}{
		"empty document":             {in: "", want: defaultsWith(nil)},
		"null document":              {in: "null\n", want: defaultsWith(nil)},
		"tilde document":             {in: "~\n", want: defaultsWith(nil)},
		"comments only":              {in: "# nothing to configure\n", want: defaultsWith(nil)},
		"document marker only":       {in: "---\n", want: defaultsWith(nil)},
		"empty mapping":              {in: "{}\n", want: defaultsWith(nil)},
		"runsOn as a single label":   {in: "runsOn: self-hosted\n", want: defaultsWith(func(c *Config) { c.RunsOn = StringList{"self-hosted"} })},
		"runsOn as a list of labels": {in: "runsOn: [self-hosted, linux, x64]\n", want: defaultsWith(func(c *Config) { c.RunsOn = StringList{"self-hosted", "linux", "x64"} })},
		"every key": {
			in: `name: deploy
deployBranch: release/v2
runsOn: [self-hosted, linux]
discovery:
  include: ["services/**"]
  exclude: ["services/legacy/**"]
  overrides:
    - {path: odd/here, service: odd, environment: prod}
kustomize:
  loadRestrictor: none
globalDependencies: ["scripts/**", Makefile]
environments:
  prod:
    githubEnvironment: production
    credentials:
      awsEks: {roleArn: "arn:aws:iam::1:role/r", region: eu-west-1, clusterName: c}
  staging:
    credentials:
      kubeconfigSecret: STAGING_KUBECONFIG
  qa:
    credentials:
      steps:
        - run: ./get-kubeconfig.sh
tool:
  uses: kustomatrix/kustomatrix@` + testSHA + `
  version: v9.9.9
`,
			want: &Config{
				Name: "deploy", DeployBranch: "release/v2", RunsOn: StringList{"self-hosted", "linux"},
				Discovery: Discovery{
					Include: []string{"services/**"}, Exclude: []string{"services/legacy/**"},
					Overrides: []Override{{Path: "odd/here", Service: "odd", Environment: "prod"}},
				},
				Kustomize:          Kustomize{LoadRestrictor: LoadRestrictorNone},
				GlobalDependencies: []string{"scripts/**", "Makefile"},
				Environments: map[string]Environment{
					"prod": {GitHubEnvironment: "production", Credentials: Credentials{
						AWSEKS: &AWSEKS{RoleARN: "arn:aws:iam::1:role/r", Region: "eu-west-1", ClusterName: "c"}}},
					"staging": {Credentials: Credentials{KubeconfigSecret: "STAGING_KUBECONFIG"}},
					"qa":      {Credentials: Credentials{Steps: []map[string]any{{"run": "./get-kubeconfig.sh"}}}},
				},
				Tool:   Tool{Uses: "kustomatrix/kustomatrix@" + testSHA, Version: "v9.9.9"},
				Layout: Layout{MaxServiceJobs: DefaultMaxServiceJobs},
			},
		},
		"an alias shares one environment's settings": {
			in: "environments:\n  prod: &prod\n    githubEnvironment: production\n  prod-eu: *prod\n",
			want: defaultsWith(func(c *Config) {
				c.Environments = map[string]Environment{"prod": {GitHubEnvironment: "production"}, "prod-eu": {GitHubEnvironment: "production"}}
			}),
		},
		"a merge key extends another environment's settings": {
			in: "environments:\n  prod: &prod\n    credentials:\n      kubeconfigSecret: KUBE_PROD\n  prod-eu:\n    <<: *prod\n    githubEnvironment: production-eu\n",
			want: defaultsWith(func(c *Config) {
				c.Environments = map[string]Environment{
					"prod":    {Credentials: Credentials{KubeconfigSecret: "KUBE_PROD"}},
					"prod-eu": {GitHubEnvironment: "production-eu", Credentials: Credentials{KubeconfigSecret: "KUBE_PROD"}},
				}
			}),
		},
		"remote resources allowed by host and org, with a timeout": {
			in: "kustomize:\n  remoteResources: [github.com/myorg/*, \"*.example.com\"]\n  remoteTimeout: 90s\n",
			want: defaultsWith(func(c *Config) {
				c.Kustomize.RemoteResources = []string{"github.com/myorg/*", "*.example.com"}
				c.Kustomize.RemoteTimeout = "90s"
			}),
		},
		"bad remote resource patterns and timeout": {
			in: "kustomize:\n  remoteResources:\n    - https://github.com/myorg\n    - \"*\"\n    - localhost:8080\n    - \"github.com/[\"\n  remoteTimeout: soon\n",
			errs: []string{
				`.kustomatrix.yaml:3:7: pattern "https://github.com/myorg" must be host[/org[/repo]] with no scheme, user or query (github.com/myorg/*) [config]`,
				`.kustomatrix.yaml:4:7: pattern "*" must name a host (a leading "*." is allowed), not match every host [config]`,
				`.kustomatrix.yaml:5:7: pattern "localhost:8080" names this machine, which a build never reaches [config]`,
				`.kustomatrix.yaml:6:7: pattern "github.com/[" is not a valid glob: syntax error in pattern [config]`,
				`.kustomatrix.yaml:7:18: remoteTimeout "soon" is not a positive duration (90s, 5m) [config]`,
			},
		},

		"unknown keys at every depth": {
			in: `nmae: x
discovery:
  inclde: [a]
  overrides:
    - path: a
      servce: b
kustomize: {restrictor: none}
environments:
  prod:
    credentials:
      kubeconfig: X
      awsEks: {role: r}
    extra: 1
tool: {pin: v1}
`,
			errs: []string{
				`.kustomatrix.yaml:1:1: unknown key "nmae" in the top level; expected one of: comment, deployBranch, discovery, environments, globalDependencies, kustomize, layout, name, plan, prune, runsOn, sync, tool [config]`,
				`.kustomatrix.yaml:3:3: unknown key "inclde" in "discovery"; expected one of: exclude, include, overrides [config]`,
				`.kustomatrix.yaml:6:7: unknown key "servce" in "discovery.overrides.0"; expected one of: environment, path, service [config]`,
				`.kustomatrix.yaml:7:13: unknown key "restrictor" in "kustomize"; expected one of: loadRestrictor, remoteResources, remoteTimeout [config]`,
				`.kustomatrix.yaml:11:7: unknown key "kubeconfig" in "environments.prod.credentials"; expected one of: awsEks, kubeconfigSecret, none, steps [config]`,
				`.kustomatrix.yaml:12:16: unknown key "role" in "environments.prod.credentials.awsEks"; expected one of: clusterName, region, roleArn [config]`,
				`.kustomatrix.yaml:13:5: unknown key "extra" in "environments.prod"; expected one of: credentials, deployments, diffCredentials, githubEnvironment [config]`,
				`.kustomatrix.yaml:14:8: unknown key "pin" in "tool"; expected one of: uses, version [config]`,
			},
		},
		"a key given twice": {
			in:   "name: a\ndeployBranch: main\nname: b\n",
			errs: []string{`.kustomatrix.yaml:3:1: key "name" appears twice in the top level [config]`},
		},
		"several problems are reported together, sorted by position": {
			in: `tool:
  uses: kustomatrix/kustomatrix@main
globalDependencies: ["/abs/**"]
kustomize:
  loadRestrictor: LoadRestrictionsNone
runsOn: [ok, "not ok"]
deployBranch: "two words"
name: "my pipeline"
discovery:
  include: ["apps/[a"]
`,
			errs: []string{
				`.kustomatrix.yaml:2:9: tool.uses "kustomatrix/kustomatrix@main" must be owner/repo@<full 40-character commit SHA> [config]`,
				`.kustomatrix.yaml:2:9: tool.uses needs tool.version, the release the SHA belongs to (written as the pin comment) [config]`,
				`.kustomatrix.yaml:3:22: glob "/abs/**" in globalDependencies must be relative to the repository root, without a leading "/" [config]`,
				`.kustomatrix.yaml:5:19: loadRestrictor "LoadRestrictionsNone" is not one of "rootOnly", "none" [config]`,
				`.kustomatrix.yaml:6:14: runsOn label "not ok" is not a plain runner label [config]`,
				`.kustomatrix.yaml:7:15: deployBranch "two words" is not a plain branch name [config]`,
				`.kustomatrix.yaml:8:7: name "my pipeline" must match ^[A-Za-z_][A-Za-z0-9_-]*$ (it names files and job ids) [config]`,
				`.kustomatrix.yaml:10:13: invalid glob "apps/[a" in discovery.include [config]`,
			},
		},
		"invalid globs": {
			in: "discovery:\n  include: ['apps/[a', '{a,b']\n  exclude: ['x/[']\nglobalDependencies: ['[z']\n",
			errs: []string{
				`.kustomatrix.yaml:2:13: invalid glob "apps/[a" in discovery.include [config]`,
				`.kustomatrix.yaml:2:24: invalid glob "{a,b" in discovery.include [config]`,
				`.kustomatrix.yaml:3:13: invalid glob "x/[" in discovery.exclude [config]`,
				`.kustomatrix.yaml:4:22: invalid glob "[z" in globalDependencies [config]`,
			},
		},
		"globs with a leading ./ or /": {
			in: "discovery:\n  include: ['./apps/**']\n  exclude: ['/legacy/**']\nglobalDependencies:\n  - ./scripts/**\n  - /Makefile\n",
			errs: []string{
				`.kustomatrix.yaml:2:13: glob "./apps/**" in discovery.include must be relative to the repository root, without a leading "./" [config]`,
				`.kustomatrix.yaml:3:13: glob "/legacy/**" in discovery.exclude must be relative to the repository root, without a leading "/" [config]`,
				`.kustomatrix.yaml:5:5: glob "./scripts/**" in globalDependencies must be relative to the repository root, without a leading "./" [config]`,
				`.kustomatrix.yaml:6:5: glob "/Makefile" in globalDependencies must be relative to the repository root, without a leading "/" [config]`,
			},
		},
		"two credential kinds at once": {
			in: "environments:\n  prod:\n    credentials:\n      kubeconfigSecret: KUBE\n      steps: [{run: x}]\n",
			errs: []string{
				`.kustomatrix.yaml:4:7: credentials of "prod": set only one of kubeconfigSecret, awsEks, steps [config]`,
			},
		},
		"three credential kinds at once": {
			in: "environments:\n  dev:\n    credentials:\n      kubeconfigSecret: KUBE\n      awsEks: {roleArn: a, region: b, clusterName: c}\n      steps: [{run: x}]\n",
			errs: []string{
				`.kustomatrix.yaml:4:7: credentials of "dev": set only one of kubeconfigSecret, awsEks, steps [config]`,
			},
		},
		"an empty steps list is no credentials": {
			in: "environments:\n  prod:\n    credentials:\n      kubeconfigSecret: KUBE\n      steps: []\n",
			want: defaultsWith(func(c *Config) {
				c.Environments = map[string]Environment{"prod": {Credentials: Credentials{KubeconfigSecret: "KUBE", Steps: []map[string]any{}}}}
			}),
		},
		"bad secret names": {
			in: "environments:\n  a:\n    credentials: {kubeconfigSecret: kube-config}\n  b:\n    credentials: {kubeconfigSecret: 1KUBE}\n",
			errs: []string{
				`.kustomatrix.yaml:3:37: kubeconfigSecret "kube-config" is not a valid secret name (letters, digits, _; GitHub reserves names starting with GITHUB_) [config]`,
				`.kustomatrix.yaml:5:37: kubeconfigSecret "1KUBE" is not a valid secret name (letters, digits, _; GitHub reserves names starting with GITHUB_) [config]`,
			},
		},
		"awsEks without its settings": {
			in: "environments:\n  prod:\n    credentials:\n      awsEks: {region: 'eu west'}\n",
			errs: []string{
				`.kustomatrix.yaml:4:15: awsEks.clusterName "" is missing or not a plain value [config]`,
				`.kustomatrix.yaml:4:15: awsEks.region "eu west" is missing or not a plain value [config]`,
				`.kustomatrix.yaml:4:15: awsEks.roleArn "" is missing or not a plain value [config]`,
			},
		},
		"tool.uses pinned by a tag": {
			in:   "tool:\n  uses: kustomatrix/kustomatrix@v1.2.3\n  version: v1.2.3\n",
			errs: []string{`.kustomatrix.yaml:2:9: tool.uses "kustomatrix/kustomatrix@v1.2.3" must be owner/repo@<full 40-character commit SHA> [config]`},
		},
		"tool.uses pinned by a short SHA": {
			in:   "tool:\n  uses: kustomatrix/kustomatrix@0123456\n  version: v1.2.3\n",
			errs: []string{`.kustomatrix.yaml:2:9: tool.uses "kustomatrix/kustomatrix@0123456" must be owner/repo@<full 40-character commit SHA> [config]`},
		},
		"tool.uses with an upper-case SHA": {
			in:   "tool:\n  uses: kustomatrix/kustomatrix@0123456789ABCDEF0123456789ABCDEF01234567\n  version: v1.2.3\n",
			errs: []string{`.kustomatrix.yaml:2:9: tool.uses "kustomatrix/kustomatrix@0123456789ABCDEF0123456789ABCDEF01234567" must be owner/repo@<full 40-character commit SHA> [config]`},
		},
		"tool.uses without an owner": {
			in:   "tool:\n  uses: kustomatrix@" + testSHA + "\n  version: v1.2.3\n",
			errs: []string{`.kustomatrix.yaml:2:9: tool.uses "kustomatrix@` + testSHA + `" must be owner/repo@<full 40-character commit SHA> [config]`},
		},
		"tool.uses without tool.version": {
			in:   "tool:\n  uses: kustomatrix/kustomatrix@" + testSHA + "\n",
			errs: []string{`.kustomatrix.yaml:2:9: tool.uses needs tool.version, the release the SHA belongs to (written as the pin comment) [config]`},
		},
		"a list where a mapping is expected": {
			in: "discovery: [apps]\nenvironments:\n  - prod\nkustomize:\n  loadRestrictor: none\n",
			errs: []string{
				`.kustomatrix.yaml:1:12: "discovery" must be a mapping [config]`,
				`.kustomatrix.yaml:3:3: "environments" must be a mapping [config]`,
			},
		},
		"a list as the document": {
			in:   "- name: deploy\n",
			errs: []string{`.kustomatrix.yaml:1:1: the top level must be a mapping [config]`},
		},
		"a mapping or a list where a single value is expected": {
			in: "name: [a]\ntool: {uses: {a: b}}\n",
			errs: []string{
				`.kustomatrix.yaml:1:7: "name" must be a single value [config]`,
				`.kustomatrix.yaml:2:14: "tool.uses" must be a single value [config]`,
			},
		},
		"a mapping where a list is expected": {
			in: "runsOn: {group: big}\ndiscovery:\n  include: '**'\n",
			errs: []string{
				`.kustomatrix.yaml:1:9: "runsOn" must be a list [config]`,
				`.kustomatrix.yaml:3:12: "discovery.include" must be a list [config]`,
			},
		},
		"an environment without settings": {
			in:   "environments:\n  dev:\n",
			errs: []string{`.kustomatrix.yaml:2:7: "environments.dev" must be a mapping [config]`},
		},
		"bad environment names": {
			in: "environments:\n  prod eu: {}\n  prod:\n    githubEnvironment: -production\n",
			errs: []string{
				`.kustomatrix.yaml:2:12: environment name "prod eu" must match ^[A-Za-z0-9][A-Za-z0-9._-]*$ [config]`,
				`.kustomatrix.yaml:4:24: githubEnvironment "-production" must match ^[A-Za-z0-9][A-Za-z0-9._-]*$ [config]`,
			},
		},
		"a problem in an environment whose name has a dot points at the problem": {
			in:   "environments:\n  prod.eu:\n    githubEnvironment: 'bad name'\n",
			errs: []string{`.kustomatrix.yaml:3:24: githubEnvironment "bad name" must match ^[A-Za-z0-9][A-Za-z0-9._-]*$ [config]`},
		},
		"override problems": {
			in: `discovery:
  overrides:
    - {path: a, service: s, environment: prod}
    - {path: a, service: t, environment: prod}
    - {path: b, service: t}
    - {path: c, service: u, environment: 'bad env'}
`,
			errs: []string{
				`.kustomatrix.yaml:4:7: path "a" is overridden twice [config]`,
				`.kustomatrix.yaml:5:7: an override needs path, service and environment [config]`,
				`.kustomatrix.yaml:6:42: environment "bad env" must match ^[A-Za-z0-9][A-Za-z0-9._-]*$ [config]`,
			},
		},
		"YAML syntax error": {
			// yaml.v3 gives the line (not the column) of a syntax error.
			in:   "name: x\nrunsOn: a: b\n",
			errs: []string{`.kustomatrix.yaml:2: mapping values are not allowed in this context [yaml]`},
		},
		"a second document is not silently ignored": {
			in:   "name: x\n---\nnmae: y\n",
			errs: []string{`.kustomatrix.yaml:2:1: the configuration must be a single YAML document [config]`},
		},
		"a document marker before the only document": {
			in:   "---\nname: x\n",
			want: defaultsWith(func(c *Config) { c.Name = "x" }),
		},
	} {
		t.Run(name, func(t *testing.T) {
			if tc.bug != "" {
				t.Skip("BUG: " + tc.bug)
			}
			got, err := LoadConfig(ConfigFile, []byte(tc.in))
			if tc.errs != nil {
				var ce *ConfigError
				if !errors.As(err, &ce) {
					t.Fatalf("LoadConfig = %+v, %v; want a *ConfigError", got, err)
				}
				var msgs []string
				for _, p := range ce.Problems {
					msgs = append(msgs, p.String())
				}
				if diff := cmp.Diff(tc.errs, msgs); diff != "" {
					t.Errorf("problems (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty(), cmp.AllowUnexported(Config{})); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultsAreStable(t *testing.T) {
	c := defaultsWith(func(c *Config) { c.Tool.Version = "v2" })
	if c.Tool.Uses != DefaultToolUses || c.Tool.Version != DefaultToolVersion {
		t.Errorf("a version without uses gives tool %+v; want the default pin %s # %s", c.Tool, DefaultToolUses, DefaultToolVersion)
	}
	again := *c
	again.Defaults()
	if diff := cmp.Diff(c, &again, cmp.AllowUnexported(Config{})); diff != "" {
		t.Errorf("Defaults is not idempotent (-once +twice):\n%s", diff)
	}
	if ps := c.validate(ConfigFile, nil); len(ps) != 0 {
		t.Errorf("the defaults do not validate: %v", ps)
	}
}

func TestEnvironmentSettings(t *testing.T) {
	cfg, err := LoadConfig(ConfigFile, []byte(`environments:
  prod: {githubEnvironment: production}
  prod-eu.1:
    credentials: {awsEks: {roleArn: r, region: eu-west-1, clusterName: c}}
    diffCredentials: {none: true}
  qa:
    credentials: {steps: [{run: x}]}
    diffCredentials: {kubeconfigSecret: QA_READ}
`))
	if err != nil {
		t.Fatal(err)
	}
	for env, want := range map[string]Environment{
		"prod": {GitHubEnvironment: "production", Credentials: Credentials{KubeconfigSecret: "KUBECONFIG_PROD"},
			DiffCredentials: Credentials{KubeconfigSecret: "KUBECONFIG_PROD_DIFF"}},
		"prod-eu.1": {GitHubEnvironment: "prod-eu.1", Credentials: Credentials{AWSEKS: &AWSEKS{RoleARN: "r", Region: "eu-west-1", ClusterName: "c"}},
			DiffCredentials: Credentials{None: true}},
		"qa": {GitHubEnvironment: "qa", Credentials: Credentials{Steps: []map[string]any{{"run": "x"}}},
			DiffCredentials: Credentials{KubeconfigSecret: "QA_READ"}},
		"unlisted": {GitHubEnvironment: "unlisted", Credentials: Credentials{KubeconfigSecret: "KUBECONFIG_UNLISTED"},
			DiffCredentials: Credentials{KubeconfigSecret: "KUBECONFIG_UNLISTED_DIFF"}},
		"pre-prod.2": {GitHubEnvironment: "pre-prod.2", Credentials: Credentials{KubeconfigSecret: "KUBECONFIG_PRE_PROD_2"},
			DiffCredentials: Credentials{KubeconfigSecret: "KUBECONFIG_PRE_PROD_2_DIFF"}},
	} {
		if diff := cmp.Diff(want, cfg.EnvironmentSettings(env)); diff != "" {
			t.Errorf("EnvironmentSettings(%q) (-want +got):\n%s", env, diff)
		}
	}
}

// TestConfigSchemaPatternsMatchValidation keeps config.schema.json's
// patterns and enums identical to what LoadConfig enforces, so an editor
// flags exactly the values kustomatrix refuses.
func TestConfigSchemaPatternsMatchValidation(t *testing.T) {
	var schema map[string]any
	if err := json.Unmarshal(ConfigSchema(), &schema); err != nil {
		t.Fatal(err)
	}
	at := func(keys ...string) any {
		var v any = schema
		for _, k := range keys {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		return v
	}
	defs := func(name, key string) any { return at("definitions", name, key) }
	for name, tc := range map[string]struct {
		got  any
		want any
	}{
		"name":             {at("properties", "name", "pattern"), jobIDRe.String()},
		"plain value":      {defs("plainValue", "pattern"), plainValue.String()},
		"environment name": {defs("environmentName", "pattern"), environmentRe.String()},
		"secret name":      {at("definitions", "credentials", "properties", "kubeconfigSecret", "pattern"), secretName.String()},
		"tool.uses":        {at("definitions", "tool", "properties", "uses", "pattern"), sha1Ref.String()},
		"loadRestrictor": {at("definitions", "kustomize", "properties", "loadRestrictor", "enum"),
			[]any{LoadRestrictorRootOnly, LoadRestrictorNone}},
	} {
		if diff := cmp.Diff(tc.want, tc.got); diff != "" {
			t.Errorf("%s: schema (+) and Go validation (-) differ:\n%s", name, diff)
		}
	}
}
