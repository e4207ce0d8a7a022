package wfcheck

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"
)

// Kinds of the security audits Check runs on every workflow and action,
// named after the zizmor audits they follow (docs.zizmor.sh/audits): zizmor
// itself cannot be installed where the tests run, so its rules that matter
// for kustomatrix's output are Go checks here, over actionlint's parse of
// each workflow and over the YAML of each action.
const (
	// KindTemplateInjection: a ${{ }} expression inside a run: script (or
	// actions/github-script's script), expanded into the code before it
	// runs. Values reach scripts through env: instead.
	KindTemplateInjection = "template-injection"
	// KindExcessivePermissions: no top-level permissions: (every job gets
	// the repository's default token), write-all or read-all anywhere, or
	// a write permission granted to the whole workflow instead of the job
	// that needs it.
	KindExcessivePermissions = "excessive-permissions"
	// KindUnsoundCondition: an if: with text outside its ${{ }} — a block
	// scalar's final newline included — which is a non-empty string and so
	// always true.
	KindUnsoundCondition = "unsound-condition"
	// KindUnsoundTernary: "cond && X || Y" where X is falsy (0, '', false,
	// null): it gives Y even when cond holds.
	KindUnsoundTernary = "unsound-ternary"
	// KindUnpinnedUses: a uses: that is not a local path, a full 40-digit
	// commit SHA with a "# vX.Y.Z" comment naming the release, or a docker
	// image pinned by digest.
	KindUnpinnedUses = "unpinned-uses"
	// KindArtipacked: actions/checkout without persist-credentials: false,
	// which leaves the token in .git/config for every later step.
	KindArtipacked = "artipacked"
	// KindSecretsInherit: a reusable workflow called with secrets: inherit,
	// which hands it every secret of the repository.
	KindSecretsInherit = "secrets-inherit"
	// KindGitHubEnv: a write to $GITHUB_ENV or $GITHUB_PATH in a workflow
	// with a dangerous trigger, or of a value that is not the runner's own
	// (a value from the pull request could set LD_PRELOAD, BASH_ENV or
	// NODE_OPTIONS for every later step).
	KindGitHubEnv = "github-env"
	// KindDangerousTriggers: pull_request_target or workflow_run, which run
	// with the base repository's token and secrets on a fork's request.
	KindDangerousTriggers = "dangerous-triggers"
)

// auditor collects the findings of one file.
type auditor struct {
	path     string
	lines    []string
	findings []Finding
}

func (a *auditor) add(p position, kind, format string, args ...any) {
	a.findings = append(a.findings, Finding{Path: a.path, Line: p.line, Col: p.col, Kind: kind, Message: fmt.Sprintf(format, args...)})
}

// scalar is a string of the file and where it is.
type scalar struct {
	value string
	pos   position
}

// step is what the step audits read of a workflow step or of a composite
// action's step.
type step struct {
	where string // jobs.<id>.steps[i], runs.steps[i]
	uses  *scalar
	with  map[string]*scalar // keys in lower case
	run   *scalar
	cond  *scalar // if:
}

// auditWorkflow runs the audits on a workflow, parsed by actionlint (whose
// own findings report what does not parse) and by yaml.v3 (doc, for the
// keys actionlint does not keep and for every expression).
func auditWorkflow(rel string, src []byte, doc *yamlDoc) []Finding {
	wf, _ := actionlint.Parse(src)
	if wf == nil {
		return nil
	}
	a := &auditor{path: rel, lines: splitLines(string(src))}
	dangerous := a.triggers(wf)
	a.workflowPermissions(wf)
	ids := make([]string, 0, len(wf.Jobs))
	for id := range wf.Jobs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		job := wf.Jobs[id]
		if job == nil {
			continue
		}
		if job.Permissions != nil {
			a.allScopes(job.Permissions, "jobs."+id)
		}
		a.condition(fromString(job.If), "jobs."+id+".if")
		if job.WorkflowCall != nil {
			a.uses(fromString(job.WorkflowCall.Uses), "jobs."+id)
		}
		for i, st := range job.Steps {
			if st != nil {
				a.step(workflowStep(fmt.Sprintf("jobs.%s.steps[%d]", id, i), st), dangerous)
			}
		}
	}
	if doc != nil && doc.root != nil && len(doc.root.Content) > 0 {
		a.secretsInherit(doc.root.Content[0])
		a.modes(doc.root.Content[0])
		a.ternaries(doc.root.Content[0], "")
	}
	return a.findings
}

