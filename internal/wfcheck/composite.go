package wfcheck

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// checkWorkflowFile validates one workflow against the github-workflow.json schema and runs the
// security audits (audit.go) on it. (actionlint runs separately over all workflows at once,
// because it cross-checks reusable workflows.)
func checkWorkflowFile(root, path string) ([]Finding, error) {
	schemas, err := loadSchemas()
	if err != nil {
		return nil, err
	}
	rel, src, err := readRepoFile(root, path)
	if err != nil {
		return nil, err
	}
	doc, found := parseYAML(rel, src)
	if doc == nil {
		return found, nil
	}
	more, err := validateDoc(schemas.workflow, rel, doc)
	if err != nil {
		return nil, err
	}
	found = append(found, more...)
	return append(found, auditWorkflow(rel, src, doc)...), nil
}

// checkActionFile validates one action metadata file against the github-action.json schema and,
// for composite actions, checks the `run:` steps that actionlint never sees and runs the security
// audits (audit.go) on them.
func checkActionFile(root, path, shellcheck string) ([]Finding, error) {
	schemas, err := loadSchemas()
	if err != nil {
		return nil, err
	}
	rel, src, err := readRepoFile(root, path)
	if err != nil {
		return nil, err
	}
	doc, found := parseYAML(rel, src)
	if doc == nil {
		return found, nil
	}
	more, err := validateDoc(schemas.action, rel, doc)
	if err != nil {
		return nil, err
	}
	found = append(found, more...)
	more, err = checkCompositeSteps(root, rel, src, doc, shellcheck)
	if err != nil {
		return nil, err
	}
	found = append(found, more...)
	return append(found, auditAction(rel, src, doc)...), nil
}

// readRepoFile reads a file and returns its repository-relative path with its content.
func readRepoFile(root, path string) (string, []byte, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return "", nil, fmt.Errorf("wfcheck: reading %q: %w", path, err)
	}
	return relPath(root, path), src, nil
}

// checkCompositeSteps checks every `run:` step of a composite action: GitHub requires `shell:`
// on each of them, and bash/sh scripts are shellchecked the way actionlint checks workflow
// scripts. Non-composite actions and steps using `uses:` are skipped.
func checkCompositeSteps(root, rel string, src []byte, doc *yamlDoc, shellcheck string) ([]Finding, error) {
	if doc.root.Kind != yaml.DocumentNode || len(doc.root.Content) == 0 {
		return nil, nil
	}
	_, runs := mappingEntry(doc.root.Content[0], "runs")
	_, using := mappingEntry(runs, "using")
	_, steps := mappingEntry(runs, "steps")
	if using == nil || using.Value != "composite" || steps == nil || steps.Kind != yaml.SequenceNode {
		return nil, nil
	}
	lines := splitLines(string(src))
	var out []Finding
	for i, step := range steps.Content {
		runKey, run := mappingEntry(step, "run")
		if run == nil {
			continue
		}
		_, shell := mappingEntry(step, "shell")
		if shell == nil {
			out = append(out, Finding{
				Path: rel, Line: runKey.Line, Col: runKey.Column, Kind: KindCompositeShell,
				Message: fmt.Sprintf("composite action step runs.steps[%d] has \"run:\" but no \"shell:\" (GitHub requires \"shell:\" on every \"run:\" step of a composite action)", i),
			})
			continue
		}
		dialect := shellDialect(shell.Value)
		if dialect == "" || run.Kind != yaml.ScalarNode {
			continue
		}
		found, err := shellcheckRun(shellcheckJob{
			exe: shellcheck, dir: root, dialect: dialect, path: rel, node: run, lines: lines,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

// mappingEntry returns the key and value nodes of key in mapping n (following aliases), or nils.
func mappingEntry(n *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	n = resolveAlias(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], resolveAlias(n.Content[i+1])
		}
	}
	return nil, nil
}

// resolveAlias follows alias nodes to the node they name.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// shellDialect returns the shellcheck dialect for a `shell:` value, or "" when shellcheck cannot
// check that shell. It mirrors actionlint: "bash", "sh" and custom "bash ..."/"sh ..." commands.
func shellDialect(shell string) string {
	shell = strings.TrimSpace(shell)
	if strings.Contains(shell, "${{") {
		return "" // decided at run time; cannot know the dialect
	}
	for _, d := range []string{"bash", "sh"} {
		if shell == d || strings.HasPrefix(shell, d+" ") {
			return d
		}
	}
	return ""
}

// splitLines splits source text into lines without their "\n" or "\r\n" terminators.
func splitLines(s string) []string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}
