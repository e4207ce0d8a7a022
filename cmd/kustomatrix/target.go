package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newTargetCommand(s *streams) *cobra.Command {
	var o repoOptions
	var index int
	var githubOutput bool
	cmd := &cobra.Command{
		Use:   "target --index N",
		Short: "Print the path of the target at an index (the matrix layout's chunk jobs use it)",
		Long: `Targets are numbered in the order of the generated paths file, the order
affected uses for the matrix layout's chunk jobs; they are read from that
file (a scan when it is missing or not in the generated form). With --github-output, also
writes path= and environment= to $GITHUB_OUTPUT.`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			if githubOutput && os.Getenv("GITHUB_OUTPUT") == "" {
				return usageError("--github-output: GITHUB_OUTPUT is not set")
			}
			dir, cfg, err := configAt(o.repo)
			if err != nil {
				return err
			}
			repo, err := o.committedRepo(s, dir, cfg)
			if err != nil {
				return err
			}
			if index < 0 || index >= len(repo.Targets) {
				return usageError("--index %d is out of range: there are %d targets", index, len(repo.Targets))
			}
			t := repo.Targets[index]
			fmt.Fprintln(s.out, t.Path)
			if !githubOutput {
				return nil
			}
			return appendGitHubOutput("path", t.Path, "environment", t.Environment)
		},
	}
	o.register(cmd, false)
	cmd.Flags().IntVar(&index, "index", -1, "the target's position in the paths file")
	cmd.Flags().BoolVar(&githubOutput, "github-output", false, "also write path= and environment= to $GITHUB_OUTPUT")
	return cmd
}
