package ghapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/google/go-github/v62/github"
)

// FileChange is one file of a regeneration: new content, or Delete.
type FileChange struct {
	Path    string
	Content []byte
	Delete  bool
}

// SyncRequest describes the pull request that brings regenerated files in.
type SyncRequest struct {
	BaseBranch string // the deploy branch the files are regenerated from
	BaseSHA    string // its commit the change applies to
	Branch     string // the branch the regeneration is pushed to (force-updated)
	Title      string
	Body       string
	Message    string // the commit message
	Changes    []FileChange
}

// SyncResult says what UpsertSyncPR did.
type SyncResult struct {
	Commit  string
	PR      int
	URL     string
	Created bool // a new pull request was opened (false: an open one was updated)
}

// UpsertSyncPR commits the changes on top of BaseSHA through the Git data
// API (no checkout, no push credentials on disk), points Branch at that
// commit, and opens a pull request from it unless one is already open.
// Changing workflow files needs a token with the "workflows" permission:
// GITHUB_TOKEN can never do it, whatever the job's permissions say.
func (c *Client) UpsertSyncPR(ctx context.Context, req SyncRequest) (*SyncResult, error) {
	base, _, err := c.gh.Git.GetCommit(ctx, c.owner, c.repo, req.BaseSHA)
	if err != nil {
		return nil, explain(err, "reading commit "+req.BaseSHA, "contents: write")
	}
	entries := make([]*github.TreeEntry, 0, len(req.Changes))
	changes := append([]FileChange(nil), req.Changes...)
	sort.Slice(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	for _, ch := range changes {
		e := &github.TreeEntry{Path: github.String(ch.Path), Mode: github.String("100644"), Type: github.String("blob")}
		if !ch.Delete {
			e.Content = github.String(string(ch.Content))
		}
		entries = append(entries, e)
	}
	tree, _, err := c.gh.Git.CreateTree(ctx, c.owner, c.repo, base.GetTree().GetSHA(), entries)
	if err != nil {
		return nil, explainSync(err, "creating the tree of the regenerated files")
	}
	commit, _, err := c.gh.Git.CreateCommit(ctx, c.owner, c.repo, &github.Commit{
		Message: github.String(req.Message), Tree: tree, Parents: []*github.Commit{{SHA: github.String(req.BaseSHA)}},
	}, nil)
	if err != nil {
		return nil, explainSync(err, "creating the commit")
	}
	if err := c.pointBranch(ctx, req.Branch, commit.GetSHA()); err != nil {
		return nil, err
	}
	res := &SyncResult{Commit: commit.GetSHA()}
	open, _, err := c.gh.PullRequests.List(ctx, c.owner, c.repo, &github.PullRequestListOptions{
		State: "open", Head: c.owner + ":" + req.Branch, Base: req.BaseBranch})
	if err != nil {
		return nil, explain(err, "looking for the open regeneration pull request", "pull-requests: write")
	}
	if len(open) > 0 {
		res.PR, res.URL = open[0].GetNumber(), open[0].GetHTMLURL()
		return res, nil
	}
	pr, _, err := c.gh.PullRequests.Create(ctx, c.owner, c.repo, &github.NewPullRequest{
		Title: github.String(req.Title), Head: github.String(req.Branch), Base: github.String(req.BaseBranch), Body: github.String(req.Body)})
	if err != nil {
		return nil, explain(err, "opening the regeneration pull request", "pull-requests: write")
	}
	res.PR, res.URL, res.Created = pr.GetNumber(), pr.GetHTMLURL(), true
	return res, nil
}

// pointBranch force-moves the branch to sha, creating it when missing: the
// branch only ever holds the latest regeneration.
func (c *Client) pointBranch(ctx context.Context, branch, sha string) error {
	ref := &github.Reference{Ref: github.String("refs/heads/" + branch), Object: &github.GitObject{SHA: github.String(sha)}}
	_, resp, err := c.gh.Git.GetRef(ctx, c.owner, c.repo, "heads/"+branch)
	if err != nil && (resp == nil || resp.StatusCode != http.StatusNotFound) {
		return explainSync(err, "reading branch "+branch)
	}
	if err != nil {
		_, _, err = c.gh.Git.CreateRef(ctx, c.owner, c.repo, ref)
	} else {
		_, _, err = c.gh.Git.UpdateRef(ctx, c.owner, c.repo, ref, true)
	}
	if err != nil {
		return explainSync(err, "moving branch "+branch)
	}
	return nil
}

// explainSync names what a regeneration needs: GitHub refuses changes to
// .github/workflows from any token without the workflows permission.
func explainSync(err error, doing string) error {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && (er.Response.StatusCode == http.StatusForbidden || er.Response.StatusCode == http.StatusNotFound || er.Response.StatusCode == http.StatusUnprocessableEntity) {
		return fmt.Errorf("%s: %d; the token needs contents: write and the workflows permission (a GitHub App or a fine-grained token — GITHUB_TOKEN can never change workflow files): %w", doing, er.Response.StatusCode, err)
	}
	return explain(err, doing, "contents: write")
}
