// Package ghapi is kustomatrix's use of the GitHub REST API, through
// go-github: the files of a pull request, and the commit the deploy
// workflow last succeeded on. The repository, token and API URL come from
// the Actions environment (GITHUB_REPOSITORY, GITHUB_TOKEN, GITHUB_API_URL,
// which points at GitHub Enterprise Server when it runs there).
package ghapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
)

// MaxPRFiles is where GitHub's pull request files API stops listing.
const MaxPRFiles = 3000

// Client talks to one repository.
type Client struct {
	gh          *github.Client
	retry       *retryTransport
	owner, repo string
}

// FromEnv builds a client from the Actions environment. The token is only
// ever sent as an Authorization header, never printed.
func FromEnv() (*Client, error) {
	full := os.Getenv("GITHUB_REPOSITORY")
	owner, repo, ok := strings.Cut(full, "/")
	if !ok || owner == "" || repo == "" {
		return nil, fmt.Errorf("GITHUB_REPOSITORY is %q; want owner/repo (it is set inside GitHub Actions)", full)
	}
	token := os.Getenv("GITHUB_TOKEN")
	if token == "" {
		return nil, errors.New("GITHUB_TOKEN is not set; pass it to the step: env: GITHUB_TOKEN: ${{ github.token }}")
	}
	return New(os.Getenv("GITHUB_API_URL"), token, owner, repo, nil)
}

// New builds a client for an API base URL ("" for github.com). httpClient
// may be nil; its transport gains retries either way.
func New(apiURL, token, owner, repo string, httpClient *http.Client) (*Client, error) {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 60 * time.Second}
	}
	hc := *httpClient
	rt := &retryTransport{base: hc.Transport, sleep: sleepCtx}
	hc.Transport = rt
	gh := github.NewClient(&hc).WithAuthToken(token)
	if apiURL != "" && strings.TrimRight(apiURL, "/") != "https://api.github.com" {
		u := strings.TrimRight(apiURL, "/") + "/"
		var err error
		if gh, err = gh.WithEnterpriseURLs(u, u); err != nil {
			return nil, fmt.Errorf("GITHUB_API_URL %q: %w", apiURL, err)
		}
		// WithEnterpriseURLs appends /api/v3/ unless it is there; Actions
		// gives the full API URL, so use it as it is.
		gh.BaseURL, _ = gh.BaseURL.Parse(u)
	}
	return &Client{gh: gh, retry: rt, owner: owner, repo: repo}, nil
}

// PRFiles lists the files a pull request changes: both sides of a rename,
// deletions included. complete is false when GitHub's 3,000-file cap was
// reached: the list is then known to be partial, never to be trusted as
// "everything that changed".
func (c *Client) PRFiles(ctx context.Context, number int) (files []string, complete bool, err error) {
	opts := &github.ListOptions{PerPage: 100}
	n := 0
	for {
		page, resp, err := c.gh.PullRequests.ListFiles(ctx, c.owner, c.repo, number, opts)
		if err != nil {
			return nil, false, explain(err, fmt.Sprintf("listing the files of pull request #%d", number), "pull-requests: read")
		}
		for _, f := range page {
			n++
			files = append(files, f.GetFilename())
			if p := f.GetPreviousFilename(); p != "" {
				files = append(files, p)
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return files, n < MaxPRFiles, nil
}

// LastSuccessfulRun returns the head commit of the newest successful run
// of a workflow (by file name) for pushes to branch, or "" when there is
// none yet.
func (c *Client) LastSuccessfulRun(ctx context.Context, workflowFile, branch string) (string, error) {
	runs, _, err := c.gh.Actions.ListWorkflowRunsByFileName(ctx, c.owner, c.repo, workflowFile,
		&github.ListWorkflowRunsOptions{Branch: branch, Event: "push", Status: "success", ListOptions: github.ListOptions{PerPage: 1}})
	if err != nil {
		return "", explain(err, fmt.Sprintf("listing successful runs of %s on %s", workflowFile, branch), "actions: read")
	}
	if len(runs.WorkflowRuns) == 0 {
		return "", nil
	}
	return runs.WorkflowRuns[0].GetHeadSHA(), nil
}

// explain turns the API errors users meet into what to do about them.
func explain(err error, doing, permission string) error {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("%s: the token was refused (401): %w", doing, err)
		case http.StatusForbidden, http.StatusNotFound:
			return fmt.Errorf("%s: %d; the token needs %q (in the job's permissions:): %w", doing, er.Response.StatusCode, permission, err)
		}
	}
	return fmt.Errorf("%s: %w", doing, err)
}
