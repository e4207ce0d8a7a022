package generator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"gopkg.in/yaml.v3"
)

// ConfigFile is the name of the optional configuration file at the
// repository root.
const ConfigFile = ".kustomatrix.yaml"

// Load restrictors, as kustomize names them on its command line.
const (
	LoadRestrictorRootOnly = "rootOnly"
	LoadRestrictorNone     = "none"
)

// Config is the content of .kustomatrix.yaml. Every field is optional; the
// zero Config, after Defaults, describes the conventional setup.
type Config struct {
	// Name is the base name of the generated files:
	// .github/workflows/<name>.yml, <name>-deploy.yml, .github/actions/<name>-*.
	Name string `yaml:"name"`
	// DeployBranch is the branch whose pushes apply (default "main").
	DeployBranch string `yaml:"deployBranch"`
	// RunsOn is the runner label or labels of every generated job.
	RunsOn StringList `yaml:"runsOn"`
	// Discovery selects and names the kustomization roots.
	Discovery Discovery `yaml:"discovery"`
	// Kustomize holds the options kustomize builds with.
	Kustomize Kustomize `yaml:"kustomize"`
	// GlobalDependencies are doublestar globs whose change affects every target.
	GlobalDependencies []string `yaml:"globalDependencies"`
	// Prune are doublestar globs of target directories whose apply may
	// delete: objects a target no longer renders are pruned (kubectl
	// ApplySet), and a removed target's objects are deleted. Off by default:
	// a deleted directory never silently deletes workloads.
	Prune []string `yaml:"prune"`
	// Environments holds per-environment settings, keyed by environment name.
	Environments map[string]Environment `yaml:"environments"`
	// Tool says how the generated workflows get kustomatrix itself.
	Tool Tool `yaml:"tool"`
	// toolSource is where Tool comes from (ToolSource); "" is the file.
	toolSource string
	// unvouched is a recorded pin KeepRecordedTool did not keep.
	unvouched *Tool
	// Plan holds options of the generated plan job.
	Plan Plan `yaml:"plan"`
	// Layout chooses between one job per service and the matrix layout.
	Layout Layout `yaml:"layout"`
	// Comment, unless false, has the aggregator job of a pull request's run
	// post the diff of every affected target as one comment on the pull
	// request, updated in place by each run (kustomatrix comment).
	Comment *bool `yaml:"comment"`
	// Sync, with a token secret, adds a generated workflow that regenerates
	// the pipeline on every push to the deploy branch and opens or updates
	// one pull request with the result.
	Sync Sync `yaml:"sync"`
}

// Layout chooses how the caller workflow runs services.
type Layout struct {
	// MaxServiceJobs is the most services that get a job each (default
	// 250); beyond it, jobs per environment run matrices of at most 256
	// targets each, so the workflow stays small at any number of services.
	MaxServiceJobs int `yaml:"maxServiceJobs"`
}

// Sync configures the generated regeneration workflow.
type Sync struct {
	// TokenSecret names the secret holding a GitHub App or fine-grained
	// token with contents, pull requests and workflows write: GITHUB_TOKEN
	// can never change workflow files. Setting it turns the workflow on.
	TokenSecret string `yaml:"tokenSecret"`
	// Branch receives the regenerated files (default kustomatrix/regenerate).
	Branch string `yaml:"branch"`
}

// Plan holds options of the generated plan job.
type Plan struct {
	// Render makes the plan build every candidate target at the base and at
	// the head and keep only those whose rendered output differs (affected
	// --render): a comment edit or a reordered key then runs nothing. It
	// costs a kustomize build per candidate, twice.
	Render bool `yaml:"render"`
}

// Discovery selects and names the kustomization roots.
type Discovery struct {
	// Include keeps only roots whose directory matches one of these globs.
	Include []string `yaml:"include"`
	// Exclude drops roots whose directory matches one of these globs.
	Exclude []string `yaml:"exclude"`
	// Overrides names roots whose layout the naming rule does not fit.
	Overrides []Override `yaml:"overrides"`
}

// Override gives one root directory an explicit service and environment.
type Override struct {
	Path        string `yaml:"path"`
	Service     string `yaml:"service"`
	Environment string `yaml:"environment"`
}

// Kustomize holds the options kustomize builds with; the dependency analysis
// honours them too, so it predicts what the build will read.
type Kustomize struct {
	// LoadRestrictor is rootOnly (kustomize's default) or none.
	LoadRestrictor string `yaml:"loadRestrictor"`
	// RemoteResources are the host/org patterns (github.com/myorg/*) of
	// the remote resources and git bases a build may fetch; none by
	// default. Git references must be pinned to a commit SHA; file://,
	// plain http and hosts on this machine are always refused.
	RemoteResources []string `yaml:"remoteResources"`
	// RemoteTimeout bounds a build that fetches remote references (a Go
	// duration; default DefaultRemoteTimeout).
	RemoteTimeout string `yaml:"remoteTimeout"`
}