// auditAction runs the step audits on each step of a composite action,
// and the expression audit on the whole file.
func auditAction(rel string, src []byte, doc *yamlDoc) []Finding {
	if doc == nil || doc.root == nil || len(doc.root.Content) == 0 {
		return nil
	}
	a := &auditor{path: rel, lines: splitLines(string(src))}
	_, runs := mappingEntry(doc.root.Content[0], "runs")
	_, steps := mappingEntry(runs, "steps")
	if steps != nil && steps.Kind == yaml.SequenceNode {
		for i, n := range steps.Content {
			a.step(actionStep(fmt.Sprintf("runs.steps[%d]", i), resolveAlias(n)), false)
		}
	}
	a.ternaries(doc.root.Content[0], "")
	return a.findings
}

func fromString(s *actionlint.String) *scalar {
	if s == nil {
		return nil
	}
	p := position{}
	if s.Pos != nil {
		p = position{s.Pos.Line, s.Pos.Col}
	}
	return &scalar{value: s.Value, pos: p}
}

func workflowStep(where string, st *actionlint.Step) step {
	s := step{where: where, cond: fromString(st.If), with: map[string]*scalar{}}
	switch e := st.Exec.(type) {
	case *actionlint.ExecRun:
		s.run = fromString(e.Run)
	case *actionlint.ExecAction:
		s.uses = fromString(e.Uses)
		for k, in := range e.Inputs {
			if in != nil {
				s.with[strings.ToLower(k)] = fromString(in.Value)
			}
		}
	}
	return s
}

func fromNode(n *yaml.Node) *scalar {
	if n == nil || n.Kind != yaml.ScalarNode {
		return nil
	}
	return &scalar{value: n.Value, pos: position{n.Line, n.Column}}
}

func actionStep(where string, n *yaml.Node) step {
	s := step{where: where, with: map[string]*scalar{}}
	_, uses := mappingEntry(n, "uses")
	_, run := mappingEntry(n, "run")
	_, cond := mappingEntry(n, "if")
	s.uses, s.run, s.cond = fromNode(uses), fromNode(run), fromNode(cond)
	if _, with := mappingEntry(n, "with"); with != nil && with.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(with.Content); i += 2 {
			if v := fromNode(resolveAlias(with.Content[i+1])); v != nil {
				s.with[strings.ToLower(with.Content[i].Value)] = v
			}
		}
	}
	return s
}

// step runs the audits that apply to any step.
func (a *auditor) step(s step, dangerous bool) {
	a.condition(s.cond, s.where+".if")
	if s.uses != nil {
		a.uses(s.uses, s.where)
		name := strings.ToLower(strings.SplitN(s.uses.value, "@", 2)[0])
		if name == "actions/checkout" {
			if pc := s.with["persist-credentials"]; pc == nil || strings.TrimSpace(strings.ToLower(pc.value)) != "false" {
				a.add(s.uses.pos, KindArtipacked, "%s checks out with the token persisted in .git/config, where every later step (and any artifact of the workspace) can read it; set \"persist-credentials: false\"", s.where)
			}
		}
		if name == "actions/github-script" {
			if script := s.with["script"]; script != nil {
				a.injection(script, s.where+".with.script")
			}
		}
	}
	if s.run != nil {
		a.injection(s.run, s.where+".run")
		a.githubEnv(s.run, s.where, dangerous)
	}
}

