package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/kustomatrix/kustomatrix/generator"
	"github.com/kustomatrix/kustomatrix/internal/ghapi"
	rpt "github.com/kustomatrix/kustomatrix/internal/report"
)

type commentOptions struct {
	pr                         int
	workflow, reports, planned string
	dryRun                     bool
}

func newCommentCommand(s *streams) *cobra.Command {
	var o commentOptions
	cmd := &cobra.Command{
		Use:   "comment --pr N --workflow NAME --reports DIR",
		Short: "Post or update the pull request comment with every target's result",
		Long: `Reads the reports the diff jobs wrote (every *.json file under DIR, at any
depth), renders one Markdown comment - a table of services x environments
with each target's status, then each diff in a collapsible block, kept
within GitHub's limit of 65,536 characters by cutting or leaving out the
largest diffs, with a link to the run - and posts it on the pull request,
or updates the comment this workflow posted before, found by a hidden
marker line naming the workflow. Diffs are only ever read from the files,
never from arguments or environment variables. With --planned, every target
the plan chose that left no report (its job was cancelled, or stopped
before the diff) is shown as skipped rather than left out.

Reads GITHUB_REPOSITORY, GITHUB_TOKEN and GITHUB_API_URL, and
GITHUB_SERVER_URL and GITHUB_RUN_ID for the link to the run; the token
needs pull-requests: write. With --dry-run, prints the comment instead.`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error { return o.run(s) },
	}
	f := cmd.Flags()
	f.IntVar(&o.pr, "pr", 0, "the pull request to comment on")
	f.StringVar(&o.workflow, "workflow", "", "the generated workflow's name; each workflow keeps one comment")
	f.StringVar(&o.reports, "reports", "", "the directory holding the report files of the diff jobs")
	f.StringVar(&o.planned, "planned", "", "the JSON of kustomatrix affected (--plan-file): planned targets without a report are shown as skipped")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the comment and send nothing")
	return cmd
}

func (o *commentOptions) run(s *streams) error {
	if o.pr <= 0 && !o.dryRun {
		return usageError("--pr N is required: the number of the pull request to comment on")
	}
	if !rpt.ValidWorkflow(o.workflow) {
		return usageError("--workflow %q: want the generated workflow's name (letters, digits, '_', '.', '-')", o.workflow)
	}
	if o.reports == "" {
		return usageError("--reports DIR is required: the directory holding the diff jobs' report files")
	}
	if fi, err := os.Stat(o.reports); err != nil || !fi.IsDir() {
		return usageError("--reports %q is not a directory", o.reports)
	}
	reports, err := rpt.Read(o.reports)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if o.planned != "" {
		if reports, err = withSkipped(reports, o.planned); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
	}
	body, err := rpt.Render(reports, rpt.Options{Workflow: o.workflow, RunURL: ghapi.RunURL()})
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if o.dryRun {
		_, err := fmt.Fprint(s.out, body)
		return err
	}
	client, err := ghapi.FromEnv()
	if err != nil {
		return usageError("%v", err)
	}
	id, created, err := client.UpsertComment(context.Background(), o.pr, rpt.Marker(o.workflow), body)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	verb := "updated"
	if created {
		verb = "created"
	}
	fmt.Fprintf(s.out, "%s comment %d on pull request #%d: %d target(s), %d bytes\n", verb, id, o.pr, len(reports), len(body))
	return nil
}

// withSkipped adds a skipped report for every target of the plan (the JSON
// of kustomatrix affected) that has none, removed targets included.
func withSkipped(reports []rpt.Report, planned string) ([]rpt.Report, error) {
	data, err := os.ReadFile(planned)
	if err != nil {
		return nil, fmt.Errorf("--planned: %w", err)
	}
	var plan generator.AffectedResult
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&plan); err != nil {
		return nil, fmt.Errorf("--planned %s: not the JSON of kustomatrix affected: %w", planned, err)
	}
	have := map[string]bool{}
	for _, r := range reports {
		have[r.Path] = true
	}
	for _, t := range plan.Targets {
		if !have[t.Path] {
			reports = append(reports, rpt.Report{Service: t.Service, Environment: t.Environment, Path: t.Path, Status: rpt.StatusSkipped})
		}
	}
	// A removed target without its list of deletions is said to be unknown,
	// never left out: the comment must not read as if the merge deleted less.
	for _, t := range plan.Removed {
		if !have[t.Path] {
			reports = append(reports, rpt.Report{Service: t.Service, Environment: t.Environment, Path: t.Path, Status: rpt.StatusSkipped, Removal: &rpt.Removal{}})
		}
	}
	return reports, nil
}
