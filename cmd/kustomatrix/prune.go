package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kustomatrix/kustomatrix/generator"
	"github.com/kustomatrix/kustomatrix/internal/ghapi"
	"github.com/kustomatrix/kustomatrix/internal/gitdiff"
	"github.com/kustomatrix/kustomatrix/internal/kube"
	"github.com/kustomatrix/kustomatrix/internal/render"
	rpt "github.com/kustomatrix/kustomatrix/internal/report"
	"github.com/kustomatrix/kustomatrix/internal/summary"
)

// The two dry runs of prune.
const (
	dryRunServer = "server" // list the ApplySet's members in the cluster
	dryRunRender = "render" // no cluster: the target rendered at the base
)

type pruneOptions struct {
	deployOptions
	dryRun string
}

func newPruneCommand(s *streams) *cobra.Command {
	var o pruneOptions
	cmd := &cobra.Command{
		Use:   "prune --target PATH --base REV",
		Short: "Delete what a removed target deployed, when pruning is enabled for it",
		Long: `For a target that exists at REV and is gone now (a removed service), when
its path matches prune: in the configuration, deletes what kustomatrix
deployed for it: the members of its ApplySet, found by listing the cluster
for the objects that carry its applyset.kubernetes.io/part-of label, of the
kinds its parent ConfigMap records, in the namespace the target rendered
into at REV. Never by name from a rendering, and never an object that a
target of the working tree (the head) renders: those are kept, released
from the set (the label removed, so no later prune deletes them), and
reported, so renaming or moving a service never deletes what it still
deploys. Then the ApplySet's parent. Cluster-scoped objects (the Namespace)
are never deleted. Without prune: it deletes nothing and says so: removing
a directory never silently deletes workloads.

With --dry-run=server, deletes nothing and lists what it would delete, from
the cluster; with --dry-run=render, without a cluster, from the target's
rendering at REV (an upper bound: only those carrying the label are
deleted). With --report DIR (dry runs only), also leaves that list as a
report file for "kustomatrix comment"; with --github-output, writes
report=NAME to $GITHUB_OUTPUT.`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error { return o.run(s) },
	}
	o.register(cmd)
	f := cmd.Flags()
	f.StringVar(&o.base, "base", "", "the revision at which the target still existed")
	f.StringVar(&o.dryRun, "dry-run", "", `list what would be deleted and delete nothing: "server" (from the cluster) or "render" (from the rendering at --base, no cluster)`)
	f.StringVar(&o.reportDir, "report", "", "with --dry-run: also write the list as a report file into this directory, for kustomatrix comment")
	f.BoolVar(&o.githubOutput, "github-output", false, "with --report: write report=NAME to $GITHUB_OUTPUT")
	return cmd
}

// prunePlan is what pruning a removed target deletes and keeps.
type prunePlan struct {
	pruned    bool   // prune: covers the target
	source    string // rpt.SourceCluster or rpt.SourceRendering
	namespace string
	set       *kube.ApplySet // the target's ApplySet in the cluster; nil when there is none (or not read)
	members   []kube.Object  // cluster: the members to delete
	rendered  []string       // rendering: the ids of the objects deleted if they carry the label
	kept      []keptObject
	note      string // why nothing is listed, when that needs saying
}

// keptObject is a candidate for deletion that a target at the head renders.
type keptObject struct {
	id, by string
	member *kube.Object // when listed in the cluster: released from the set
}

func (o *pruneOptions) run(s *streams) error {
	switch {
	case o.base == "":
		return usageError("--base is required: the revision at which the target still existed")
	case o.dryRun != "" && o.dryRun != dryRunServer && o.dryRun != dryRunRender:
		return usageError("--dry-run %q: want %q or %q", o.dryRun, dryRunServer, dryRunRender)
	case o.reportDir != "" && o.dryRun == "":
		return usageError("--report needs --dry-run: the report is the list of what merging would delete")
	case o.githubOutput && o.reportDir == "":
		return usageError("--github-output needs --report DIR")
	case o.githubOutput && os.Getenv("GITHUB_OUTPUT") == "":
		return usageError("--github-output: GITHUB_OUTPUT is not set (it is, inside a GitHub Actions step)")
	}
	dir, cfg, err := o.load()
	if err != nil {
		return err
	}
	o.target = path.Clean(filepath.ToSlash(o.target))
	kept := func() error {
		msg := fmt.Sprintf("prune %s: kept; pruning is not enabled for it (prune: in %s)", o.target, generator.ConfigFile)
		fmt.Fprintln(s.out, msg)
		return summary.Append(summary.Heading(msg))
	}
	if !cfg.Prunes(o.target) && o.reportDir == "" {
		return kept() // the base is not even read
	}
	// A checkout with fetch-depth 1 (a pull request's diff job) lacks the
	// base: fetch that one commit.
	if err := (gitdiff.Repo{Dir: dir}).FetchCommit(o.base, os.Getenv("GITHUB_TOKEN")); err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	fsys, root, err := render.AtCommit(dir, o.base)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	defer fsys.Close()
	pl, perr := o.plan(s, dir, cfg, fsys, root)
	if o.reportDir != "" {
		if err := o.writeReport(cfg, fsys, root, pl, perr); err != nil {
			return err
		}
	}
	if perr != nil {
		return &exitError{code: exitFailure, err: perr}
	}
	if !pl.pruned {
		return kept()
	}
	rows, err := o.execute(s, pl)
	title := "prune " + o.target + " (removed)"
	if o.dryRun != "" {
		title += ": dry run, nothing deleted"
	}
	if pl.note != "" {
		title += ": " + pl.note
	}
	if serr := summary.Append(summary.Markdown(title, rows, summary.MaxBytes)); err == nil {
		err = serr
	}
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	return nil
}

