package generator

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// MaxRepositorySecrets is how many secrets a repository can hold: "You can
// store up to 100 secrets per repository" (GitHub Docs, "Limits for
// secrets"). Environment secrets count per environment, not against it.
const MaxRepositorySecrets = 100

// KindSecrets marks the diagnostic of a pipeline that needs more
// repository secrets than GitHub stores.
const KindSecrets = "secrets"

var (
	// pinnedUses is a uses: GitHub runs exactly: an action at a full commit
	// SHA, a local action, or a Docker image by digest.
	pinnedUses = regexp.MustCompile(`^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@\s]+)?@[0-9a-f]{40}|\./[^\s]*|docker://[^\s@]+@sha256:[0-9a-f]{64})$`)
	// secretRef is a secrets.NAME reference inside an expression.
	secretRef = regexp.MustCompile(`\bsecrets\.([A-Za-z_][A-Za-z0-9_]*)`)
	// stepKeys are the keys a custom step may have (GitHub's step syntax,
	// less what would escape the lint: nothing here is unknown to it).
	stepKeys = map[string]bool{"name": true, "id": true, "if": true, "uses": true, "with": true, "env": true, "run": true,
		"shell": true, "working-directory": true, "continue-on-error": true, "timeout-minutes": true}
)

// customStepProblem says why a custom credentials step cannot be pasted
// into a generated job, or "" when it can. Custom steps hold the same rules
// as generated ones (zizmor's unpinned-uses and template-injection): a
// uses: pinned by commit SHA, no ${{ }} in run: (pass values through env:),
// and secrets named as secrets.NAME so the caller passes exactly those.
func customStepProblem(step map[string]any) string {
	var keys []string
	for k := range step {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !stepKeys[k] {
			return fmt.Sprintf("unknown step key %q", k)
		}
	}
	uses, hasUses := step["uses"].(string)
	run, hasRun := step["run"].(string)
	switch {
	case hasUses == hasRun:
		return "a step needs exactly one of uses: and run:"
	case hasUses && !pinnedUses.MatchString(uses):
		return fmt.Sprintf("uses: %q must be pinned to a full commit SHA (owner/repo@<40 hex>), a local ./action or docker://image@sha256:<digest>", uses)
	case hasRun && strings.Contains(run, "${{"):
		return "run: must not contain ${{ }}: GitHub pastes the value into the script before the shell reads it; pass it through env: and use \"$VAR\""
	}
	var problem string
	walkStrings(step, func(s string) {
		if problem == "" && bareSecrets(s) {
			problem = "name each secret as secrets.NAME (secrets[...] or the whole secrets context cannot be passed to the reusable workflow, and would hand it every secret)"
		}
		if problem == "" && strings.Contains(s, "secrets.GITHUB_TOKEN") {
			problem = "use github.token, not secrets.GITHUB_TOKEN"
		}
	})
	return problem
}

// bareSecrets reports a use of the secrets context that is not
// secrets.NAME: secrets['X'], toJSON(secrets), format('{0}', secrets).
func bareSecrets(s string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], "secrets")
		if j < 0 {
			return false
		}
		j += i
		end := j + len("secrets")
		wordStart := j == 0 || !isWordByte(s[j-1])
		wordEnd := end == len(s) || !isWordByte(s[end])
		if wordStart && wordEnd && strings.Contains(s[:j], "${{") && !(end < len(s) && s[end] == '.') {
			return true
		}
		i = end
	}
}

