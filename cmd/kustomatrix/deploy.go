package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/diff"
	"github.com/spf13/cobra"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/kustomatrix/kustomatrix/generator"
	"github.com/kustomatrix/kustomatrix/internal/ghapi"
	"github.com/kustomatrix/kustomatrix/internal/gitdiff"
	"github.com/kustomatrix/kustomatrix/internal/kube"
	"github.com/kustomatrix/kustomatrix/internal/render"
	rpt "github.com/kustomatrix/kustomatrix/internal/report"
	"github.com/kustomatrix/kustomatrix/internal/summary"
)

// Object statuses in reports.
const (
	statusCreated       = "created"
	statusChanged       = "changed"
	statusUnchanged     = "unchanged"
	statusWillBeCreated = "will be created (its namespace does not exist yet)"
)

type deployOptions struct {
	repo, target, base, kubectl string
	server, exitCode, force     bool
	wait                        time.Duration
	reportDir                   string // diff: where to leave the pull request comment's report
	githubOutput                bool
}

func (o *deployOptions) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.repo, "repo", ".", "the manifest repository")
	f.StringVar(&o.target, "target", "", "the kustomization root, relative to --repo")
	f.StringVar(&o.kubectl, "kubectl", "kubectl", "the kubectl binary")
}

func (o *deployOptions) load() (string, *generator.Config, error) {
	if o.target == "" {
		return "", nil, usageError("--target is required")
	}
	dir, cfg, err := configAt(o.repo)
	return dir, cfg, err
}

// kubectlEnvHelp ends the help of the commands that run kubectl against
// the cluster (issue #12: kubectl's environment, request timeout).
const kubectlEnvHelp = `
kubectl runs without the KUBECTL_* variables of the environment (a
KUBECTL_EXTERNAL_DIFF would change the diff kustomatrix reads) and with a
timeout on each request to the API server: $` + kube.RequestTimeoutEnv + `
(a duration, default 30s). When the API server cannot be reached, the error
names the server, the context and the kubeconfig kubectl used.`

func newDiffCommand(s *streams) *cobra.Command {
	var o deployOptions
	cmd := &cobra.Command{
		Use:   "diff --target PATH (--server | --base REV)",
		Short: "Show what applying a target would change",
		Long: `With --server: kubectl diff --server-side --field-manager=kustomatrix of the
rendered target against the cluster; objects whose namespace does not exist
yet are reported as "will be created" instead of failing the diff.
With --base REV: no cluster is needed (forks, pull requests without
credentials): the target rendered at REV (from git objects) against the
working tree, as a unified diff per object.
Writes a Markdown report to $GITHUB_STEP_SUMMARY when it is set. Exit 0
whether or not there are changes (1 with --exit-code when there are).

With --report DIR, also leaves the target's result (changes, no changes, or
the error) as a JSON file in DIR for "kustomatrix comment", named after the
service and environment the committed paths file gives the target; with
--github-output, writes report=NAME (the file's name without .json) to
$GITHUB_OUTPUT, for the artifact that carries it to the commenting job.
` + kubectlEnvHelp,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			if o.githubOutput && os.Getenv("GITHUB_OUTPUT") == "" {
				return usageError("--github-output: GITHUB_OUTPUT is not set (it is, inside a GitHub Actions step)")
			}
			if o.githubOutput && o.reportDir == "" {
				return usageError("--github-output needs --report DIR")
			}
			return o.runDiff(s)
		},
	}
	o.register(cmd)
	cmd.Flags().BoolVar(&o.server, "server", false, "diff against the cluster (kubectl diff --server-side)")
	cmd.Flags().StringVar(&o.base, "base", "", "diff the rendering at this revision against the working tree (no cluster)")
	cmd.Flags().BoolVar(&o.exitCode, "exit-code", false, "exit 1 when there are changes")
	cmd.Flags().StringVar(&o.reportDir, "report", "", "also write the result as a report file into this directory, for kustomatrix comment")
	cmd.Flags().BoolVar(&o.githubOutput, "github-output", false, "with --report: write report=NAME to $GITHUB_OUTPUT")
	return cmd
}

