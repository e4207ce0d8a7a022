package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/kustomatrix/kustomatrix/generator"
)

// maxOutputBytes keeps the plan's outputs under GitHub's 1 MB per job,
// with room for the small ones.
const maxOutputBytes = 900_000

// matrixTarget is one entry of a service's matrix in the generated
// reusable workflow.
type matrixTarget struct {
	Environment       string `json:"environment"`
	Path              string `json:"path"`
	GitHubEnvironment string `json:"githubEnvironment"`
}

// matrixByJob groups the affected targets by the job that runs them: per
// service, as matrix targets; in the matrix layout, per chunk, as indices
// into the paths file (a chunk job resolves each with kustomatrix target),
// which keeps plan's outputs far below GitHub's 1 MB at any size.
func matrixByJob(repo *generator.Repo, res *generator.AffectedResult) (map[string]any, error) {
	byJob := map[string]any{}
	if repo.MatrixLayout() {
		chunks, err := repo.Chunks()
		if err != nil {
			return nil, err
		}
		chunkOf := generator.ChunkOf(chunks)
		index := map[string]int{}
		for i, t := range repo.Targets {
			index[t.Path] = i
		}
		for _, t := range res.Targets {
			i := index[t.Path]
			list, _ := byJob[chunkOf[i]].([]int)
			byJob[chunkOf[i]] = append(list, i)
		}
		return byJob, nil
	}
	jobOf := map[string]string{}
	for _, s := range repo.Services {
		jobOf[s.Name] = s.JobID
	}
	for _, t := range res.Targets {
		env := repo.Config.EnvironmentSettings(t.Environment)
		job := jobOf[t.Service]
		list, _ := byJob[job].([]matrixTarget)
		byJob[job] = append(list, matrixTarget{Environment: t.Environment, Path: t.Path, GitHubEnvironment: env.GitHubEnvironment})
	}
	return byJob, nil
}

// writeGitHubOutput appends the step outputs the generated plan job reads:
// targets (job id -> matrix targets of the affected services), jobs (the
// ids of the service jobs that run, for their if:), all, any, removed (the
// matrix targets of removed targets), base (the commit diffed from, which
// still holds the removed targets). Values are single-line JSON, so the name=value form is safe.
func writeGitHubOutput(repo *generator.Repo, res *generator.AffectedResult, base string) error {
	if os.Getenv("GITHUB_OUTPUT") == "" {
		return usageError("--github-output: GITHUB_OUTPUT is not set (it is, inside a GitHub Actions step)")
	}
	byJob, err := matrixByJob(repo, res)
	if err != nil {
		return err
	}
	targets, err := json.Marshal(byJob) // encoding/json sorts map keys: stable output
	if err != nil {
		return err
	}
	if len(targets) > maxOutputBytes {
		return &exitError{code: exitFailure, err: fmt.Errorf("the plan's targets output is %d bytes; GitHub caps a job's outputs at 1 MB: lower layout.maxServiceJobs in %s so the matrix layout (indices, not paths) is used", len(targets), generator.ConfigFile)}
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
	return appendGitHubOutput("targets", string(targets), "jobs", string(jobsJSON), "all", strconv.FormatBool(res.All),
		"any", strconv.FormatBool(len(res.Targets) > 0), "removed", string(removed), "base", base)
}

// appendGitHubOutput appends name=value step outputs (pairs of arguments)
// to $GITHUB_OUTPUT. Values are single lines, so the name=value form is safe.
func appendGitHubOutput(pairs ...string) error {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.ContainsAny(pairs[i+1], "\r\n") {
			return &exitError{code: exitFailure, err: fmt.Errorf("step output %s: a value of more than one line", pairs[i])}
		}
		b.WriteString(pairs[i] + "=" + pairs[i+1] + "\n")
	}
	f, err := os.OpenFile(os.Getenv("GITHUB_OUTPUT"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("opening GITHUB_OUTPUT: %w", err)}
	}
	defer f.Close()
	if _, err := f.WriteString(b.String()); err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("writing GITHUB_OUTPUT: %w", err)}
	}
	return nil
}