// plan finds what pruning the target deletes. The rendering at the base
// says only where the target's ApplySet lives (its namespace); what the set
// holds comes from the cluster (or, with --dry-run=render, is bounded by
// that rendering).
func (o *pruneOptions) plan(s *streams, dir string, cfg *generator.Config, fsys filesys.FileSystem, root string) (*prunePlan, error) {
	pl := &prunePlan{pruned: cfg.Prunes(o.target), source: rpt.SourceCluster}
	if o.dryRun == dryRunRender {
		pl.source = rpt.SourceRendering
	}
	if !pl.pruned {
		return pl, nil
	}
	objs, _, err := render.Build(fsys, root, o.target, cfg)
	if err != nil {
		return pl, fmt.Errorf("at %s: %w", o.base, err)
	}
	_, _, ns, err := splitScope(objs)
	if err != nil {
		return pl, fmt.Errorf("at %s: %w", o.base, err)
	}
	if ns == "" {
		pl.note = "it rendered no namespaced object, so it has no ApplySet"
		return pl, nil
	}
	pl.namespace = ns
	candidates, err := o.candidates(pl, objs)
	if err != nil {
		return pl, err
	}
	if len(candidates) == 0 {
		return pl, nil
	}
	head, err := renderHead(s, dir, cfg)
	if err != nil {
		return pl, err
	}
	for _, c := range candidates {
		if by, ok := head.renderedBy(c.key); ok {
			pl.kept = append(pl.kept, keptObject{id: c.id, by: by, member: c.member})
			continue
		}
		if c.member != nil {
			pl.members = append(pl.members, *c.member)
		} else {
			pl.rendered = append(pl.rendered, c.id)
		}
	}
	return pl, nil
}

// candidates are what pruning deletes unless the head renders it: the
// members of the target's ApplySet in the cluster, or with
// --dry-run=render, the namespaced objects it rendered at the base. Sets
// pl.set, or pl.note when there is no set.
func (o *pruneOptions) candidates(pl *prunePlan, objs []render.Object) ([]candidate, error) {
	var out []candidate
	if o.dryRun == dryRunRender {
		for _, ob := range objs {
			if ob.Namespace != "" {
				out = append(out, candidate{id: ob.ID(), key: keyOf(ob)})
			}
		}
		return out, nil
	}
	k := kube.Kubectl{Path: o.kubectl}
	parent := applySetParent(o.target)
	set, err := k.GetApplySet(context.Background(), pl.namespace, parent)
	if err != nil {
		return nil, err
	}
	if set == nil {
		pl.note = fmt.Sprintf("no ApplySet parent (configmap %s/%s) in the cluster: nothing is recorded as deployed by this target", pl.namespace, parent)
		return nil, nil
	}
	pl.set = set
	members, err := k.Members(context.Background(), set, nil)
	if err != nil {
		return nil, err
	}
	for i := range members {
		m := &members[i]
		out = append(out, candidate{id: m.ID(), key: objKey{m.Group, m.Kind, m.Namespace, m.Name}, member: m})
	}
	return out, nil
}

// candidate is an object pruning would delete unless the head renders it.
type candidate struct {
	id     string
	key    objKey
	member *kube.Object
}