func (o *deployOptions) runDiff(s *streams) error {
	if o.server == (o.base != "") {
		return usageError("use exactly one of --server and --base")
	}
	dir, cfg, err := o.load()
	if err != nil {
		return err
	}
	if o.reportDir == "" {
		return o.diff(s, dir, cfg)
	}
	r, err := o.newReport(s, dir, cfg)
	if err != nil {
		return err
	}
	r.RenderedFrom = o.base
	var out bytes.Buffer
	tee := &streams{in: s.in, out: io.MultiWriter(s.out, &out), err: s.err}
	derr := o.diff(tee, dir, cfg)
	var ee *exitError
	switch {
	case derr == nil || errors.As(derr, &ee) && ee.code == exitChanges:
		r.Status, r.Diff = rpt.StatusNoChanges, ""
		if out.Len() > 0 {
			r.Status, r.Diff = rpt.StatusChanges, out.String()
		}
	default:
		r.Status, r.Diff = rpt.StatusError, derr.Error()
	}
	name, err := rpt.Write(o.reportDir, r)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if o.githubOutput {
		if err := appendGitHubOutput("report", strings.TrimSuffix(filepath.Base(name), ".json")); err != nil {
			return err
		}
	}
	return derr
}

// newReport names the target for its report: service and environment as
// the committed paths file records them (a scan when it cannot say).
func (o *deployOptions) newReport(s *streams, dir string, cfg *generator.Config) (rpt.Report, error) {
	target := path.Clean(filepath.ToSlash(o.target))
	find := func(repo *generator.Repo) (rpt.Report, bool) {
		for _, t := range repo.Targets {
			if t.Path == target {
				return rpt.Report{Service: t.Service, Environment: t.Environment, Path: t.Path, RunURL: ghapi.RunURL()}, true
			}
		}
		return rpt.Report{}, false
	}
	ro := &repoOptions{}
	repo, err := ro.committedRepo(s, dir, cfg)
	if err != nil {
		return rpt.Report{}, err
	}
	if r, ok := find(repo); ok {
		return r, nil
	}
	// Not in the committed file (a root added without regenerating, which
	// check fails on): the scan decides.
	if repo, err = ro.loadWith(s, dir, cfg); err != nil {
		return rpt.Report{}, err
	}
	if r, ok := find(repo); ok {
		return r, nil
	}
	return rpt.Report{}, usageError("--report: %q is not a target (kustomatrix list shows them)", o.target)
}

// diff renders the target and diffs it, printing each changed object's diff
// on stdout.
func (o *deployOptions) diff(s *streams, dir string, cfg *generator.Config) error {
	objs, _, err := render.Build(filesys.MakeFsOnDisk(), dir, o.target, cfg)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	var rows []summary.Row
	var baseNote string // set when the target does not render at the base
	if o.server {
		if cfg.Prunes(o.target) {
			if objs, err = withApplySetLabel(o.target, objs); err != nil {
				return &exitError{code: exitFailure, err: err}
			}
		}
		rows, err = serverDiff(kube.Kubectl{Path: o.kubectl}, objs)
	} else {
		if err := (gitdiff.Repo{Dir: dir}).FetchCommit(o.base, os.Getenv("GITHUB_TOKEN")); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		var baseErr error
		rows, baseErr, err = renderDiff(dir, o.base, o.target, cfg, objs)
		if baseErr != nil {
			// Said first, in the diff itself, so the report carries it.
			baseNote = fmt.Sprintf("the target does not render at base %s, so every object is shown as created", gitdiff.Short(o.base))
			fmt.Fprintf(s.out, "# kustomatrix: %s: %s\n", baseNote, firstLine(baseErr.Error()))
			fmt.Fprintf(s.err, "%s: %v\n", baseNote, baseErr)
		}
	}
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	rows = rpt.Guard(objs, rows) // Secrets masked, objects outside the target's namespace flagged
	changes := report(s, rows)
	title := fmt.Sprintf("diff %s: %s", o.target, map[bool]string{true: fmt.Sprintf("%d change(s)", changes), false: "no changes"}[changes > 0])
	if !o.server {
		// Never mistaken for what the cluster would do.
		title += fmt.Sprintf(" (rendered against base %s, not compared with the cluster", gitdiff.Short(o.base))
		if baseNote != "" {
			title += "; " + baseNote
		}
		title += ")"
		fmt.Fprintf(s.err, "rendered diff: the target at %s against the working tree, not compared with the cluster\n", o.base)
	}
	if err := summary.Append(summary.Markdown(title, rows, summary.MaxBytes)); err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if o.exitCode && changes > 0 {
		return &exitError{code: exitChanges}
	}
	return nil
}

// report prints each changed object's diff and a status line per object,
// and returns how many objects change.
func report(s *streams, rows []summary.Row) int {
	n := 0
	for _, r := range rows {
		if r.Status != statusUnchanged {
			n++
			s.out.Write(r.Diff)
		}
	}
	for _, r := range rows {
		fmt.Fprintf(s.err, "%s: %s\n", r.ID, r.Status)
	}
	return n
}

