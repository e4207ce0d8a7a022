package ghapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v62/github"
)

// MaxCommentLength is GitHub's limit on a comment body, 65,536 characters,
// checked here in bytes: never fewer than the characters, however GitHub
// counts them (see report.MaxCommentLength).
const MaxCommentLength = 65536

// commentPermission is what the token needs to keep a comment on a pull
// request up to date.
const commentPermission = "pull-requests: write"

// UpsertComment keeps one comment per marker on a pull request. It lists
// the pull request's comments (all pages) and takes those whose first line
// is marker and that the token's own account wrote (see commentAuthor):
// the oldest is updated in place (left alone when the body is the same),
// any others deleted, so two runs racing or a create retried after a lost
// answer never leave two copies. With none, it creates the comment.
//
// body must start with the marker line, which is how the next run finds
// the comment, and must not pass MaxCommentLength.
func (c *Client) UpsertComment(ctx context.Context, prNumber int, marker, body string) (id int64, created bool, err error) {
	switch {
	case prNumber <= 0:
		// Issues.ListComments with 0 would list the whole repository's comments.
		return 0, false, fmt.Errorf("pull request number %d: want a positive number", prNumber)
	case marker == "" || strings.ContainsAny(marker, "\r\n"):
		return 0, false, fmt.Errorf("marker %q: want one non-empty line", marker)
	case firstLine(body) != marker:
		return 0, false, fmt.Errorf("the comment must start with the marker line %q", marker)
	case len(body) > MaxCommentLength:
		return 0, false, fmt.Errorf("the comment has %d bytes; GitHub takes at most %d", len(body), MaxCommentLength)
	}
	ours, err := c.commentAuthor(ctx)
	if err != nil {
		return 0, false, err
	}
	found, err := c.markedComments(ctx, prNumber, marker, ours)
	if err != nil {
		return 0, false, err
	}
	if len(found) == 0 {
		cm, _, err := c.gh.Issues.CreateComment(ctx, c.owner, c.repo, prNumber, &github.IssueComment{Body: github.String(body)})
		if err != nil {
			return 0, false, explain(err, fmt.Sprintf("commenting on pull request #%d", prNumber), commentPermission)
		}
		return cm.GetID(), true, nil
	}
	id = found[0].GetID()
	if found[0].GetBody() != body {
		if _, _, err := c.gh.Issues.EditComment(ctx, c.owner, c.repo, id, &github.IssueComment{Body: github.String(body)}); err != nil {
			return 0, false, explain(err, fmt.Sprintf("updating comment %d on pull request #%d", id, prNumber), commentPermission)
		}
	}
	for _, dup := range found[1:] {
		if _, err := c.gh.Issues.DeleteComment(ctx, c.owner, c.repo, dup.GetID()); err != nil {
			return 0, false, explain(err, fmt.Sprintf("deleting comment %d, a second copy of comment %d on pull request #%d", dup.GetID(), id, prNumber), commentPermission)
		}
	}
	return id, false, nil
}

// commentAuthor says which comments this token wrote. A user's token (a
// personal access token, say) can ask who it is, and then only that
// account's comments count. An installation token cannot: GET /user
// answers 403 "Resource not accessible by integration" to GITHUB_TOKEN and
// to every GitHub App token, and nothing else in the REST API names the
// app's bot account. Then comments by bot accounts count (GITHUB_TOKEN
// writes as github-actions[bot], an App as <app>[bot]), and comments by
// people never do: a pull request's author cannot post a comment with the
// marker, have kustomatrix fill it with the report, and then edit the
// report they own.
func (c *Client) commentAuthor(ctx context.Context) (func(*github.User) bool, error) {
	u, _, err := c.gh.Users.Get(ctx, "")
	if err == nil {
		login := u.GetLogin()
		return func(a *github.User) bool { return strings.EqualFold(a.GetLogin(), login) }, nil
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusForbidden {
		return func(a *github.User) bool { return a.GetType() == "Bot" }, nil
	}
	return nil, explain(err, "asking GitHub whose token this is (GET /user)", commentPermission)
}

// markedComments lists a pull request's comments, oldest first, and keeps
// those whose first line is marker and that ours accepts.
func (c *Client) markedComments(ctx context.Context, prNumber int, marker string, ours func(*github.User) bool) ([]*github.IssueComment, error) {
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	var found []*github.IssueComment
	for {
		page, resp, err := c.gh.Issues.ListComments(ctx, c.owner, c.repo, prNumber, opts)
		if err != nil {
			return nil, explain(err, fmt.Sprintf("listing the comments of pull request #%d", prNumber), commentPermission)
		}
		for _, cm := range page {
			if firstLine(cm.GetBody()) == marker && ours(cm.GetUser()) {
				found = append(found, cm)
			}
		}
		if resp.NextPage == 0 {
			return found, nil
		}
		opts.Page = resp.NextPage
	}
}

// firstLine is a body's first line; a body edited in the browser comes
// back with CRLF line ends.
func firstLine(body string) string {
	line, _, _ := strings.Cut(body, "\n")
	return strings.TrimSuffix(line, "\r")
}