// Timeout is RemoteTimeout as a duration.
func (k Kustomize) Timeout() time.Duration {
	if d, err := time.ParseDuration(k.RemoteTimeout); err == nil && d > 0 {
		return d
	}
	return DefaultRemoteTimeout
}

// Environment holds the settings of one deploy environment.
type Environment struct {
	// GitHubEnvironment is the GitHub environment the apply job runs in, for
	// protection rules and environment secrets (default: the environment name).
	GitHubEnvironment string `yaml:"githubEnvironment"`
	// Credentials are the apply credentials: they reach only the apply and
	// prune jobs, which run in the GitHub environment, so its protection
	// rules and environment secrets gate them (default: the kubeconfig
	// secret KUBECONFIG_<ENV>).
	Credentials Credentials `yaml:"credentials"`
	// DiffCredentials reach only the diffs of pull requests and merge
	// groups, never an apply: an identity that may read and dry-run
	// (kustomatrix identity diff prints one). Default: the kubeconfig secret
	// KUBECONFIG_<ENV>_DIFF; when it is empty (a fork's pull request, or a
	// secret not set) or with none: true, the diff is rendered from the base
	// commit instead of compared with the cluster, and says so.
	DiffCredentials Credentials `yaml:"diffCredentials"`
	// Deployments records every apply in this environment as a GitHub
	// deployment (in progress, then success or failure), so the
	// repository's Environments page shows what is deployed where.
	Deployments bool `yaml:"deployments"`
}

// Credentials says how a job reaches the cluster. At most one of the kinds
// may be set; with none, a kubeconfig secret is used (KUBECONFIG_<ENV> to
// apply, KUBECONFIG_<ENV>_DIFF to diff).
type Credentials struct {
	// KubeconfigSecret names a repository secret holding a kubeconfig.
	KubeconfigSecret string `yaml:"kubeconfigSecret"`
	// AWSEKS assumes an IAM role through GitHub OIDC and writes the EKS kubeconfig.
	AWSEKS *AWSEKS `yaml:"awsEks"`
	// Steps are custom steps that leave a usable kubeconfig; they are
	// linted like generated steps (uses: pinned by commit SHA, no ${{ }} in
	// run:, only the secrets they name are passed).
	Steps []map[string]any `yaml:"steps"`
	// None (diffCredentials only) gives diffs no cluster access: they are
	// rendered from the base commit.
	None bool `yaml:"none"`
}

// kinds says how many kinds of credentials are set.
func (cr Credentials) kinds() int {
	n := 0
	for _, b := range []bool{cr.KubeconfigSecret != "", cr.AWSEKS != nil, len(cr.Steps) > 0, cr.None} {
		if b {
			n++
		}
	}
	return n
}

// AWSEKS reaches an EKS cluster through GitHub's OIDC token: no long-lived keys.
type AWSEKS struct {
	RoleARN     string `yaml:"roleArn"`
	Region      string `yaml:"region"`
	ClusterName string `yaml:"clusterName"`
}

// Tool says how the generated workflows get kustomatrix.
type Tool struct {
	// Uses is the root composite action, "owner/repo@<40-hex sha>".
	Uses string `yaml:"uses"`
	// Version is the release the SHA belongs to, written as the pin comment.
	Version string `yaml:"version"`
}

// StringList accepts a single string or a list of strings, as GitHub's
// runs-on does.
type StringList []string

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = StringList{n.Value}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

var (
	sha1Ref       = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+@[0-9a-f]{40}$`)
	secretName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	plainValue    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$`)
	environmentRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// LoadConfig decodes and validates a configuration file. Unknown keys,
// malformed globs and conflicting settings are all reported, each with
// file:line:col, in one *ConfigError. An empty document is the zero Config.
func LoadConfig(name string, data []byte) (*Config, error) {
	cfg := &Config{}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			cfg.Defaults()
			return cfg, nil
		}
		return nil, &ConfigError{Problems: []Diagnostic{yamlErrorDiagnostic(name, err)}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &ConfigError{Problems: []Diagnostic{{Path: name, Line: extra.Line, Col: extra.Column, Kind: "config",
			Message: "the configuration must be a single YAML document"}}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		cfg.Defaults()
		return cfg, nil
	}
	problems := checkKnownFields(name, root, typeOfConfig, "")
	if len(problems) == 0 {
		if err := root.Decode(cfg); err != nil {
			problems = append(problems, yamlErrorDiagnostic(name, err))
		}
	}
	if len(problems) == 0 {
		problems = cfg.validate(name, root)
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: sortDiagnostics(problems)}
	}
	cfg.Defaults()
	return cfg, nil
}

