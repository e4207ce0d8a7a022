package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/kustomatrix/kustomatrix/generator"
)

// matrixTarget is one entry of a service's matrix in the generated
// reusable workflow.
type matrixTarget struct {
	Environment       string `json:"environment"`
	Path              string `json:"path"`
	GitHubEnvironment string `json:"githubEnvironment"`
}

// writeGitHubOutput appends the step outputs the generated plan job reads:
// targets (job id -> matrix targets of the affected services), jobs (the
// ids of the service jobs that run, for their if:), all, any, removed (the
// matrix targets of removed targets), base (the commit diffed from, which
// still holds the removed targets). Values are single-line JSON, so the name=value form is safe.
func writeGitHubOutput(repo *generator.Repo, res *generator.AffectedResult, base string) error {
	path := os.Getenv("GITHUB_OUTPUT")
	if path == "" {
		return usageError("--github-output: GITHUB_OUTPUT is not set (it is, inside a GitHub Actions step)")
	}
	jobOf := map[string]string{}
	for _, s := range repo.Services {
		jobOf[s.Name] = s.JobID
	}
	byJob := map[string][]matrixTarget{}
	for _, t := range res.Targets {
		env := repo.Config.EnvironmentSettings(t.Environment)
		job := jobOf[t.Service]
		byJob[job] = append(byJob[job], matrixTarget{Environment: t.Environment, Path: t.Path, GitHubEnvironment: env.GitHubEnvironment})
	}
	targets, err := json.Marshal(byJob) // encoding/json sorts map keys: stable output
	if err != nil {
		return err
	}
	jobs := make([]string, 0, len(byJob))
	for j := range byJob {
		jobs = append(jobs, j)
	}
	sort.Strings(jobs)
	jobsJSON, err := json.Marshal(jobs)
	if err != nil {
		return err
	}
	gone := make([]matrixTarget, 0, len(res.Removed))
	for _, t := range res.Removed {
		env := repo.Config.EnvironmentSettings(t.Environment)
		gone = append(gone, matrixTarget{Environment: t.Environment, Path: t.Path, GitHubEnvironment: env.GitHubEnvironment})
	}
	removed, err := json.Marshal(gone)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("opening GITHUB_OUTPUT: %w", err)}
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, "targets=%s\njobs=%s\nall=%t\nany=%t\nremoved=%s\nbase=%s\n", targets, jobsJSON, res.All, len(res.Targets) > 0, removed, base)
	if err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("writing GITHUB_OUTPUT: %w", err)}
	}
	return nil
}
