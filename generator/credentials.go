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
		if problem == "" && strings.Contains(s, "secrets[") {
			problem = "name secrets as secrets.NAME (secrets[...] cannot be passed to the reusable workflow)"
		}
		if problem == "" && strings.Contains(s, "secrets.GITHUB_TOKEN") {
			problem = "use github.token, not secrets.GITHUB_TOKEN"
		}
	})
	return problem
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

// environmentSecrets lists the secrets of an environment's apply and diff
// credentials.
func (c *Config) environmentSecrets(env string) (apply, diff []string) {
	e := c.EnvironmentSettings(env)
	return credentialsSecrets(e.Credentials), credentialsSecrets(e.DiffCredentials)
}

// checkSecrets checks the secrets the pipeline of these environments uses:
// one secret serving two environments, or both modes of one, is an error
// naming both (KUBECONFIG_PROD_EU is the default of prod-eu, prod.eu and
// PROD_EU alike); more secrets than a repository stores is a warning that
// points to environment secrets and OIDC.
func (c *Config) checkSecrets(envs []string) ([]Diagnostic, error) {
	type use struct{ env, mode string }
	users := map[string][]use{}
	for _, env := range envs {
		apply, diff := c.environmentSecrets(env)
		for _, n := range apply {
			users[n] = append(users[n], use{env, "credentials"})
		}
		for _, n := range diff {
			users[n] = append(users[n], use{env, "diffCredentials"})
		}
	}
	var problems []Diagnostic
	for _, n := range sortedKeys(users) {
		u := users[n]
		if len(u) < 2 {
			continue
		}
		var who []string
		for _, x := range u {
			who = append(who, fmt.Sprintf("%s of %q", x.mode, x.env))
		}
		sort.Strings(who)
		problems = append(problems, Diagnostic{Path: ConfigFile, Kind: "config",
			Message: fmt.Sprintf("secret %s serves %s: each environment and mode needs its own (set kubeconfigSecret in environments.<name>.credentials or diffCredentials)", n, strings.Join(who, " and "))})
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
