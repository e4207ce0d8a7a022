package gitdiff

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// FetchTimeout bounds FetchCommit's git fetch.
var FetchTimeout = 2 * time.Minute

// fullCommitID is a complete SHA-1 or SHA-256 commit id: the only revisions
// FetchCommit asks a remote for (GitHub serves any reachable commit by id).
var fullCommitID = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

// FetchCommit makes sure the clone has commit rev, fetching that one commit
// (depth 1: its tree and blobs, no history) from the remote origin when it
// does not: a checkout with fetch-depth 1 then still renders the base of a
// pull request. token, when not empty, authenticates the fetch the way
// actions/checkout does (an http.extraheader given to this git process
// only, through GIT_CONFIG_* variables: never on the command line, never
// written to .git/config, which persist-credentials: false keeps clean).
//
// A rev that is not a full commit id, or that the clone already has, is
// left alone (ResolveCommit reports what is wrong with it). Errors name the
// commit and what git said; no prompt is ever shown.
func (r Repo) FetchCommit(rev, token string) error {
	if !fullCommitID.MatchString(rev) {
		return nil
	}
	if _, err := r.git("cat-file", "-e", rev+"^{commit}"); err == nil {
		return nil
	}
	if _, err := r.git("remote", "get-url", "origin"); err != nil {
		return fmt.Errorf("commit %s is not in this clone, and it has no remote origin to fetch it from", rev)
	}
	if err := r.fetch(token, "--depth=1", "origin", rev); err != nil {
		return fmt.Errorf("fetching commit %s from origin: %w", rev, err)
	}
	return nil
}

// deepenSteps are how far deepenForMergeBase deepens a shallow clone, in
// commits, before it fetches the whole history: most pull requests and
// merge groups branch off within a few commits of their base.
var deepenSteps = []int{10, 100, 1000}

// deepenForMergeBase finds the merge base of two commits of a shallow
// clone, deepening the history of both from origin step by step (then
// unshallowing) until git finds it: the plan job's checkout fetches 2
// commits, not the repository's whole history.
func (r Repo) deepenForMergeBase(base, head string) ([]byte, error) {
	shallow, _ := r.git("rev-parse", "--is-shallow-repository")
	if strings.TrimSpace(string(shallow)) != "true" {
		return nil, fmt.Errorf("no merge base of %s and %s", Short(base), Short(head))
	}
	if _, err := r.git("remote", "get-url", "origin"); err != nil {
		return nil, err
	}
	for _, n := range deepenSteps {
		if err := r.fetch(r.Token, fmt.Sprintf("--deepen=%d", n), "origin", base, head); err != nil {
			return nil, err
		}
		if mb, err := r.git("merge-base", base, head); err == nil {
			return mb, nil
		}
	}
	if err := r.fetch(r.Token, "--unshallow", "origin", base, head); err != nil {
		return nil, err
	}
	return r.git("merge-base", base, head)
}

// fetch runs git fetch from origin, authenticated with token as
// actions/checkout does (an http.extraheader given to this process only),
// bounded by FetchTimeout, never prompting; the token never appears in an
// error.
func (r Repo) fetch(token string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), FetchTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", r.Dir, "fetch", "--quiet", "--no-tags", "--no-recurse-submodules"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	if token != "" {
		header := "AUTHORIZATION: basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+token))
		cmd.Env = append(cmd.Env, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraheader", "GIT_CONFIG_VALUE_0="+header)
	}
	out, err := cmd.CombinedOutput()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %s", FetchTimeout)
	}
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if token != "" {
			msg = strings.ReplaceAll(msg, token, "***")
		}
		return errors.New(msg)
	}
	return nil
}
