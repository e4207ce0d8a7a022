package replay

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"strings"
)

// commit is one first-parent step of the replayed history.
type commit struct {
	Hash, Parent, Subject string
}

// gitRunner runs git in one directory. Its environment ignores the user's
// and the system's configuration (a pager, hooks or a global excludes file
// must not change what a replay measures).
type gitRunner struct {
	dir string
	env []string
}

func newGit(dir string, env []string) gitRunner { return gitRunner{dir: dir, env: env} }

func (g gitRunner) cmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", g.dir}, args...)...)
	cmd.Env = g.env
	return cmd
}

// run returns git's standard output; on failure, an error quoting stderr.
func (g gitRunner) run(ctx context.Context, args ...string) (string, error) {
	cmd := g.cmd(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s (in %q): %w: %s", strings.Join(args, " "), g.dir, err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// gitEnv is the environment of every git (and kustomatrix) process the
// replay starts: no user or system configuration, no prompt, and no network
// transport, so that a remote base is never fetched by anyone.
func gitEnv() []string {
	env := []string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GIT_") || strings.EqualFold(k, "http_proxy") || strings.EqualFold(k, "https_proxy") || strings.EqualFold(k, "no_proxy") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, offlineEnv...)
}

// offlineEnv refuses every git transport but local files and sends HTTP to
// a closed port: kustomize's remote loaders fail at once instead of
// fetching.
var offlineEnv = []string{
	"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
	"GIT_ALLOW_PROTOCOL=file", "GIT_SSH_COMMAND=false",
	"HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9", "NO_PROXY=",
}

// selectCommits lists the newest n first-parent commits reachable from rev
// that have a parent and change a file a build may read (see relevantPath),
// oldest first. pathspecs, if any, limit the history as git log does.
func selectCommits(ctx context.Context, g gitRunner, rev string, n int, pathspecs []string) ([]commit, error) {
	args := []string{"-c", "core.quotePath=false", "log", "--first-parent", "--diff-merges=first-parent",
		"--no-renames", "--raw", "--format=%x00%H %P%x00%s", rev, "--"}
	args = append(args, pathspecs...)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := g.cmd(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	commits := scanLog(out, n)
	cancel() // enough commits: stop git
	if err := cmd.Wait(); err != nil && !errors.Is(ctx.Err(), context.Canceled) {
		return nil, fmt.Errorf("git log: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	for i, j := 0, len(commits)-1; i < j; i, j = i+1, j-1 {
		commits[i], commits[j] = commits[j], commits[i]
	}
	return commits, nil
}

// scanLog reads `git log --raw` output as selectCommits formats it and
// keeps up to n (0: all) relevant commits with a parent, newest first.
func scanLog(r io.Reader, n int) []commit {
	var (
		commits  []commit
		cur      *commit
		relevant bool
	)
	flush := func() {
		if cur != nil && cur.Parent != "" && relevant {
			commits = append(commits, *cur)
		}
		cur, relevant = nil, false
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "\x00"); ok {
			flush()
			if n > 0 && len(commits) >= n {
				break
			}
			ids, subject, _ := strings.Cut(rest, "\x00")
			f := strings.Fields(ids)
			cur = &commit{Hash: f[0], Subject: subject}
			if len(f) > 1 {
				cur.Parent = f[1]
			}
			continue
		}
		if cur != nil && strings.HasPrefix(line, ":") {
			relevant = relevant || relevantRaw(line)
		}
	}
	flush()
	if n > 0 && len(commits) > n {
		commits = commits[:n]
	}
	return commits
}

// relevantRaw reads one `git log --raw` line (":100644 100644 a b M\tpath").
func relevantRaw(line string) bool {
	meta, p, ok := strings.Cut(line, "\t")
	if !ok {
		return false
	}
	f := strings.Fields(meta)
	if len(f) >= 2 && (isLinkMode(f[0]) || isLinkMode(f[1])) {
		return true
	}
	return relevantPath(strings.Trim(p, `"`))
}

// isLinkMode reports a symlink or a gitlink (submodule) in a raw diff.
func isLinkMode(m string) bool {
	m = strings.TrimPrefix(m, ":")
	return m == "120000" || m == "160000"
}

// relevantPath reports whether a changed file may be read by a build. A
// generator may read any file, so only what no build reads is left out:
// Go code, module files, documentation, images.
func relevantPath(p string) bool {
	base := path.Base(p)
	switch strings.ToLower(path.Ext(base)) {
	case ".go", ".md", ".markdown", ".rst", ".adoc", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico":
		return false
	}
	switch base {
	case "go.mod", "go.sum", "LICENSE", "OWNERS", "OWNERS_ALIASES", "CODEOWNERS":
		return false
	}
	return true
}

// diffNames lists the paths that differ between two commits, without
// rename detection (both sides of a rename are changes).
func diffNames(ctx context.Context, g gitRunner, from, to string) ([]string, error) {
	out, err := g.run(ctx, "diff", "--no-renames", "--name-only", "-z", from, to, "--")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range strings.Split(out, "\x00") {
		if n != "" {
			names = append(names, n)
		}
	}
	return names, nil
}
