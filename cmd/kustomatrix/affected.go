package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kustomatrix/kustomatrix/generator"
	"github.com/kustomatrix/kustomatrix/internal/ghapi"
	"github.com/kustomatrix/kustomatrix/internal/gitdiff"
)

type affectedOptions struct {
	repoOptions
	base, head, files, service string
	planFile                   string
	githubOutput, baseSet      bool
	githubPR                   int
	lastDeploy, render, scan   bool
	checked, deployed          bool
	fetch                      bool   // fetch what a shallow clone lacks from origin
	nul                        bool   // -z: the --files list is NUL-separated
	sparse                     bool   // the working tree is a sparse checkout
	resolvedBase               string // the commit the change is taken from, for --github-output
	rg                         gitdiff.Range
	changes                    []gitdiff.Change
}

func newAffectedCommand(s *streams) *cobra.Command {
	var o affectedOptions
	cmd := &cobra.Command{
		Use:   "affected (--base REV [--head REV] | --files FILE|- | --service NAME)",
		Short: "Print which targets a change affects, as JSON",
		Long: `Says which targets a change between two commits affects.
With --base, the change is taken from the merge base of REV and --head (a
pull request's change), or with --deployed from REV itself (what the
cluster holds: a push); the targets are found at both ends, each commit
read from git as it is stored. A target is affected when the change
touches its dependency closure at either end, when it appeared (a new
directory, or one no longer referenced by another kustomization), or when
what the pipeline does for it changed (its environment's settings,
pruning); targets of the base gone at the head are listed as removed.
--head HEAD (the default) is the working tree as it is on disk.

With --files, a list of changed paths one per line ("-" for stdin), or
NUL-separated (-z, git diff -z --name-only), is mapped through the closures
at the head (removed targets are then not known). Each path is cleaned:
absolute inside the repository, "./", "a/../b", "//" and git's quoting
("caf\303\251.yaml") are understood, and a directory stands for every file
below it. A path that matches no file is said on stderr and kept (a
deleted file); a path outside the repository (the git work tree holding
--repo) is an error (exit 2). With --service, every target of one service
(a manual run).

Prints {"all", "reason", "targets", "removed"}, each target with "why". A
change to a file every target shares, a base that is not in the clone, or
no base at all (a new branch) means all: true, with the reason. With
--github-output, also writes the step outputs the generated workflow
reads to $GITHUB_OUTPUT.

With --checked (kustomatrix check has just passed on the working tree), the
head's targets and closures are read from the committed paths file, and
the base is scanned only when the change can alter the dependency graph
(a kustomization file added, removed or edited in its references, a
symlink, the configuration).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.baseSet = cmd.Flags().Changed("base")
			return o.run(s)
		},
	}
	o.register(cmd, false)
	f := cmd.Flags()
	f.StringVar(&o.base, "base", "", "base revision (merge base with --head is used)")
	f.StringVar(&o.head, "head", "HEAD", "head revision; HEAD is the working tree, uncommitted changes included")
	f.BoolVar(&o.fetch, "fetch", false, "in a shallow clone, fetch the base commit (and deepen the history for a merge base) from origin, authenticated with $GITHUB_TOKEN; the generated plan job checks out 2 commits")
	f.BoolVar(&o.deployed, "deployed", false, "the base is what the cluster holds (a push): diff it against the head directly, not from their merge base, so a force push reconciles everything that differs")
	f.StringVar(&o.files, "files", "", `file listing changed paths, one per line, or "-" for stdin; relative to --repo or absolute inside it, directories standing for every file below`)
	f.BoolVarP(&o.nul, "null", "z", false, "the --files list is NUL-separated, as git diff -z --name-only writes it (input holding a NUL is read so anyway)")
	f.StringVar(&o.service, "service", "", "select every target of this service")
	f.BoolVar(&o.githubOutput, "github-output", false, "also write step outputs to $GITHUB_OUTPUT")
	f.IntVar(&o.githubPR, "github-pr", 0, "take the changed files of this pull request from the GitHub API (GITHUB_REPOSITORY, GITHUB_TOKEN, GITHUB_API_URL); past GitHub's 3,000-file cap, fall back to --base")
	f.BoolVar(&o.render, "render", false, "build the candidate targets at the merge base and at the head and keep only those whose output differs (plan.render in the configuration turns it on too)")
	f.StringVar(&o.planFile, "plan-file", "", "also write the JSON to this file (the pull request comment marks planned targets that left no result as skipped)")
	f.BoolVar(&o.scan, "scan", false, "scan the repository at both ends (the default without --checked)")
	f.BoolVar(&o.checked, "checked", false, "kustomatrix check has just passed on this tree (the generated plan job runs it first): read the targets from the paths file whatever the change")
	f.BoolVar(&o.lastDeploy, "last-deploy", false, "with --base: diff from the head commit of the generated workflow's last successful push run on the deploy branch, falling back to --base; implies --deployed")
	return cmd
}

func (o *affectedOptions) run(s *streams) error {
	modes := 0
	for _, set := range []bool{o.baseSet || o.githubPR > 0, o.files != "", o.service != ""} {
		if set {
			modes++
		}
	}
	if modes > 1 {
		return usageError("use one of --base (or --github-pr), --files and --service")
	}
	if modes == 0 {
		return usageError("say what changed: --base REV, --github-pr N, --files FILE|- or --service NAME")
	}
	if o.checked && o.scan {
		return usageError("use one of --checked and --scan")
	}
	if o.checked && o.head != "HEAD" {
		return usageError("--checked reads the working tree's paths file, which check proved: it needs --head HEAD (the working tree)")
	}
	if o.lastDeploy && !o.baseSet {
		return usageError("--last-deploy needs --base, the fallback when there is no successful run")
	}
	if o.githubOutput && os.Getenv("GITHUB_OUTPUT") == "" {
		return usageError("--github-output: GITHUB_OUTPUT is not set (it is, inside a GitHub Actions step)")
	}
	dir, cfg, err := configAt(o.repo)
	if err != nil {
		return err
	}
	var (
		repo *generator.Repo
		res  *generator.AffectedResult
	)
	if o.service != "" {
		if o.checked {
			repo, err = o.committedRepo(s, dir, cfg)
		} else {
			repo, err = o.loadWith(s, dir, cfg)
		}
		if err != nil {
			return err
		}
		res, err = selectService(repo, o.service)
	} else {
		repo, res, err = o.affected(s, cfg, dir)
	}
	if err != nil {
		return err
	}
	if len(res.Promoted) > 0 {
		// Never a bare base deployed on its own because the overlay that
		// included it was garbled: the plan fails, naming both.
		for _, p := range res.Promoted {
			fmt.Fprintf(s.err, "kustomatrix: %s (service %q, environment %q) %s\n", p.Path, p.Service, p.Environment, p.Why)
		}
		return &exitError{code: exitFailure, err: fmt.Errorf("%d target(s) appeared only because the kustomization including them does not load at the head; nothing runs until it is fixed", len(res.Promoted))}
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if _, err := s.out.Write(data); err != nil {
		return err
	}
	if o.planFile != "" {
		if err := generator.WriteFileAtomic(o.planFile, data); err != nil {
			return &exitError{code: exitFailure, err: fmt.Errorf("--plan-file: %w", err)}
		}
	}
	if o.githubOutput {
		return writeGitHubOutput(repo, res, o.resolvedBase)
	}
	return nil
}

func (o *affectedOptions) changeSet(s *streams, cfg *generator.Config, dir string) (generator.ChangeSet, error) {
	if o.files != "" {
		files, err := readFileList(o.files, s.in, s.err, dir, o.nul)
		return generator.ChangeSet{Files: files}, err
	}
	note := ""
	if o.githubPR > 0 {
		cs, done, err := o.prChangeSet()
		if done || err != nil {
			return cs, err
		}
		note = cs.Everything // the cap was hit: say so, and use git
	}
	if o.lastDeploy {
		base, why := o.lastDeployBase(cfg, dir)
		if base != "" {
			o.base = base
		}
		note = why
	}
	cs, err := o.gitChangeSet(s, dir)
	if note != "" {
		if cs.Everything != "" {
			cs.Everything = note + "; " + cs.Everything
		} else {
			fmt.Fprintf(s.err, "kustomatrix: %s\n", note)
		}
	}
	return cs, err
}

// prChangeSet takes the files from the pull request files API. done is
// false when GitHub's cap was hit: files beyond it are never taken as
// unchanged, git decides instead (or everything runs).
func (o *affectedOptions) prChangeSet() (generator.ChangeSet, bool, error) {
	client, err := ghapi.FromEnv()
	if err != nil {
		return generator.ChangeSet{}, true, usageError("--github-pr: %v", err)
	}
	files, complete, err := client.PRFiles(context.Background(), o.githubPR)
	if err != nil {
		return generator.ChangeSet{}, true, &exitError{code: exitFailure, err: err}
	}
	if complete {
		return generator.ChangeSet{Files: files}, true, nil
	}
	why := fmt.Sprintf("pull request #%d changes more than the %d files GitHub lists", o.githubPR, ghapi.MaxPRFiles)
	if !o.baseSet {
		return generator.ChangeSet{Everything: why + ", and there is no --base to ask git: every target runs"}, true, nil
	}
	return generator.ChangeSet{Everything: why + "; using git from --base"}, false, nil
}

// lastDeployBase finds the head commit of the last successful push run of
// the generated workflow on the deploy branch: diffing from there, a run
// dropped by concurrency is never skipped (github.event.before would skip it).
func (o *affectedOptions) lastDeployBase(cfg *generator.Config, dir string) (string, string) {
	client, err := ghapi.FromEnv()
	if err == nil {
		var sha string
		wf := cfg.Name + ".yml"
		sha, err = client.LastSuccessfulRun(context.Background(), wf, cfg.DeployBranch)
		if err == nil && sha != "" {
			if _, rerr := (gitdiff.Repo{Dir: dir}).ResolveCommit(sha); rerr == nil {
				return sha, fmt.Sprintf("base: %s, the last successful run of %s on %s", sha, wf, cfg.DeployBranch)
			}
			return "", fmt.Sprintf("the last successful run's commit %s is not in this clone; base: --base %q", sha, o.base)
		}
		if err == nil {
			return "", fmt.Sprintf("no successful run of %s on %s yet; base: --base %q", wf, cfg.DeployBranch, o.base)
		}
	}
	return "", fmt.Sprintf("cannot ask GitHub for the last successful run (%v); base: --base %q", err, o.base)
}

// gitChangeSet asks git what changed between the base (or the merge base
// of base and head) and the head.
func (o *affectedOptions) gitChangeSet(s *streams, dir string) (generator.ChangeSet, error) {
	// The generated workflow passes github.event.before, which is empty or
	// all zeros when a branch is created.
	if strings.Trim(o.base, "0") == "" {
		return generator.ChangeSet{Everything: "no base commit (a new branch, or the first push): every target runs"}, nil
	}
	g := gitdiff.Repo{Dir: dir, Fetch: o.fetch, Token: os.Getenv("GITHUB_TOKEN")}
	if o.sparse = g.Sparse(); o.sparse && o.headRev() == "HEAD" {
		fmt.Fprintln(s.err, "kustomatrix: the working tree is a sparse checkout: the head is the HEAD commit, read from git (uncommitted changes are not seen)")
	}
	rg, err := g.Resolve(o.base, o.headRev(), o.deployed || o.lastDeploy)
	var un *gitdiff.Unavailable
	if errors.As(err, &un) {
		return generator.ChangeSet{Everything: un.Reason + ": every target runs"}, nil
	}
	var bad *gitdiff.BadRevision
	if errors.As(err, &bad) {
		return generator.ChangeSet{}, usageError("%v", err)
	}
	if err != nil {
		return generator.ChangeSet{}, &exitError{code: exitFailure, err: err}
	}
	// The working tree's own changes (uncommitted edits) are asked of git
	// only outside the pipeline: after check has passed on a fresh
	// checkout (--checked), the working tree is the head commit, and
	// comparing 100,000 files with the index would cost more than the rest.
	head := rg.Head
	if o.headIsWorkingTree() && !o.checked {
		head = ""
	}
	changes, err := g.Diff(rg.From, head)
	if err != nil {
		return generator.ChangeSet{}, &exitError{code: exitFailure, err: err}
	}
	o.rg, o.changes, o.resolvedBase = rg, changes, rg.From
	cs := generator.ChangeSet{Files: []string{}}
	for _, c := range changes {
		cs.Files = append(cs.Files, c.Path)
	}
	return cs, nil
}

func selectService(repo *generator.Repo, name string) (*generator.AffectedResult, error) {
	res := &generator.AffectedResult{Reason: fmt.Sprintf("service %q selected by hand", name),
		Targets: []generator.AffectedTarget{}, Removed: []generator.AffectedTarget{}}
	for _, t := range repo.Targets {
		if t.Service == name {
			res.Targets = append(res.Targets, generator.AffectedTarget{Service: t.Service, Environment: t.Environment, Path: t.Path})
		}
	}
	if len(res.Targets) == 0 {
		var names []string
		for _, sv := range repo.Services {
			names = append(names, sv.Name)
		}
		return nil, usageError("no service %q; services: %s", name, strings.Join(names, ", "))
	}
	return res, nil
}