// injection reports every ${{ }} in code.
func (a *auditor) injection(code *scalar, where string) {
	for _, e := range expressions(code.value) {
		a.add(code.pos, KindTemplateInjection, "%s expands %q into the script before it runs, where its value is code; pass it through env: and use the variable", where, "${{"+e+"}}")
	}
}

// expressions returns the source of each ${{ }} in s, without the braces.
func expressions(s string) []string {
	var out []string
	for {
		i := strings.Index(s, "${{")
		if i < 0 {
			return out
		}
		s = s[i+3:]
		l := actionlint.NewExprLexer(s)
		if _, err := actionlint.NewExprParser().Parse(l); err != nil {
			// Not an expression GitHub can evaluate; GitHub expands what
			// it can, so report the text up to the closing braces.
			end := strings.Index(s, "}}")
			if end < 0 {
				return append(out, s)
			}
			out = append(out, s[:end])
			s = s[end+2:]
			continue
		}
		end := max(0, l.Offset()-2)
		out = append(out, s[:end])
		s = s[l.Offset():]
	}
}

var (
	shaPinned    = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@]+)?@[0-9a-f]{40}$`)
	dockerPinned = regexp.MustCompile(`^docker://[^@\s]+@sha256:[0-9a-f]{64}$`)
	pinComment   = regexp.MustCompile(`^["']?\s+#\s*v?\d+(\.\d+)*\b`)
)

// uses reports a uses: that is not pinned to content.
func (a *auditor) uses(u *scalar, where string) {
	if u == nil {
		return
	}
	v := u.value
	switch {
	case strings.HasPrefix(v, "./"):
	case strings.Contains(v, "${{"):
		a.add(u.pos, KindUnpinnedUses, "%s uses %q, chosen by an expression: pin it to a full commit SHA", where, v)
	case strings.HasPrefix(v, "docker://"):
		if !dockerPinned.MatchString(v) {
			a.add(u.pos, KindUnpinnedUses, "%s uses the image %q, which is not pinned by digest (@sha256:...): a tag can be moved to other code", where, v)
		}
	case !shaPinned.MatchString(v):
		a.add(u.pos, KindUnpinnedUses, "%s uses %q, which is not pinned to a full 40-character commit SHA: a tag or a branch can be moved to other code", where, v)
	case !a.hasPinComment(u):
		a.add(u.pos, KindUnpinnedUses, "%s uses %q without a \"# vX.Y.Z\" comment naming the release the SHA is", where, v)
	}
}

// hasPinComment reports whether the line of u has a version comment after
// the value.
func (a *auditor) hasPinComment(u *scalar) bool {
	if u.pos.line < 1 || u.pos.line > len(a.lines) {
		return false
	}
	line := a.lines[u.pos.line-1]
	i := strings.Index(line, u.value)
	return i >= 0 && pinComment.MatchString(line[i+len(u.value):])
}

// condition reports an if: that is always true.
func (a *auditor) condition(c *scalar, where string) {
	if c == nil || !strings.Contains(c.value, "${{") {
		return
	}
	v := c.value
	if strings.HasPrefix(v, "${{") && strings.HasSuffix(v, "}}") && strings.Count(v, "${{") == 1 {
		return
	}
	a.add(c.pos, KindUnsoundCondition, "%s %q has text outside its ${{ }} (a block scalar's final newline counts): it evaluates to a non-empty string, which is always true; write the bare expression", where, v)
}

// triggers reports the dangerous triggers, and says whether there is one.
func (a *auditor) triggers(wf *actionlint.Workflow) bool {
	dangerous := false
	for _, e := range wf.On {
		w, ok := e.(*actionlint.WebhookEvent)
		if !ok || w.Hook == nil {
			continue
		}
		switch w.Hook.Value {
		case "pull_request_target", "workflow_run":
			dangerous = true
			a.add(fromString(w.Hook).pos, KindDangerousTriggers, "the %s trigger runs with the base repository's token and secrets at a fork's request; use pull_request (or workflow_call)", w.Hook.Value)
		}
	}
	return dangerous
}