// yamlErrorDiagnostic turns a yaml.v3 error ("yaml: line 3: ...") into a
// positioned diagnostic.
func yamlErrorDiagnostic(name string, err error) Diagnostic {
	msg := err.Error()
	d := Diagnostic{Path: name, Kind: KindYAML}
	var line int
	if _, scanErr := fmt.Sscanf(strings.TrimPrefix(msg, "yaml: "), "line %d:", &line); scanErr == nil {
		d.Line = line
		msg = msg[strings.Index(msg, ":")+1:]
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
		if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
			d.Line = line
			msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
		}
	}
	d.Message = strings.TrimPrefix(msg, "yaml: ")
	return d
}

// Defaults fills in every unset field.
func (c *Config) Defaults() {
	if c.Name == "" {
		c.Name = "kustomatrix"
	}
	if c.DeployBranch == "" {
		c.DeployBranch = "main"
	}
	if len(c.RunsOn) == 0 {
		c.RunsOn = StringList{"ubuntu-24.04"}
	}
	if c.Kustomize.LoadRestrictor == "" {
		c.Kustomize.LoadRestrictor = LoadRestrictorRootOnly
	}
	if c.Layout.MaxServiceJobs == 0 {
		c.Layout.MaxServiceJobs = DefaultMaxServiceJobs
	}
	if c.Sync.TokenSecret != "" && c.Sync.Branch == "" {
		c.Sync.Branch = "kustomatrix/regenerate"
	}
	if c.Tool.Uses == "" {
		c.Tool.Uses = DefaultToolUses
		c.Tool.Version = DefaultToolVersion
		c.toolSource = ToolFromDefault
	}
}

// Prunes reports whether pruning is enabled for a target directory.
func (c *Config) Prunes(targetPath string) bool { return matchAny(c.Prune, targetPath) }

// EnvironmentSettings returns the settings of one environment with defaults
// applied: GitHub environment = its own name, apply credentials = the
// kubeconfig secret KUBECONFIG_<ENV>, diff credentials = the kubeconfig
// secret KUBECONFIG_<ENV>_DIFF.
func (c *Config) EnvironmentSettings(env string) Environment {
	e := c.Environments[env]
	if e.GitHubEnvironment == "" {
		e.GitHubEnvironment = env
	}
	if e.Credentials.kinds() == 0 {
		e.Credentials.KubeconfigSecret = DefaultKubeconfigSecret(env)
	}
	if e.DiffCredentials.kinds() == 0 {
		e.DiffCredentials.KubeconfigSecret = DefaultKubeconfigSecret(env) + "_DIFF"
	}
	return e
}

