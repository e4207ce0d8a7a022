package ghapi

import (
	"context"
	"fmt"
	"os"
	"strings"
	"unicode"

	"github.com/google/go-github/v62/github"
)

// The deployment states kustomatrix sets: in_progress when an apply
// starts, then success or failure.
const (
	DeploymentInProgress = "in_progress"
	DeploymentSuccess    = "success"
	DeploymentFailure    = "failure"
)

// deploymentPermission is what the token needs to record deployments.
const deploymentPermission = "deployments: write"

// IsProductionEnvironment says whether a GitHub environment name looks
// like production: its first word (split at anything but letters and
// digits) is "prod" or "production", in any case. prod, Production and
// prod-eu are; preprod, staging and eu-prod are not.
func IsProductionEnvironment(name string) bool {
	words := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	return len(words) > 0 && (words[0] == "prod" || words[0] == "production")
}

// CreateDeployment records a deployment of ref (a commit SHA, best) to a
// GitHub environment and returns its id. It asks GitHub for exactly that
// and nothing more: auto_merge false (never merge the default branch into
// ref), required_contexts [] (by default GitHub wants every status check
// on ref to have succeeded, and the run doing the apply is one of them,
// still pending: the deployment would be refused with 409), not transient,
// and production_environment when IsProductionEnvironment.
// payload, when not nil, is stored with the deployment as JSON.
func (c *Client) CreateDeployment(ctx context.Context, ref, environment, description string, payload any) (int64, error) {
	if ref == "" || environment == "" {
		return 0, fmt.Errorf("a deployment needs a ref and an environment (got %q and %q)", ref, environment)
	}
	req := &github.DeploymentRequest{
		Ref:                   github.String(ref),
		Environment:           github.String(environment),
		AutoMerge:             github.Bool(false),
		RequiredContexts:      &[]string{}, // a pointer to an empty slice: sent as [], not left out
		Payload:               payload,
		TransientEnvironment:  github.Bool(false),
		ProductionEnvironment: github.Bool(IsProductionEnvironment(environment)),
	}
	if description != "" {
		req.Description = github.String(description)
	}
	doing := fmt.Sprintf("creating a deployment of %s to environment %q", ref, environment)
	d, resp, err := c.gh.Repositories.CreateDeployment(ctx, c.owner, c.repo, req)
	if err != nil {
		return 0, explain(err, doing, deploymentPermission)
	}
	if d.GetID() == 0 {
		// 202 "Auto-merged ... ": only with auto_merge, which is never asked for.
		return 0, fmt.Errorf("%s: GitHub answered %d without a deployment", doing, resp.StatusCode)
	}
	return d.GetID(), nil
}

// CreateDeploymentStatus sets a deployment's state: DeploymentInProgress,
// DeploymentSuccess or DeploymentFailure. logURL (the run) and
// environmentURL (where the environment can be seen) may be empty.
// auto_inactive is off: GitHub would mark every earlier successful
// deployment to the environment inactive, and kustomatrix deploys many
// services, each with deployments of its own, to one environment.
func (c *Client) CreateDeploymentStatus(ctx context.Context, id int64, state, logURL, environmentURL string) error {
	descriptions := map[string]string{
		DeploymentInProgress: "kustomatrix apply is running",
		DeploymentSuccess:    "kustomatrix apply succeeded",
		DeploymentFailure:    "kustomatrix apply failed",
	}
	if id <= 0 {
		return fmt.Errorf("deployment id %d: want a positive number", id)
	}
	if _, ok := descriptions[state]; !ok {
		return fmt.Errorf("deployment state %q: want %s, %s or %s", state, DeploymentInProgress, DeploymentSuccess, DeploymentFailure)
	}
	req := &github.DeploymentStatusRequest{
		State:        github.String(state),
		Description:  github.String(descriptions[state]),
		AutoInactive: github.Bool(false),
	}
	if logURL != "" {
		req.LogURL = github.String(logURL)
	}
	if environmentURL != "" {
		req.EnvironmentURL = github.String(environmentURL)
	}
	if _, _, err := c.gh.Repositories.CreateDeploymentStatus(ctx, c.owner, c.repo, id, req); err != nil {
		return explain(err, fmt.Sprintf("setting deployment %d to %s", id, state), deploymentPermission)
	}
	return nil
}

// RunURL is the web page of the workflow run this process is part of
// ($GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID), or
// "" outside GitHub Actions.
func RunURL() string {
	server, repo, id := os.Getenv("GITHUB_SERVER_URL"), os.Getenv("GITHUB_REPOSITORY"), os.Getenv("GITHUB_RUN_ID")
	if server == "" || repo == "" || id == "" {
		return ""
	}
	return strings.TrimRight(server, "/") + "/" + repo + "/actions/runs/" + id
}