// execute deletes the plan's members (or, in a dry run, lists them),
// releases the kept ones, then deletes the ApplySet's parent; it prints a
// line per object and returns the summary's rows.
func (o *pruneOptions) execute(s *streams, pl *prunePlan) ([]summary.Row, error) {
	k := kube.Kubectl{Path: o.kubectl}
	ctx := context.Background()
	var rows []summary.Row
	row := func(id, status string) {
		rows = append(rows, summary.Row{ID: id, Status: status})
		fmt.Fprintf(s.err, "%s: %s\n", id, status)
	}
	var errs []error
	deletions := 0
	for _, kp := range pl.kept {
		status := "kept: " + kp.by + " renders it at the head"
		if kp.member != nil && o.dryRun == "" {
			if err := k.ReleaseMember(ctx, *kp.member, pl.set.ID); err != nil {
				errs = append(errs, err)
				status = "kept, but not released from the ApplySet: " + err.Error()
			} else {
				status += " (released from the ApplySet)"
			}
		}
		row(kp.id, status)
	}
	for _, id := range pl.rendered {
		row(id, "deleted on merge if it carries the ApplySet label (rendered at the base; the cluster was not read)")
	}
	for _, m := range pl.members {
		if o.dryRun != "" {
			row(m.ID(), "would be deleted")
			continue
		}
		deleted, err := k.DeleteMember(ctx, m, pl.set.ID)
		switch {
		case err != nil:
			errs = append(errs, err)
			row(m.ID(), "not deleted: "+err.Error())
		case deleted:
			deletions++
			row(m.ID(), "deleted")
		default:
			row(m.ID(), "left alone: gone, or no longer a member of the ApplySet")
		}
	}
	if len(errs) == 0 && pl.set != nil && o.dryRun == "" {
		if err := k.DeleteConfigMap(ctx, pl.namespace, pl.set.Parent); err != nil {
			errs = append(errs, err)
		}
	}
	n := len(pl.members) + len(pl.rendered)
	switch {
	case pl.note != "":
		fmt.Fprintf(s.out, "prune %s: nothing to delete: %s\n", o.target, pl.note)
	case o.dryRun != "":
		fmt.Fprintf(s.out, "prune %s (dry run, from the %s): %d object(s) would be deleted, %d kept\n", o.target, pl.source, n, len(pl.kept))
	default:
		fmt.Fprintf(s.out, "prune %s: %d object(s) deleted, %d kept\n", o.target, deletions, len(pl.kept))
	}
	return rows, errors.Join(errs...)
}

// writeReport leaves the dry run's result for the pull request comment:
// what merging deletes, or the error.
func (o *pruneOptions) writeReport(cfg *generator.Config, fsys filesys.FileSystem, root string, pl *prunePlan, perr error) error {
	service, env, err := baseNames(cfg, fsys, root, o.target)
	if err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("at %s: %w", o.base, err)}
	}
	r := rpt.Report{Service: service, Environment: env, Path: o.target, RunURL: ghapi.RunURL(), Status: rpt.StatusNoChanges,
		Removal: &rpt.Removal{Pruned: cfg.Prunes(o.target)}}
	switch {
	case perr != nil:
		r.Status, r.Diff = rpt.StatusError, perr.Error()
	case pl.pruned:
		rm := r.Removal
		rm.Source, rm.Note, rm.Deletes = pl.source, pl.note, append([]string{}, pl.rendered...)
		for _, m := range pl.members {
			rm.Deletes = append(rm.Deletes, m.ID())
		}
		for _, kp := range pl.kept {
			rm.Kept = append(rm.Kept, rpt.Kept{ID: kp.id, RenderedBy: kp.by})
		}
		if len(rm.Deletes) > 0 {
			r.Status = rpt.StatusChanges
		}
	}
	name, err := rpt.Write(o.reportDir, r)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if o.githubOutput {
		return appendGitHubOutput("report", strings.TrimSuffix(filepath.Base(name), ".json"))
	}
	return nil
}

// baseNames finds the service and environment a target had at the base:
// from the paths file committed there, else from a scan of the base.
func baseNames(cfg *generator.Config, fsys filesys.FileSystem, root, target string) (service, env string, err error) {
	if data, err := fsys.ReadFile(filepath.Join(root, filepath.FromSlash(cfg.PathsFile()))); err == nil {
		if ts, err := generator.ParsePathsFile(data); err == nil {
			for _, t := range ts {
				if t.Path == target {
					return t.Service, t.Environment, nil
				}
			}
		}
	}
	repo, err := generator.Scan(fsys, root, cfg)
	if err != nil {
		return "", "", err
	}
	for _, t := range repo.Targets {
		if t.Path == target {
			return t.Service, t.Environment, nil
		}
	}
	return "", "", fmt.Errorf("%q is not a target", target)
}
