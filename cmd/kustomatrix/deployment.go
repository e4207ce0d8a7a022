package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/kustomatrix/kustomatrix/internal/ghapi"
)

const deploymentEnvHelp = `Reads GITHUB_REPOSITORY, GITHUB_TOKEN and GITHUB_API_URL; the token needs
deployments: write. The log URL defaults to this run's page, from
GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_RUN_ID.`

func newDeploymentCommand(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deployment (start | finish)",
		Short: "Record an apply as a GitHub deployment",
		Long: `Records an apply in GitHub's deployments of an environment: "start" creates
the deployment and sets it in progress, "finish" sets it to success or failure.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError("unknown command %q for %q; use start or finish", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError("%s needs a subcommand: start or finish", cmd.CommandPath())
		},
	}
	cmd.AddCommand(newDeploymentStartCommand(s), newDeploymentFinishCommand(s))
	return cmd
}

type deploymentOptions struct {
	githubOutput                          bool
	environment, ref, target, description string
	logURL, environmentURL                string
	id                                    int64
	state                                 string
}

func (o *deploymentOptions) registerURLs(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.logURL, "log-url", "", "the page with the apply's log (default: this workflow run)")
	cmd.Flags().StringVar(&o.environmentURL, "environment-url", "", "where the deployed environment can be seen")
}

func newDeploymentStartCommand(s *streams) *cobra.Command {
	var o deploymentOptions
	cmd := &cobra.Command{
		Use:   "start --environment ENV --ref SHA --target PATH",
		Short: "Create a deployment, set it in progress and print its id",
		Long: `Creates a deployment of SHA to the GitHub environment ENV, with the target
path as its payload, sets it in progress, and prints its id on stdout for
"deployment finish". The deployment never waits for status checks
(required_contexts is empty: the running workflow is one of them) and never
merges a branch (auto_merge is false); an environment whose name starts
with the word prod or production is marked as production.

` + deploymentEnvHelp,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error { return o.runStart(s) },
	}
	f := cmd.Flags()
	f.StringVar(&o.environment, "environment", "", "the GitHub environment deployed to")
	f.StringVar(&o.ref, "ref", "", "the commit deployed (a SHA; a branch or tag name also works)")
	f.StringVar(&o.target, "target", "", "the kustomization root applied, relative to the repository")
	f.StringVar(&o.description, "description", "", `the deployment's description (default "kustomatrix apply PATH")`)
	f.BoolVar(&o.githubOutput, "github-output", false, "also write id=ID to $GITHUB_OUTPUT")
	o.registerURLs(cmd)
	return cmd
}

func (o *deploymentOptions) runStart(s *streams) error {
	if o.githubOutput && os.Getenv("GITHUB_OUTPUT") == "" {
		return usageError("--github-output: GITHUB_OUTPUT is not set (it is, inside a GitHub Actions step)")
	}
	for _, f := range []struct{ name, value string }{{"environment", o.environment}, {"ref", o.ref}, {"target", o.target}} {
		if f.value == "" {
			return usageError("--%s is required", f.name)
		}
	}
	if o.description == "" {
		o.description = "kustomatrix apply " + o.target
	}
	client, err := o.client()
	if err != nil {
		return err
	}
	ctx := context.Background()
	id, err := client.CreateDeployment(ctx, o.ref, o.environment, o.description, map[string]string{"target": o.target})
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if err := client.CreateDeploymentStatus(ctx, id, ghapi.DeploymentInProgress, o.logURL, o.environmentURL); err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("deployment %d was created, but: %w", id, err)}
	}
	fmt.Fprintln(s.out, id)
	if o.githubOutput {
		return appendGitHubOutput("id", strconv.FormatInt(id, 10))
	}
	return nil
}

func newDeploymentFinishCommand(s *streams) *cobra.Command {
	var o deploymentOptions
	cmd := &cobra.Command{
		Use:   "finish --id ID --state success|failure",
		Short: "Set a deployment to success or failure",
		Long: `Sets the deployment "deployment start" created to success or failure.
Earlier deployments to the environment are left as they are: it holds
the deployments of many services.

` + deploymentEnvHelp,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error { return o.runFinish() },
	}
	cmd.Flags().Int64Var(&o.id, "id", 0, `the deployment id "deployment start" printed`)
	cmd.Flags().StringVar(&o.state, "state", "", "success or failure")
	o.registerURLs(cmd)
	return cmd
}

func (o *deploymentOptions) runFinish() error {
	if o.id <= 0 {
		return usageError("--id is required: the deployment id \"deployment start\" printed")
	}
	if o.state != ghapi.DeploymentSuccess && o.state != ghapi.DeploymentFailure {
		return usageError("--state %q: want %s or %s", o.state, ghapi.DeploymentSuccess, ghapi.DeploymentFailure)
	}
	client, err := o.client()
	if err != nil {
		return err
	}
	if err := client.CreateDeploymentStatus(context.Background(), o.id, o.state, o.logURL, o.environmentURL); err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	return nil
}

// client builds the API client, and fills in the log URL.
func (o *deploymentOptions) client() (*ghapi.Client, error) {
	client, err := ghapi.FromEnv()
	if err != nil {
		return nil, usageError("%v", err)
	}
	if o.logURL == "" {
		o.logURL = ghapi.RunURL()
	}
	return client, nil
}
