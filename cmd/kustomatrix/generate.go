package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kustomatrix/kustomatrix/generator"
)

func newGenerateCommand(s *streams) *cobra.Command {
	var o repoOptions
	var failOnChange bool
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write the generated workflows, actions and path filters",
		Long: `Renders every generated file and writes those that changed, each through a
temporary file and a rename, and removes generated files (those starting with
"` + generator.Header + `") that are no longer produced. Nothing else is touched.`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			repo, dir, err := o.load(s)
			if err != nil {
				return err
			}
			files, err := generator.Render(repo)
			if err != nil {
				return err
			}
			changes, err := generator.Write(dir, files)
			if err != nil {
				return ioFailure(err)
			}
			for _, c := range changes {
				verb := map[string]string{generator.Changed: "updated", generator.Missing: "created", generator.Orphan: "removed"}[c.Kind]
				fmt.Fprintf(s.out, "%s %s\n", verb, c.Path)
			}
			fmt.Fprintf(s.out, "%d service(s), %d target(s), %d file(s) changed\n", len(repo.Services), len(repo.Targets), len(changes))
			if failOnChange && len(changes) > 0 {
				// A pre-commit hook must stop the commit so the new files are
				// reviewed and staged with it.
				return &exitError{code: exitChanges, err: fmt.Errorf("generated files changed; review and stage them")}
			}
			return nil
		},
	}
	o.register(cmd, true)
	cmd.Flags().BoolVar(&failOnChange, "fail-on-change", false, "exit 1 when any file was written or removed (for pre-commit)")
	return cmd
}

func newCheckCommand(s *streams) *cobra.Command {
	var o repoOptions
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Fail (exit 1) when the generated files are out of date",
		Long: `Renders every generated file and compares it with the repository, writing
nothing. Exit 1 lists changed, missing and orphaned files with a unified diff.
Exit 2 when a kustomization names a remote reference kustomize.remoteResources
does not allow ([remote-refused]): every build would refuse it.`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			repo, dir, err := o.load(s)
			if err != nil {
				return err
			}
			_, changes, err := renderDrift(repo, dir)
			if err != nil {
				return err
			}
			refused := remoteRefused(repo)
			if len(changes) == 0 {
				if refused != nil {
					return refused
				}
				fmt.Fprintf(s.out, "generated files are up to date (%d service(s), %d target(s))\n", len(repo.Services), len(repo.Targets))
				return nil
			}
			fmt.Fprintf(s.err, "generated files are out of date; run: kustomatrix generate --repo %s\n", shellQuote(o.repo))
			for _, c := range changes {
				fmt.Fprintf(s.err, "  %s: %s\n", c.Kind, c.Path)
			}
			for _, c := range changes {
				s.out.Write(c.Diff)
			}
			if refused != nil {
				return refused
			}
			return &exitError{code: exitChanges}
		},
	}
	o.register(cmd, true)
	return cmd
}

// remoteRefused fails check (exit 2, the configuration decides) on a
// remote reference kustomize.remoteResources does not allow: every build
// of the pipeline would refuse it, so the pull request that adds it fails
// here first, with the diagnostics (already printed) naming each one.
func remoteRefused(repo *generator.Repo) error {
	n := 0
	for _, d := range repo.Diagnostics {
		if d.Kind == generator.KindRemoteRefused {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return &exitError{code: exitUsage, err: fmt.Errorf("%d remote reference(s) refused [%s]: builds would fail; allow them with host/org patterns in kustomize.remoteResources in %s (git refs pinned with ?ref=<commit SHA>) or vendor them",
		n, generator.KindRemoteRefused, generator.ConfigFile)}
}

// ioFailure keeps a *generator.ConfigError (exit 2: the layout is the
// problem) and makes anything else a failure (exit 3).
func ioFailure(err error) error {
	var ce *generator.ConfigError
	if errors.As(err, &ce) {
		return err
	}
	return &exitError{code: exitFailure, err: err}
}

// renderDrift renders a scanned repository's pipeline and compares it with
// what is committed, writing nothing: check and sync both do this.
func renderDrift(repo *generator.Repo, dir string) ([]generator.File, []generator.Change, error) {
	files, err := generator.Render(repo)
	if err != nil {
		return nil, nil, err
	}
	changes, err := generator.Drift(dir, files)
	if err != nil {
		return nil, nil, ioFailure(err)
	}
	return files, changes, nil
}
