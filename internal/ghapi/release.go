package ghapi

import (
	"context"
	"fmt"
	"regexp"

	"github.com/google/go-github/v62/github"
)

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// CommitOf returns the full SHA of the commit ref (a tag, a branch, a
// SHA) names, through GET /repos/{owner}/{repo}/commits/{ref} with the
// SHA media type (https://docs.github.com/rest/commits/commits#get-a-commit).
func (c *Client) CommitOf(ctx context.Context, ref string) (string, error) {
	sha, _, err := c.gh.Repositories.GetCommitSHA1(ctx, c.owner, c.repo, ref, "")
	if err != nil {
		return "", explain(err, fmt.Sprintf("resolving %s in %s/%s", ref, c.owner, c.repo), "contents: read")
	}
	if !fullSHA.MatchString(sha) {
		return "", fmt.Errorf("resolving %s in %s/%s: GitHub answered %q, not a commit SHA", ref, c.owner, c.repo, sha)
	}
	return sha, nil
}

// FileAt returns the content of the file at path in commit, through GET
// /repos/{owner}/{repo}/contents/{path}?ref= (https://docs.github.com/rest/repos/contents#get-repository-content;
// files up to 1 MB). A directory or a symlink is an error.
func (c *Client) FileAt(ctx context.Context, path, commit string) ([]byte, error) {
	doing := fmt.Sprintf("reading %s at %s in %s/%s", path, commit, c.owner, c.repo)
	file, _, _, err := c.gh.Repositories.GetContents(ctx, c.owner, c.repo, path, &github.RepositoryContentGetOptions{Ref: commit})
	if err != nil {
		return nil, explain(err, doing, "contents: read")
	}
	if file == nil || file.GetType() != "file" {
		return nil, fmt.Errorf("%s: not a file", doing)
	}
	content, err := file.GetContent()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", doing, err)
	}
	return []byte(content), nil
}