func isWordByte(b byte) bool {
	return b == '_' || b == '-' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// reservedStepIDs are the ids of the generated steps of the deploy jobs,
// which custom steps must not take.
var reservedStepIDs = map[string]bool{"diff": true, "apply": true, "prune": true, "deployment": true, "target": true}

// oidcStep reports a custom step that requests GitHub's OIDC token, so
// its job needs id-token: write.
func oidcStep(st map[string]any) bool {
	uses, _ := st["uses"].(string)
	for _, p := range []string{"aws-actions/configure-aws-credentials@", "azure/login@", "google-github-actions/auth@"} {
		if strings.HasPrefix(uses, p) {
			return true
		}
	}
	return false
}

// stepsSecrets lists the secrets custom steps name, sorted: the reusable
// workflow declares them and the caller passes them, in their mode only.
func stepsSecrets(steps []map[string]any) []string {
	set := map[string]bool{}
	for _, st := range steps {
		walkStrings(st, func(s string) {
			for _, m := range secretRef.FindAllStringSubmatch(s, -1) {
				set[m[1]] = true
			}
		})
	}
	return sortedKeys(set)
}

// walkStrings calls f on every string in a decoded YAML value.
func walkStrings(v any, f func(string)) {
	switch v := v.(type) {
	case string:
		f(v)
	case map[string]any:
		for _, x := range v {
			walkStrings(x, f)
		}
	case []any:
		for _, x := range v {
			walkStrings(x, f)
		}
	}
}

// credentialsSecrets lists the secrets one credentials block uses.
func credentialsSecrets(cr Credentials) []string {
	switch {
	case cr.KubeconfigSecret != "":
		return []string{cr.KubeconfigSecret}
	case len(cr.Steps) > 0:
		return stepsSecrets(cr.Steps)
	}
	return nil
}

// pipelineEnvironments lists, sorted, the environments the generated
// pipeline writes credentials steps for: every environment with a target,
// and every configured one (the removed job prunes the last target of an
// environment with its credentials).
func pipelineEnvironments(c *Config, targets []*Target) []string {
	envs := map[string]bool{}
	for _, t := range targets {
		envs[t.Environment] = true
	}
	for e := range c.Environments {
		envs[e] = true
	}
	return sortedKeys(envs)
}

// environmentSecrets lists the secrets of an environment's apply and diff
// credentials.
func (c *Config) environmentSecrets(env string) (apply, diff []string) {
	e := c.EnvironmentSettings(env)
	return credentialsSecrets(e.Credentials), credentialsSecrets(e.DiffCredentials)
}

// checkSecrets checks the credentials the pipeline of these environments
// uses, as GitHub compares names: without regard to case (secret names,
// expression ==, environment names) and as IAM compares role names. An
// error names both sides of each of these:
//   - two environments whose names differ only in case (GitHub's == would
//     give each the other's credentials);
//   - one secret serving two environments, or both modes, or the sync
//     token (KUBECONFIG_PROD_EU is the default of prod-eu, prod.eu and
//     PROD_EU alike);
//   - a role a diff assumes that any environment applies with.
//
// More secrets than a repository stores is a warning that points to
// environment secrets and OIDC.
func (c *Config) checkSecrets(envs []string) ([]Diagnostic, error) {
	var problems []Diagnostic
	bad := func(format string, args ...any) {
		problems = append(problems, Diagnostic{Path: ConfigFile, Kind: "config", Message: fmt.Sprintf(format, args...)})
	}
	folded := map[string]string{}
	for _, env := range envs {
		if other, ok := folded[strings.ToLower(env)]; ok {
			bad("environments %q and %q differ only in case: GitHub compares names without case, so each would get the other's credentials; rename one", other, env)
		}
		folded[strings.ToLower(env)] = env
	}
	type use struct{ env, mode, name string }
	users := map[string][]use{} // by upper-case secret name
	add := func(name string, u use) {
		k := strings.ToUpper(name)
		for _, x := range users[k] {
			if x == u {
				return
			}
		}
		users[k] = append(users[k], u)
	}
	applyRoles, diffRoles := map[string][]string{}, map[string][]string{} // by lower-case ARN
	for _, env := range envs {
		e := c.EnvironmentSettings(env)
		for _, n := range credentialsSecrets(e.Credentials) {
			add(n, use{env, "credentials", n})
		}
		for _, n := range credentialsSecrets(e.DiffCredentials) {
			add(n, use{env, "diffCredentials", n})
		}
		for _, r := range credentialsRoles(e.Credentials) {
			applyRoles[strings.ToLower(r)] = append(applyRoles[strings.ToLower(r)], env)
		}
		for _, r := range credentialsRoles(e.DiffCredentials) {
			diffRoles[strings.ToLower(r)] = append(diffRoles[strings.ToLower(r)], env)
		}
	}
	if t := c.Sync.TokenSecret; t != "" {
		add(t, use{"", "sync.tokenSecret", t})
	}
	for _, k := range sortedKeys(users) {
		u := users[k]
		if len(u) < 2 {
			continue
		}
		var who []string
		for _, x := range u {
			w := fmt.Sprintf("%s of %q", x.mode, x.env)
			if x.env == "" {
				w = x.mode
			}
			if x.name != u[0].name {
				w += fmt.Sprintf(" (as %s)", x.name)
			}
			who = append(who, w)
		}
		sort.Strings(who)
		bad("secret %s serves %s: each environment and mode needs its own, and GitHub reads secret names without case (set kubeconfigSecret in environments.<name>.credentials or diffCredentials)", u[0].name, strings.Join(who, " and "))
	}
	for _, r := range sortedKeys(diffRoles) {
		if appliers, ok := applyRoles[r]; ok {
			bad("role %s is assumed by the diff of %s and applies %s: a pull request would hold apply credentials; give diffs a role of their own", r, quoteList(diffRoles[r]), quoteList(appliers))
		}
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems}
	}
	var warnings []Diagnostic
	if len(users) > MaxRepositorySecrets {
		warnings = append(warnings, Diagnostic{Path: ConfigFile, Kind: KindSecrets,
			Message: fmt.Sprintf("the pipeline names %d secrets; a repository stores at most %d: keep apply credentials as environment secrets of each GitHub environment (they do not count) or use awsEks (OIDC, no secret)", len(users), MaxRepositorySecrets)})
	}
	return warnings, nil
}

// credentialsRoles lists the roles one credentials block assumes: its
// awsEks role, and the role-to-assume of its custom steps.
func credentialsRoles(cr Credentials) []string {
	if cr.AWSEKS != nil {
		return []string{cr.AWSEKS.RoleARN}
	}
	var roles []string
	for _, st := range cr.Steps {
		if with, ok := st["with"].(map[string]any); ok {
			if r, ok := with["role-to-assume"].(string); ok && r != "" {
				roles = append(roles, r)
			}
		}
	}
	return roles
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
