package wfcheck

import (
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// KindCredentialsByMode: credentials that a pull request's run can reach
// are the credentials an apply holds. A diff job (if: inputs.mode ==
// 'diff') and an apply job (if: inputs.mode != 'diff') of a reusable
// workflow must name disjoint secrets and roles; an apply job must name a
// GitHub environment (its protection rules gate the credentials); a
// workflow triggered by pull_request or merge_group passes a secret to a
// reusable workflow only under a mode condition ("mode == 'apply' &&
// secrets.X || ”"). kustomatrix's own rule, in the spirit of zizmor's
// excessive-permissions: a pull request never holds what an apply holds.
const KindCredentialsByMode = "credentials-by-mode"

var (
	secretName = regexp.MustCompile(`\bsecrets\.([A-Za-z_][A-Za-z0-9_]*)`)
	// oidcActions request GitHub's OIDC token: the steps id-token: write is for.
	oidcActions = []string{"aws-actions/configure-aws-credentials@", "azure/login@", "google-github-actions/auth@"}
)

// modeJob is what the mode audit reads of one job.
type modeJob struct {
	id      string
	key     *yaml.Node
	mode    string // "diff", "apply" or "" (every mode)
	env     *yaml.Node
	secrets map[string]bool
	roles   map[string]bool
	oidc    bool // a step requests an OIDC token
	idToken *yaml.Node
	steps   bool
}

// modes runs the credentials-by-mode audit and the unused id-token check
// on a workflow's YAML.
func (a *auditor) modes(root *yaml.Node) {
	_, on := mappingEntry(root, "on")
	reachable := triggeredBy(on, "pull_request") || triggeredBy(on, "merge_group")
	_, jobs := mappingEntry(root, "jobs")
	if jobs == nil || jobs.Kind != yaml.MappingNode {
		return
	}
	var all []modeJob
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		j := readModeJob(jobs.Content[i], resolveAlias(jobs.Content[i+1]))
		all = append(all, j)
		if j.idToken != nil && j.steps && !j.oidc {
			a.add(position{j.idToken.Line, j.idToken.Column}, KindExcessivePermissions, "jobs.%s asks for id-token: write but no step of it requests an OIDC token", j.id)
		}
		if reachable {
			a.passedSecrets(j.id, resolveAlias(jobs.Content[i+1]))
		}
	}
	for _, d := range all {
		if d.mode != "diff" {
			continue
		}
		for _, ap := range all {
			if ap.mode != "apply" {
				continue
			}
			for _, s := range sortedSet(d.secrets) {
				if ap.secrets[s] {
					a.add(position{d.key.Line, d.key.Column}, KindCredentialsByMode, "jobs.%s (diff) and jobs.%s (apply) both read secret %s: a pull request would hold the apply credentials", d.id, ap.id, s)
				}
			}
			for _, r := range sortedSet(d.roles) {
				if ap.roles[r] {
					a.add(position{d.key.Line, d.key.Column}, KindCredentialsByMode, "jobs.%s (diff) and jobs.%s (apply) both assume role %s: a pull request would hold the apply credentials", d.id, ap.id, r)
				}
			}
		}
	}
	for _, j := range all {
		if j.mode == "apply" && j.env == nil && (len(j.secrets) > 0 || len(j.roles) > 0) {
			a.add(position{j.key.Line, j.key.Column}, KindCredentialsByMode, "jobs.%s applies with credentials but names no GitHub environment: its protection rules cannot gate them", j.id)
		}
	}
}

func readModeJob(key, job *yaml.Node) modeJob {
	j := modeJob{id: key.Value, key: key, secrets: map[string]bool{}, roles: map[string]bool{}}
	if _, cond := mappingEntry(job, "if"); cond != nil && cond.Kind == yaml.ScalarNode {
		c := strings.Join(strings.Fields(cond.Value), " ")
		switch {
		case strings.Contains(c, "inputs.mode == 'diff'"):
			j.mode = "diff"
		case strings.Contains(c, "inputs.mode != 'diff'"):
			j.mode = "apply"
		}
	}
	_, j.env = mappingEntry(job, "environment")
	if _, perms := mappingEntry(job, "permissions"); perms != nil && perms.Kind == yaml.MappingNode {
		if _, v := mappingEntry(perms, "id-token"); v != nil && v.Value == "write" {
			j.idToken = v
		}
	}
	_, steps := mappingEntry(job, "steps")
	if steps == nil || steps.Kind != yaml.SequenceNode {
		return j
	}
	j.steps = true
	for _, st := range steps.Content {
		st = resolveAlias(st)
		walkScalars(st, func(s string) {
			for _, m := range secretName.FindAllStringSubmatch(s, -1) {
				j.secrets[m[1]] = true
			}
		})
		if _, uses := mappingEntry(st, "uses"); uses != nil {
			for _, p := range oidcActions {
				if strings.HasPrefix(uses.Value, p) {
					j.oidc = true
				}
			}
		}
		if _, with := mappingEntry(st, "with"); with != nil {
			if _, role := mappingEntry(with, "role-to-assume"); role != nil {
				j.roles[role.Value] = true
			}
		}
	}
	return j
}

// passedSecrets reports a secret passed to a reusable workflow whatever
// the mode, in a workflow a pull request triggers.
func (a *auditor) passedSecrets(id string, job *yaml.Node) {
	_, secrets := mappingEntry(job, "secrets")
	if secrets == nil || secrets.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(secrets.Content); i += 2 {
		v := secrets.Content[i+1]
		c := strings.Join(strings.Fields(v.Value), " ")
		if !strings.Contains(c, "mode == 'apply' && secrets.") && !strings.Contains(c, "mode == 'diff' && secrets.") {
			a.add(position{v.Line, v.Column}, KindCredentialsByMode, "jobs.%s passes secret %s in every mode, pull requests included: pass it as \"mode == 'apply' && secrets.X || ''\" (or 'diff')", id, secrets.Content[i].Value)
		}
	}
}

// triggeredBy reports whether on: names the event.
func triggeredBy(on *yaml.Node, event string) bool {
	if on == nil {
		return false
	}
	switch on.Kind {
	case yaml.ScalarNode:
		return on.Value == event
	case yaml.SequenceNode:
		return slices.ContainsFunc(on.Content, func(n *yaml.Node) bool { return n.Value == event })
	case yaml.MappingNode:
		k, _ := mappingEntry(on, event)
		return k != nil
	}
	return false
}

// walkScalars calls f on every scalar under n.
func walkScalars(n *yaml.Node, f func(string)) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode {
		f(n.Value)
	}
	for _, c := range n.Content {
		walkScalars(c, f)
	}
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
