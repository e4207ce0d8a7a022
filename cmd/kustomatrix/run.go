package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kustomatrix/kustomatrix/generator"
	"github.com/kustomatrix/kustomatrix/internal/workflowcmd"
)

// Exit codes. Scripts and CI rely on them; never renumber.
const (
	exitOK      = 0 // success; nothing to report
	exitChanges = 1 // the answer is "yes": drift found
	exitUsage   = 2 // bad usage, bad configuration, ambiguous layout
	exitFailure = 3 // something failed (I/O, git, kustomize)
)

// exitError carries an exit code through cobra's error return, so command
// bodies never call os.Exit.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// streams are the command's standard streams; passing them keeps commands
// testable in-process.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// In a workflow, manifest text in what kustomatrix prints (diffs,
	// kubectl's output) must never become a workflow command.
	if workflowcmd.Enabled() {
		var done func()
		stdout, stderr, done = workflowcmd.Streams(stdout)
		defer done()
	}
	s := &streams{in: stdin, out: stdout, err: stderr}
	root := newRootCommand(s)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "kustomatrix: %v\n", ee.err)
		}
		return ee.code
	}
	var ce *generator.ConfigError
	if errors.As(err, &ce) {
		fmt.Fprintln(stderr, ce.Error())
		return exitUsage
	}
	// Flag and argument errors are wrapped as usage errors where they are
	// raised; an unknown command is the one cobra error left.
	if strings.HasPrefix(err.Error(), "unknown command") {
		fmt.Fprintf(stderr, "kustomatrix: %v\nRun 'kustomatrix --help' for usage.\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "kustomatrix: %v\n", err)
	return exitFailure
}

func newRootCommand(s *streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "kustomatrix",
		Short: "Generate a per-service GitHub Actions pipeline for a Kustomize monorepo",
		Long: `kustomatrix scans a Kustomize manifest repository and generates the GitHub Actions
workflows that diff (on pull requests) and apply (on pushes) only the services a change affects.

Exit codes: 0 ok, 1 drift found (check), 2 bad usage or configuration, 3 failure.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: err}
	})
	root.AddCommand(
		newGenerateCommand(s),
		newCheckCommand(s),
		newAffectedCommand(s),
		newListCommand(s),
		newBuildCommand(s),
		newDiffCommand(s),
		newApplyCommand(s),
		newPruneCommand(s),
		newSyncCommand(s),
		newTargetCommand(s),
		newCommentCommand(s),
		newDeploymentCommand(s),
		newIdentityCommand(s),
		newVersionCommand(s),
	)
	return root
}

// repoOptions are the flags every command that reads the repository shares.
type repoOptions struct {
	repo   string
	strict bool
}

// noArgs rejects positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError("%s takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}

func (o *repoOptions) register(cmd *cobra.Command, withStrict bool) {
	cmd.Flags().StringVar(&o.repo, "repo", ".", "the manifest repository")
	if withStrict {
		cmd.Flags().BoolVar(&o.strict, "strict", false, "treat diagnostics (broken kustomizations, missing files, ...) as errors")
	}
}

// load reads the configuration and scans the repository. Diagnostics go to
// stderr; under --strict they fail the command with exit 2.
func (o *repoOptions) load(s *streams) (*generator.Repo, string, error) {
	dir, cfg, err := configAt(o.repo)
	if err != nil {
		return nil, "", err
	}
	repo, err := o.loadWith(s, dir, cfg)
	return repo, dir, err
}

// loadWith scans dir with a configuration already read.
func (o *repoOptions) loadWith(s *streams, dir string, cfg *generator.Config) (*generator.Repo, error) {
	repo, err := generator.Scan(filesys.MakeFsOnDisk(), dir, cfg)
	if err != nil {
		return nil, err
	}
	for _, d := range repo.Diagnostics {
		fmt.Fprintln(s.err, d)
	}
	if len(repo.Targets) == 0 {
		return nil, usageError("no kustomization roots found in %s (directories holding kustomization.yaml, kustomization.yml or Kustomization that no other kustomization references; hidden directories are skipped)", o.repo)
	}
	if o.strict && len(repo.Diagnostics) > 0 {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("%d diagnostic(s) with --strict", len(repo.Diagnostics))}
	}
	return repo, nil
}

// configAt resolves --repo, which must be a directory, and reads its
// configuration.
func configAt(repo string) (string, *generator.Config, error) {
	dir, err := repoDir(repo)
	if err != nil {
		return "", nil, err
	}
	cfg, err := loadConfig(dir)
	return dir, cfg, err
}

// repoDir resolves --repo, which must be a directory.
func repoDir(repo string) (string, error) {
	dir, err := filepath.Abs(repo)
	if err != nil {
		return "", &exitError{code: exitFailure, err: err}
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", usageError("--repo %q is not a directory", repo)
	}
	// A --repo reached through a symlink is scanned where it leads: the
	// walk does not follow links, and git names the real directory.
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return dir, nil
}

func loadConfig(dir string) (*generator.Config, error) {
	data, err := os.ReadFile(filepath.Join(dir, generator.ConfigFile))
	if os.IsNotExist(err) {
		data = nil
	} else if err != nil {
		return nil, &exitError{code: exitFailure, err: err}
	}
	return generator.LoadConfig(generator.ConfigFile, data)
}

// committedRepo is the repository as its committed paths file records it
// (targets, closures, services), read without scanning; when the file is
// missing or not in the generated form, a scan (whose diagnostics, if
// any, are printed). Commands that only need to know the targets use it:
// at 10,000 services, reading the file costs a tenth of a scan.
func (o *repoOptions) committedRepo(s *streams, dir string, cfg *generator.Config) (*generator.Repo, error) {
	data, err := os.ReadFile(filepath.Join(dir, cfg.PathsFile()))
	if err == nil {
		repo, perr := generator.RepoFromPathsFile(cfg, data, generator.HasKustomizationOnDisk(dir))
		if perr == nil {
			return repo, nil
		}
		fmt.Fprintf(s.err, "kustomatrix: scanning the repository: %v\n", perr)
	}
	return o.loadWith(s, dir, cfg)
}