// DefaultKubeconfigSecret is the secret name used for an environment that
// configures no credentials: KUBECONFIG_ plus the name in upper case with
// every other character replaced by '_' (secret names allow only [A-Z0-9_]).
func DefaultKubeconfigSecret(env string) string {
	var b strings.Builder
	b.WriteString("KUBECONFIG_")
	for _, r := range strings.ToUpper(env) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// validate checks values the YAML types cannot: globs, names, references.
func (c *Config) validate(name string, root *yaml.Node) []Diagnostic {
	var ps []Diagnostic
	bad := func(path, format string, args ...any) {
		n := nodeAt(root, path)
		ps = append(ps, Diagnostic{Path: name, Line: n.Line, Col: n.Column, Kind: "config",
			Message: fmt.Sprintf(format, args...)})
	}
	globs := map[string][]string{
		"discovery.include": c.Discovery.Include, "discovery.exclude": c.Discovery.Exclude,
		"globalDependencies": c.GlobalDependencies, "prune": c.Prune,
	}
	for key, list := range globs {
		for i, g := range list {
			if !doublestar.ValidatePattern(g) {
				bad(fmt.Sprintf("%s.%d", key, i), "invalid glob %q in %s", g, key)
			} else if strings.HasPrefix(g, "/") || strings.HasPrefix(g, "./") {
				bad(fmt.Sprintf("%s.%d", key, i), "glob %q in %s must be relative to the repository root, without a leading %q", g, key, g[:strings.Index(g, "/")+1])
			}
		}
	}
	if c.Name != "" && !jobIDRe.MatchString(c.Name) {
		bad("name", "name %q must match %s (it names files and job ids)", c.Name, jobIDRe)
	}
	if c.DeployBranch != "" && !plainValue.MatchString(c.DeployBranch) {
		bad("deployBranch", "deployBranch %q is not a plain branch name", c.DeployBranch)
	}
	for i, l := range c.RunsOn {
		if !plainValue.MatchString(l) {
			bad(fmt.Sprintf("runsOn.%d", i), "runsOn label %q is not a plain runner label", l)
		}
	}
	switch c.Kustomize.LoadRestrictor {
	case "", LoadRestrictorRootOnly, LoadRestrictorNone:
	default:
		bad("kustomize.loadRestrictor", "loadRestrictor %q is not one of %q, %q", c.Kustomize.LoadRestrictor, LoadRestrictorRootOnly, LoadRestrictorNone)
	}
	for i, p := range c.Kustomize.RemoteResources {
		if why := validRemotePattern(p); why != "" {
			bad(fmt.Sprintf("kustomize.remoteResources.%d", i), "%s", why)
		}
	}
	if t := c.Kustomize.RemoteTimeout; t != "" {
		if d, err := time.ParseDuration(t); err != nil || d <= 0 {
			bad("kustomize.remoteTimeout", "remoteTimeout %q is not a positive duration (90s, 5m)", t)
		}
	}
	if c.Tool.Uses != "" && !sha1Ref.MatchString(c.Tool.Uses) {
		bad("tool.uses", "tool.uses %q must be owner/repo@<full 40-character commit SHA>", c.Tool.Uses)
	}
	if c.Tool.Uses != "" && c.Tool.Version == "" {
		bad("tool.uses", "tool.uses needs tool.version, the release the SHA belongs to (written as the pin comment)")
	}
	if c.Sync.TokenSecret != "" && (!secretName.MatchString(c.Sync.TokenSecret) || githubPrefixed(c.Sync.TokenSecret)) {
		bad("sync.tokenSecret", "sync.tokenSecret %q is not a valid secret name (letters, digits, _; not starting with GITHUB_)", c.Sync.TokenSecret)
	}
	if c.Sync.Branch != "" && (!plainValue.MatchString(c.Sync.Branch) || c.Sync.TokenSecret == "") {
		bad("sync.branch", "sync.branch %q must be a plain branch name, with sync.tokenSecret set", c.Sync.Branch)
	}
	if strings.HasPrefix(c.DeployBranch, "refs/") {
		bad("deployBranch", "deployBranch %q must be a branch name, not a ref: write %q", c.DeployBranch, strings.TrimPrefix(strings.TrimPrefix(c.DeployBranch, "refs/"), "heads/"))
	}
	if strings.HasPrefix(c.Sync.Branch, "refs/") {
		bad("sync.branch", "sync.branch %q must be a branch name, not a ref", c.Sync.Branch)
	}
	if deploy := c.DeployBranch; c.Sync.Branch != "" && (strings.EqualFold(c.Sync.Branch, deploy) || deploy == "" && strings.EqualFold(c.Sync.Branch, "main")) {
		bad("sync.branch", "sync.branch %q is the deploy branch: the sync workflow force-moves its branch, which would rewrite what is deployed", c.Sync.Branch)
	}
	if c.Layout.MaxServiceJobs < 0 {
		bad("layout.maxServiceJobs", "layout.maxServiceJobs must be positive, got %d", c.Layout.MaxServiceJobs)
	}
	c.validateOverrides(bad)
	c.validateEnvironments(bad)
	c.validateStepIDs(bad)
	return ps
}

func (c *Config) validateOverrides(bad func(path, format string, args ...any)) {
	seen := map[string]bool{}
	for i, o := range c.Discovery.Overrides {
		at := fmt.Sprintf("discovery.overrides.%d", i)
		switch {
		case o.Path == "" || o.Service == "" || o.Environment == "":
			bad(at, "an override needs path, service and environment")
		case seen[o.Path]:
			bad(at, "path %q is overridden twice", o.Path)
		case !environmentRe.MatchString(o.Environment):
			bad(at+".environment", "environment %q must match %s", o.Environment, environmentRe)
		}
		seen[o.Path] = true
	}
}

func (c *Config) validateEnvironments(bad func(path, format string, args ...any)) {
	names := make([]string, 0, len(c.Environments))
	for n := range c.Environments {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e := c.Environments[n]
		at := "environments." + n
		if !environmentRe.MatchString(n) {
			bad(at, "environment name %q must match %s", n, environmentRe)
		}
		if e.GitHubEnvironment != "" && !environmentRe.MatchString(e.GitHubEnvironment) {
			bad(at+".githubEnvironment", "githubEnvironment %q must match %s", e.GitHubEnvironment, environmentRe)
		}
		c.validateCredentials(bad, n, at+".credentials", e.Credentials, false)
		c.validateCredentials(bad, n, at+".diffCredentials", e.DiffCredentials, true)
		d := c.EnvironmentSettings(n)
		switch a, df := d.Credentials, d.DiffCredentials; {
		case a.KubeconfigSecret != "" && a.KubeconfigSecret == df.KubeconfigSecret:
			bad(at+".diffCredentials", "environment %q diffs and applies with one secret %s: a pull request would hold the apply credentials; give diffs their own (kustomatrix identity diff) or none: true", n, a.KubeconfigSecret)
		case a.KubeconfigSecret != "" && strings.EqualFold(a.KubeconfigSecret, df.KubeconfigSecret):
			bad(at+".diffCredentials", "environment %q diffs and applies with one secret %s (GitHub reads secret names without case): a pull request would hold the apply credentials; give diffs their own (kustomatrix identity diff) or none: true", n, a.KubeconfigSecret)
		case a.AWSEKS != nil && df.AWSEKS != nil && strings.EqualFold(a.AWSEKS.RoleARN, df.AWSEKS.RoleARN):
			bad(at+".diffCredentials", "environment %q diffs and applies with one role %s: a pull request would hold the apply credentials; give diffs their own role or none: true", n, a.AWSEKS.RoleARN)
		}
	}
}

// validateStepIDs checks the ids of custom steps: the steps of every
// environment share one job per mode, with the generated steps.
func (c *Config) validateStepIDs(bad func(path, format string, args ...any)) {
	for _, mode := range []string{"credentials", "diffCredentials"} {
		seen := map[string]string{}
		for _, n := range sortedKeys(c.Environments) {
			cr := c.Environments[n].Credentials
			if mode == "diffCredentials" {
				cr = c.Environments[n].DiffCredentials
			}
			for i, st := range cr.Steps {
				id, _ := st["id"].(string)
				at := fmt.Sprintf("environments.%s.%s.steps.%d", n, mode, i)
				switch {
				case id == "":
				case reservedStepIDs[id]:
					bad(at, "custom step id %q is the id of a generated step; choose another", id)
				case seen[id] != "":
					bad(at, "custom step id %q is used by %s too: the steps of every environment share one job", id, seen[id])
				default:
					seen[id] = fmt.Sprintf("environments.%s.%s", n, mode)
				}
			}
		}
	}
}

// githubPrefixed reports a secret name GitHub reserves.
func githubPrefixed(name string) bool { return strings.HasPrefix(strings.ToUpper(name), "GITHUB_") }

// validateCredentials checks one credentials block: one kind at most,
// valid names, custom steps that pass the same lint as generated ones.
func (c *Config) validateCredentials(bad func(path, format string, args ...any), env, at string, cr Credentials, diff bool) {
	if cr.kinds() > 1 {
		bad(at, "%s of %q: set only one of kubeconfigSecret, awsEks, steps%s", at[strings.LastIndex(at, ".")+1:], env, map[bool]string{true: ", none", false: ""}[diff])
	}
	if cr.None && !diff {
		bad(at+".none", "credentials of %q: none is for diffCredentials only (an apply needs the cluster)", env)
	}
	if cr.KubeconfigSecret != "" && (!secretName.MatchString(cr.KubeconfigSecret) || githubPrefixed(cr.KubeconfigSecret)) {
		bad(at+".kubeconfigSecret", "kubeconfigSecret %q is not a valid secret name (letters, digits, _; GitHub reserves names starting with GITHUB_)", cr.KubeconfigSecret)
	}
	if a := cr.AWSEKS; a != nil {
		for _, kv := range [][2]string{{"clusterName", a.ClusterName}, {"region", a.Region}, {"roleArn", a.RoleARN}} {
			if !plainValue.MatchString(kv[1]) {
				bad(at+".awsEks", "awsEks.%s %q is missing or not a plain value", kv[0], kv[1])
			}
		}
	}
	for i, st := range cr.Steps {
		if why := customStepProblem(st); why != "" {
			bad(fmt.Sprintf("%s.steps.%d", at, i), "custom step %d of %q: %s", i+1, env, why)
		}
	}
}

// CommentOnPullRequests reports whether the generated pipeline posts the
// sticky pull request comment (the default).
func (c *Config) CommentOnPullRequests() bool { return c.Comment == nil || *c.Comment }