// serverDiff diffs against the cluster. kubectl diff fails outright (exit 2)
// on an object whose namespace does not exist, even when the Namespace is in
// the same stream; those objects are new by definition, so they are kept out
// of kubectl's input and reported as such.
func serverDiff(k kube.Kubectl, objs []render.Object) ([]summary.Row, error) {
	ctx := context.Background()
	existing, err := k.Namespaces(ctx)
	if err != nil {
		return nil, err
	}
	var stream []byte
	var rows []summary.Row
	pending := map[int]bool{}
	for i, o := range objs {
		if o.Namespace != "" && !existing[o.Namespace] {
			pending[i] = true
			continue
		}
		stream = append(stream, "---\n"...)
		stream = append(stream, o.YAML...)
	}
	chunks := map[string][]byte{}
	if len(stream) > 0 {
		out, _, err := k.Diff(ctx, stream)
		if err != nil {
			return nil, err
		}
		chunks = kube.SplitDiff(out)
	}
	for i, o := range objs {
		row := summary.Row{ID: o.ID(), Status: statusUnchanged}
		switch chunk, ok := lookupChunk(chunks, o); {
		case pending[i]:
			row.Status, row.Diff = statusWillBeCreated, diff.Diff("/dev/null", nil, o.ID(), render.MaskSecret(o, nil, true).YAML)
		case ok && strings.Contains(string(chunk), "@@ -0,0 "):
			row.Status, row.Diff = statusCreated, chunk
		case ok:
			row.Status, row.Diff = statusChanged, chunk
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// lookupChunk finds an object's part of kubectl diff's output: kubectl
// names it group.version.Kind.namespace.name.
func lookupChunk(chunks map[string][]byte, o render.Object) ([]byte, bool) {
	suffix := "." + o.Kind + "." + o.Namespace + "." + o.Name
	for k, c := range chunks {
		if strings.HasSuffix(k, suffix) || (o.Namespace == "" && strings.HasSuffix(k, "."+o.Kind+"."+o.Name)) {
			return c, true
		}
	}
	return nil, false
}

// renderDiff compares the target rendered at base with the working tree.
// A target that does not render at base (the pull request fixes it) is
// compared as if it rendered nothing there: every object is created, and
// baseErr says why. Failing instead would leave a fork's pull request no
// way to fix a broken target.
func renderDiff(dir, base, target string, cfg *generator.Config, head []render.Object) (rows []summary.Row, baseErr, err error) {
	fsys, root, err := render.AtCommit(dir, base)
	if err != nil {
		return nil, nil, err
	}
	defer fsys.Close()
	var before []render.Object
	if fsys.Exists(filepath.Join(root, filepath.FromSlash(target))) {
		if before, _, err = render.Build(fsys, root, target, cfg); err != nil {
			before, baseErr = nil, fmt.Errorf("at %s: %w", base, err)
		}
	}
	changed := map[string]render.Change{}
	for _, c := range render.Compare(before, head, diff.Diff) {
		changed[c.ID] = c
	}
	for _, o := range head {
		row := summary.Row{ID: o.ID(), Status: statusUnchanged}
		if c, ok := changed[o.ID()]; ok {
			row.Status, row.Diff = c.Kind, c.Diff
		}
		rows = append(rows, row)
	}
	for _, c := range changed {
		if c.Kind == "deleted" {
			rows = append(rows, summary.Row{ID: c.ID, Status: "no longer rendered (not deleted from the cluster)", Diff: c.Diff})
		}
	}
	return rows, baseErr, nil
}

func newApplyCommand(s *streams) *cobra.Command {
	var o deployOptions
	cmd := &cobra.Command{
		Use:   "apply --target PATH",
		Short: "Apply a target with kubectl apply --server-side",
		Long: `Renders the target, diffs it against the cluster for the report, then runs
kubectl apply --server-side --field-manager=kustomatrix. With --wait, waits
for Deployments, StatefulSets and DaemonSets to roll out. Writes a Markdown
report to $GITHUB_STEP_SUMMARY when it is set.
` + kubectlEnvHelp,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error { return o.runApply(s) },
	}
	o.register(cmd)
	cmd.Flags().BoolVar(&o.force, "force-conflicts", false, "take over fields another field manager owns")
	cmd.Flags().DurationVar(&o.wait, "wait", 0, "wait up to this long for workloads to roll out (0: do not wait)")
	return cmd
}

func (o *deployOptions) runApply(s *streams) error {
	dir, cfg, err := o.load()
	if err != nil {
		return err
	}
	objs, all, err := render.Build(filesys.MakeFsOnDisk(), dir, o.target, cfg)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	k := kube.Kubectl{Path: o.kubectl}
	diffed := objs
	if cfg.Prunes(o.target) {
		if diffed, err = withApplySetLabel(o.target, objs); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
	}
	rows, err := serverDiff(k, diffed)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	rows = rpt.Guard(diffed, rows)
	changes := report(s, rows)
	opts := kube.ApplyOptions{ForceConflicts: o.force}
	var out []byte
	if cfg.Prunes(o.target) {
		var pruned []summary.Row
		out, pruned, err = applyPruned(s, k, dir, cfg, o.target, objs, opts)
		rows = append(rows, pruned...)
	} else {
		out, err = k.Apply(context.Background(), all, opts)
	}
	s.out.Write(out)
	var skipped *pruneSkippedError
	if err != nil && !errors.As(err, &skipped) {
		summary.Append(summary.Markdown(fmt.Sprintf("apply %s: failed", o.target), rows, summary.MaxBytes))
		return &exitError{code: exitFailure, err: err}
	}
	if o.wait > 0 {
		if err := waitForRollouts(k, objs, o.wait); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
	}
	title := fmt.Sprintf("apply %s: %d object(s) created or changed, %d unchanged", o.target, changes, len(rows)-changes)
	if skipped != nil {
		title += fmt.Sprintf("; pruning skipped: %s does not render at the head", skipped.cause.target)
	}
	if err := summary.Append(summary.Markdown(title, rows, summary.MaxBytes)); err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if skipped != nil {
		return &exitError{code: exitFailure, err: skipped}
	}
	return nil
}

// withApplySetLabel returns copies of the namespaced objects of a
// prune-enabled target carrying the part-of label that kubectl's ApplySet
// apply adds: diffed without it, every object would show the label's
// removal. The objects that are applied stay unlabelled (kubectl refuses
// input that already has it).
func withApplySetLabel(target string, objs []render.Object) ([]render.Object, error) {
	_, _, ns, err := splitScope(objs)
	if err != nil || ns == "" {
		return objs, err
	}
	id := kube.ApplySetID(applySetParent(target), ns)
	out := make([]render.Object, len(objs))
	for i, o := range objs {
		out[i] = o
		if o.Namespace == "" {
			continue
		}
		node, err := kyaml.Parse(string(o.YAML))
		if err != nil {
			return nil, err
		}
		if err := node.PipeE(kyaml.SetLabel(kube.PartOfLabel, id)); err != nil {
			return nil, err
		}
		s, err := node.String()
		if err != nil {
			return nil, err
		}
		out[i].YAML = []byte(s)
	}
	return out, nil
}

// applySetParent names the ConfigMap that records a target's ApplySet:
// stable per target path, and a valid object name whatever the path.
func applySetParent(target string) string {
	sum := sha256.Sum256([]byte(target))
	return "kustomatrix-applyset-" + hex.EncodeToString(sum[:6])
}

// splitScope separates cluster-scoped objects from namespaced ones, which
// must all be in one namespace: kubectl's ApplySet takes one namespace, and
// it cannot prune cluster-scoped members of a namespaced set. Cluster-scoped
// objects (the Namespace itself, say) are applied but never pruned.
func splitScope(objs []render.Object) (cluster, namespaced []byte, namespace string, err error) {
	for _, o := range objs {
		if o.Namespace == "" {
			cluster = append(append(cluster, "---\n"...), o.YAML...)
			continue
		}
		if namespace != "" && o.Namespace != namespace {
			return nil, nil, "", fmt.Errorf("pruning needs the target's namespaced objects in one namespace; found %q and %q", namespace, o.Namespace)
		}
		namespace = o.Namespace
		namespaced = append(append(namespaced, "---\n"...), o.YAML...)
	}
	return cluster, namespaced, namespace, nil
}

// applyPruned applies a prune-enabled target: cluster-scoped objects first
// (a new namespace must exist before its ApplySet parent), then the
// namespaced ones as an ApplySet, which deletes members no longer rendered
// — except those another target at the head renders (see releaseMoved).
func applyPruned(s *streams, k kube.Kubectl, dir string, cfg *generator.Config, target string, objs []render.Object, opts kube.ApplyOptions) ([]byte, []summary.Row, error) {
	cluster, namespaced, ns, err := splitScope(objs)
	if err != nil {
		return nil, nil, err
	}
	ctx := context.Background()
	var out []byte
	if len(cluster) > 0 {
		if out, err = k.Apply(ctx, cluster, opts); err != nil {
			return out, nil, err
		}
	}
	if len(namespaced) == 0 {
		return out, nil, nil
	}
	rows, err := releaseMoved(s, k, dir, cfg, target, ns, objs)
	var unknown *headUnknownError
	if errors.As(err, &unknown) {
		// One broken target must not hold back another's deployment: only
		// the prune waits for it.
		more, err := applyUnpruned(ctx, k, target, objs, opts)
		out = append(out, more...)
		if err != nil {
			return out, rows, err
		}
		return out, rows, &pruneSkippedError{target: target, cause: unknown}
	}
	if err != nil {
		return out, rows, err
	}
	more, err := k.ApplyPruned(ctx, namespaced, ns, applySetParent(target), opts)
	out = append(out, more...)
	for _, line := range strings.Split(string(more), "\n") {
		if id, ok := strings.CutSuffix(strings.TrimSpace(line), " pruned"); ok {
			rows = append(rows, summary.Row{ID: id + " -n " + ns, Status: "pruned"})
		}
	}
	return out, rows, err
}

// applyUnpruned applies the namespaced objects of a prune-enabled target
// without pruning. They carry the ApplySet's part-of label (as its apply
// would add it): the set keeps them, new ones included, for the next prune.
func applyUnpruned(ctx context.Context, k kube.Kubectl, target string, objs []render.Object, opts kube.ApplyOptions) ([]byte, error) {
	labelled, err := withApplySetLabel(target, objs)
	if err != nil {
		return nil, err
	}
	_, namespaced, _, err := splitScope(labelled)
	if err != nil {
		return nil, err
	}
	return k.Apply(ctx, namespaced, opts)
}

// pruneSkippedError is the failure of an apply that applied its target but
// skipped the prune, as what the head deploys is unknown.
type pruneSkippedError struct {
	target string
	cause  *headUnknownError
}

func (e *pruneSkippedError) Error() string {
	return fmt.Sprintf("%s was applied, but pruning was skipped: %v", e.target, e.cause)
}

func (e *pruneSkippedError) Unwrap() error { return e.cause }

func waitForRollouts(k kube.Kubectl, objs []render.Object, timeout time.Duration) error {
	for _, o := range objs {
		switch o.Kind {
		case "Deployment", "StatefulSet", "DaemonSet":
			if err := k.RolloutStatus(context.Background(), strings.ToLower(o.Kind)+"/"+o.Name, o.Namespace, timeout.String()); err != nil {
				return err
			}
		}
	}
	return nil
}

// releaseMoved keeps kubectl's prune from deleting what another target now
// renders. Service jobs apply in parallel, in any order: when an object
// moves from this target to another, this apply would prune it (it still
// carries this set's label) and the other one create it again — a deleted
// Deployment, or a PersistentVolumeClaim with its data. So the members this
// target no longer renders that a target at the head does are released
// from the set first (the label removed while it is still this set's); the
// other target's apply takes them over. The head is rendered only when some
// member is about to be pruned.
func releaseMoved(s *streams, k kube.Kubectl, dir string, cfg *generator.Config, target, ns string, objs []render.Object) ([]summary.Row, error) {
	ctx := context.Background()
	set, err := k.GetApplySet(ctx, ns, applySetParent(target))
	if err != nil || set == nil {
		return nil, err
	}
	members, err := k.Members(ctx, set, nil)
	if err != nil {
		return nil, err
	}
	rendered := map[objKey]bool{}
	for _, o := range objs {
		rendered[keyOf(o)] = true
	}
	var leaving []kube.Object
	for _, m := range members {
		if !rendered[objKey{m.Group, m.Kind, m.Namespace, m.Name}] {
			leaving = append(leaving, m)
		}
	}
	if len(leaving) == 0 {
		return nil, nil
	}
	head, err := renderHead(s, dir, cfg, target)
	if err != nil {
		return nil, fmt.Errorf("before pruning: %w", err)
	}
	var rows []summary.Row
	for _, m := range leaving {
		by, ok := head.renderedBy(objKey{m.Group, m.Kind, m.Namespace, m.Name})
		if !ok {
			continue
		}
		if err := k.ReleaseMember(ctx, m, set.ID); err != nil {
			return rows, err
		}
		status := "not pruned: " + by + " renders it now (released from this target's ApplySet)"
		rows = append(rows, summary.Row{ID: m.ID(), Status: status})
		fmt.Fprintf(s.err, "%s: %s\n", m.ID(), status)
	}
	return rows, nil
}
