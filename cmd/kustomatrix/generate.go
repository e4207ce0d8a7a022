package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kustomatrix/kustomatrix/generator"
)

func newGenerateCommand(s *streams) *cobra.Command {
	var o repoOptions
	var failOnChange bool
	var lockTimeout time.Duration
	var updateTool bool
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write the generated workflows, actions and path filters",
		Long: `Renders every generated file and writes those that changed, and removes
generated files (those starting with "` + generator.Header + `", at a path
kustomatrix can produce) that are no longer produced. Nothing else is touched.

The files are written as one transaction: each is staged in full to a
temporary file beside it, and only when every one is staged (and every
orphan set aside) are they renamed into place. A failure while staging (a
read-only directory) changes nothing; a run killed mid-way leaves whole
files, old or new, and temporary files (.NAME.tmp-N) that the next generate
removes and check reports. A symlink on the path of a generated file
(.github itself, say) is refused (exit 2).

Concurrent runs on one repository are serialised by a lock (flock) on
.git/` + generator.LockFile + ` (outside git, a file in the temporary
directory): a run that finds it held says which process holds it and waits
up to --lock-timeout, then fails (exit 3). The kernel releases the lock when
its holder ends, even killed.

The tool pin the files carry (uses: <owner/repo>@<sha> # <version>) is
tool: of the configuration when set; otherwise the pin the generated caller
workflow already carries, so that every kustomatrix that renders the files
(this one, the pre-commit hook's, the pinned one in the plan job's check)
renders the same pin (a pin of kustomatrix/kustomatrix only: a fork's must
be in the configuration); otherwise, for a new pipeline or with
--update-tool, the default pin of this build, when that is this build's own
release. A release binary, and any build of a release commit's source,
cannot carry its own release commit: it looks it up on GitHub (the commit
the release's tag names, checked against its VERSION and, for a release
binary, its SHA-256 sums), and without it asks for tool:.`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			repo, dir, err := o.load(s)
			if err != nil {
				return err
			}
			if err := resolveToolPin(s, repo.Config, dir, !updateTool); err != nil {
				return err
			}
			warnUnvouchedTool(s, repo.Config)
			if this := thisRelease(); repo.Config.Tool.Version != this {
				fmt.Fprintf(s.err, "kustomatrix: warning: this is kustomatrix %s; the generated workflows run %s (%s, %s): "+
					"the plan job's check renders with that one, so generate with the same release, generate --update-tool, or set tool: in %s\n",
					this, repo.Config.Tool.Version, repo.Config.Tool.Uses, toolOrigin[repo.Config.ToolSource()], generator.ConfigFile)
			}
			files, err := generator.Render(repo)
			if err != nil {
				return err
			}
			unlock, err := generator.Lock(dir, lockTimeout, func(lock, holder string) {
				fmt.Fprintf(s.err, "kustomatrix: waiting up to %s for another kustomatrix generate (%s) holding %s\n", lockTimeout, holder, lock)
			})
			if err != nil {
				return ioFailure(err)
			}
			defer unlock()
			written, err := generator.Write(dir, files)
			if err != nil {
				return ioFailure(err)
			}
			changed := 0
			for _, c := range written {
				verb := map[string]string{generator.Changed: "updated", generator.Missing: "created", generator.Orphan: "removed",
					generator.Stale: "removed stale temporary file"}[c.Kind]
				fmt.Fprintf(s.out, "%s %s\n", verb, c.Path)
				if c.Kind != generator.Stale {
					changed++
				}
			}
			fmt.Fprintf(s.out, "%d service(s), %d target(s), %d file(s) changed\n", len(repo.Services), len(repo.Targets), changed)
			if failOnChange && changed > 0 {
				// A pre-commit hook must stop the commit so the new files are
				// reviewed and staged with it.
				return &exitError{code: exitChanges, err: fmt.Errorf("generated files changed; review and stage them")}
			}
			return nil
		},
	}
	o.register(cmd, true)
	cmd.Flags().BoolVar(&failOnChange, "fail-on-change", false, "exit 1 when any file was written or removed (for pre-commit)")
	cmd.Flags().DurationVar(&lockTimeout, "lock-timeout", time.Minute, "how long to wait for another generate on this repository to finish (0: fail at once)")
	cmd.Flags().BoolVar(&updateTool, "update-tool", false, "pin the workflows to this build's default tool pin instead of the one they carry (no effect when the configuration sets tool:)")
	return cmd
}

func newCheckCommand(s *streams) *cobra.Command {
	var o repoOptions
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Fail (exit 1) when the generated files are out of date",
		Long: `Renders every generated file and compares it with the repository, writing
nothing. Exit 1 lists changed, missing and orphaned files with a unified diff,
and the temporary files an interrupted generate left (stale). Exit 2 when a
generated file would be reached through a symlink.
Exit 2 when a kustomization names a remote reference kustomize.remoteResources
does not allow ([remote-refused]): every build would refuse it.`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			repo, dir, err := o.load(s)
			if err != nil {
				return err
			}
			_, changes, err := renderDrift(s, repo, dir)
			if err != nil {
				return err
			}
			warnUnvouchedTool(s, repo.Config)
			refused := remoteRefused(repo)
			stale, err := generator.StaleFiles(dir)
			if err != nil {
				return ioFailure(err)
			}
			if len(stale) > 0 {
				// Untracked leftovers of a killed generate: not drift, but
				// a tree generate has not finished with.
				fmt.Fprintf(s.err, "temporary files of an interrupted generate are left; run: kustomatrix generate --repo %s\n", shellQuote(o.repo))
				for _, p := range stale {
					fmt.Fprintf(s.err, "  %s: %s\n", generator.Stale, p)
				}
			}
			if len(changes) == 0 && len(stale) == 0 {
				if refused != nil {
					return refused
				}
				fmt.Fprintf(s.out, "generated files are up to date (%d service(s), %d target(s))\n", len(repo.Services), len(repo.Targets))
				return nil
			}
			if len(changes) > 0 {
				fmt.Fprintf(s.err, "generated files are out of date; run: kustomatrix generate --repo %s\n", shellQuote(o.repo))
			}
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
func renderDrift(s *streams, repo *generator.Repo, dir string) ([]generator.File, []generator.Change, error) {
	if err := resolveToolPin(s, repo.Config, dir, true); err != nil {
		return nil, nil, err
	}
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
