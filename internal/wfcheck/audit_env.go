package wfcheck

import (
	"regexp"
	"strings"
)

// runnerVariables are set by the runner, never by a pull request: a value
// made only of them and of literal text is safe to write to $GITHUB_ENV.
var runnerVariables = map[string]bool{
	"RUNNER_TEMP": true, "RUNNER_TOOL_CACHE": true, "RUNNER_WORKSPACE": true, "RUNNER_OS": true,
	"RUNNER_ARCH": true, "GITHUB_WORKSPACE": true, "GITHUB_ACTION_PATH": true, "HOME": true,
	"GITHUB_RUN_ID": true, "GITHUB_RUN_NUMBER": true, "GITHUB_RUN_ATTEMPT": true, "GITHUB_SHA": true,
}

var (
	// envFileWrite finds a redirection or a tee into $GITHUB_ENV or
	// $GITHUB_PATH, quoted or not, braced or not.
	envFileWrite = regexp.MustCompile(`(?:>>?|\btee\b(?:\s+-a)?)\s*"?\$\{?(GITHUB_ENV|GITHUB_PATH)\b\}?"?`)
	assignment   = regexp.MustCompile(`^\s*(?:export\s+|local\s+|readonly\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)
	variableRef  = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])`)
)

// githubEnv reports the writes of a script to $GITHUB_ENV and
// $GITHUB_PATH that zizmor's github-env audit would, and those of a value
// that is not provably the runner's own: the variables a line writes must
// be runner variables or shell variables the script set from them (a
// small data-flow analysis of assignments, in order), with no command
// substitution and no here-document.
func (a *auditor) githubEnv(run *scalar, where string, dangerous bool) {
	trusted := map[string]bool{}
	for _, line := range joinContinuations(run.value) {
		if m := envFileWrite.FindStringSubmatch(line); m != nil {
			switch {
			case dangerous:
				a.add(run.pos, KindGitHubEnv, "%s writes to $%s in a workflow with a dangerous trigger, where a fork controls what it writes: %q", where, m[1], strings.TrimSpace(line))
			case !trustedText(line[:strings.Index(line, m[0])], trusted) || strings.Contains(line, "<<"):
				a.add(run.pos, KindGitHubEnv, "%s writes a value that is not the runner's own to $%s: %q; a value from the pull request could set LD_PRELOAD, BASH_ENV or NODE_OPTIONS (or PATH) for every later step", where, m[1], strings.TrimSpace(line))
			}
			continue
		}
		if m := assignment.FindStringSubmatch(line); m != nil {
			trusted[m[1]] = trustedText(m[2], trusted)
		}
	}
}

// trustedText reports whether shell text only refers to runner variables
// and to variables trusted holds, without command substitution or an
// expression.
func trustedText(s string, trusted map[string]bool) bool {
	if strings.Contains(s, "$(") || strings.Contains(s, "`") || strings.Contains(s, "${{") {
		return false
	}
	for _, m := range variableRef.FindAllStringSubmatch(s, -1) {
		if !runnerVariables[m[1]] && !trusted[m[1]] {
			return false
		}
	}
	return true
}

// joinContinuations splits a script into logical lines: a line ending in a
// backslash continues on the next.
func joinContinuations(script string) []string {
	var out []string
	cur := ""
	for _, l := range strings.Split(script, "\n") {
		if strings.HasSuffix(l, `\`) {
			cur += strings.TrimSuffix(l, `\`) + " "
			continue
		}
		out = append(out, cur+l)
		cur = ""
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}
