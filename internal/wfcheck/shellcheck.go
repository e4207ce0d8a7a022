package wfcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// shellcheckExcludes are the checks actionlint disables for `run:` scripts, because they misfire
// on CI scripts (env: variables look unassigned, sourced files are absent locally) or on the
// placeholders substituted for ${{ }} expressions. Using the same list keeps composite action
// scripts and workflow scripts to the same standard.
const shellcheckExcludes = "SC1091,SC2194,SC2050,SC2153,SC2154,SC2157,SC2043"

// shellcheckJob describes one composite `run:` script to check.
type shellcheckJob struct {
	exe, dir string     // shellcheck binary and the directory to run it in (repository root)
	dialect  string     // "bash" or "sh"
	path     string     // repository-relative action file, for findings
	node     *yaml.Node // the `run:` value
	lines    []string   // source lines of the action file, for mapping positions back
}

// shellcheckComment is one entry of shellcheck's json1 output.
type shellcheckComment struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Level   string `json:"level"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// shellcheckRun shellchecks one script and maps each comment back to the action file.
//
// The script is prefixed with the `set -e`/`set -eo pipefail` line GitHub's shell wrappers imply
// (as actionlint does), so shellcheck line 2 is script line 1.
func shellcheckRun(job shellcheckJob) ([]Finding, error) {
	setup := "set -e"
	if job.dialect == "bash" {
		setup = "set -eo pipefail"
	}
	script := setup + "\n" + sanitizeExpressions(job.node.Value) + "\n"
	comments, err := runShellcheck(job.exe, job.dir, job.dialect, script)
	if err != nil {
		return nil, fmt.Errorf("wfcheck: shellcheck on %q line %d: %w", job.path, job.node.Line, err)
	}
	out := make([]Finding, 0, len(comments))
	for _, c := range comments {
		line := c.Line - 1
		p := scriptPosition(job.node, job.lines, line, c.Column)
		out = append(out, Finding{
			Path: job.path, Line: p.line, Col: p.col, Kind: KindShellcheck,
			Message: fmt.Sprintf("shellcheck reported issue in this script: SC%d:%s:%d:%d: %s",
				c.Code, c.Level, line, c.Column, strings.TrimSuffix(c.Message, ".")),
		})
	}
	return out, nil
}

// runShellcheck runs shellcheck on script via stdin. It uses the json1 format because that
// counts a tab as one column (the legacy json format uses tab stops of 8), which keeps columns
// mappable to the YAML file. Exit status 1 only means "issues found".
func runShellcheck(exe, dir, dialect, script string) ([]shellcheckComment, error) {
	cmd := exec.Command(exe, "--norc", "-f", "json1", "-x", "--shell", dialect, "-e", shellcheckExcludes, "-")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(script)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
			return nil, fmt.Errorf("running %q: %w (stderr: %q)", exe, err, stderr.String())
		}
	}
	var result struct {
		Comments []shellcheckComment `json:"comments"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &result); err != nil {
		return nil, fmt.Errorf("parsing output of %q: %w (stdout: %q)", exe, err, stdout.String())
	}
	return result.Comments, nil
}

// sanitizeExpressions replaces each ${{ ... }} with underscores of the same length, exactly as
// actionlint does for workflow scripts. Underscores (unlike a "$VAR" placeholder) are a plain word
// that cannot trigger quoting warnings or break assignments such as FOO_${{ x }}=1, and keeping
// the length keeps shellcheck's columns valid. An expression spanning lines shifts later lines.
func sanitizeExpressions(src string) string {
	var b strings.Builder
	for {
		start := strings.Index(src, "${{")
		if start < 0 {
			break
		}
		end := strings.Index(src[start:], "}}")
		if end < 0 {
			break
		}
		end += start + len("}}")
		b.WriteString(src[:start])
		b.WriteString(strings.Repeat("_", end-start))
		src = src[end:]
	}
	b.WriteString(src)
	return b.String()
}

// scriptPosition maps a 1-based line/column inside a `run:` script back to the action file.
//
// For literal block scalars (run: |) script line N is file line node.Line+N and the column is
// shifted by the block's indentation, found by matching the script line against the source line.
// Single-line plain or quoted scalars shift only the column. Anything else (folded blocks,
// multi-line flow scalars) cannot be mapped reliably, so the `run:` value itself is used; the
// message still names the script line and column.
func scriptPosition(node *yaml.Node, lines []string, line, col int) position {
	fallback := position{node.Line, node.Column}
	scriptLines := strings.Split(node.Value, "\n")
	if line < 1 || line > len(scriptLines) {
		return fallback
	}
	if node.Style&yaml.LiteralStyle != 0 {
		fileLine := node.Line + line
		if fileLine > len(lines) {
			return fallback
		}
		text, want := lines[fileLine-1], scriptLines[line-1]
		if !strings.HasSuffix(text, want) {
			return fallback
		}
		indent := utf8.RuneCountInString(text[:len(text)-len(want)])
		return position{fileLine, indent + col}
	}
	if node.Style&yaml.FoldedStyle != 0 || len(scriptLines) != 1 || node.Line > len(lines) {
		return fallback
	}
	c := node.Column + col - 1
	if node.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		c++ // skip the opening quote
	}
	if c > utf8.RuneCountInString(lines[node.Line-1])+1 {
		return fallback // plain scalar folded over several lines
	}
	return position{node.Line, c}
}