// workflowPermissions reports a workflow whose jobs may get the default
// token, and permissions granted to every job.
func (a *auditor) workflowPermissions(wf *actionlint.Workflow) {
	if wf.Permissions == nil {
		a.add(position{1, 1}, KindExcessivePermissions, "no top-level \"permissions:\": every job without its own gets the repository's default token permissions; set \"permissions: {}\" and grant each job what it needs")
		return
	}
	a.allScopes(wf.Permissions, "the workflow")
	names := make([]string, 0, len(wf.Permissions.Scopes))
	for n := range wf.Permissions.Scopes {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		s := wf.Permissions.Scopes[n]
		if s != nil && s.Value != nil && s.Value.Value == "write" {
			a.add(fromString(s.Value).pos, KindExcessivePermissions, "the workflow grants %s: write to every job; grant it only on the jobs that need it", n)
		}
	}
}

// allScopes reports write-all and read-all.
func (a *auditor) allScopes(p *actionlint.Permissions, where string) {
	if p.All != nil {
		a.add(fromString(p.All).pos, KindExcessivePermissions, "%s asks for %q: name the scopes it needs", where, p.All.Value)
	}
}

// secretsInherit reports every job that calls a reusable workflow with
// secrets: inherit.
func (a *auditor) secretsInherit(root *yaml.Node) {
	_, jobs := mappingEntry(root, "jobs")
	if jobs == nil || jobs.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		key, secrets := mappingEntry(resolveAlias(jobs.Content[i+1]), "secrets")
		if secrets != nil && secrets.Kind == yaml.ScalarNode && secrets.Value == "inherit" {
			a.add(position{key.Line, key.Column}, KindSecretsInherit, "jobs.%s passes every secret of the repository to the workflow it calls (secrets: inherit); pass the ones it needs by name", jobs.Content[i].Value)
		}
	}
}

// ternaries reports "cond && falsy || fallback" in every expression of
// the file: in ${{ }} anywhere, and in the bare expression of an if:.
func (a *auditor) ternaries(n *yaml.Node, key string) {
	n = resolveAlias(n)
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			a.ternaries(n.Content[i+1], n.Content[i].Value)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			a.ternaries(c, "")
		}
	case yaml.ScalarNode:
		srcs := expressions(n.Value)
		if key == "if" && !strings.Contains(n.Value, "${{") {
			srcs = []string{n.Value}
		}
		for _, src := range srcs {
			expr, err := actionlint.NewExprParser().Parse(actionlint.NewExprLexer(src + "}}"))
			if err != nil {
				continue // actionlint reports it
			}
			actionlint.VisitExprNode(expr, func(node, _ actionlint.ExprNode, entering bool) {
				if or, ok := node.(*actionlint.LogicalOpNode); entering && ok && or.Kind == actionlint.LogicalOpNodeKindOr {
					if and, ok := or.Left.(*actionlint.LogicalOpNode); ok && and.Kind == actionlint.LogicalOpNodeKindAnd && falsy(and.Right) {
						a.add(position{n.Line, n.Column}, KindUnsoundTernary, "%q: the value after && is falsy, so the expression gives the value after || even when the condition holds; make the value truthy (quote a number: '0') or use case()", strings.TrimSpace(src))
					}
				}
			})
		}
	}
}

// falsy reports a literal that GitHub's expressions treat as false.
func falsy(n actionlint.ExprNode) bool {
	switch n := n.(type) {
	case *actionlint.NullNode:
		return true
	case *actionlint.BoolNode:
		return !n.Value
	case *actionlint.IntNode:
		return n.Value == 0
	case *actionlint.FloatNode:
		return n.Value == 0
	case *actionlint.StringNode:
		return n.Value == ""
	}
	return false
}
