// Package replay is a differential replay of kustomatrix affected over a
// repository's history: for each first-parent commit it computes the truth
// (the deploy targets whose rendered output differs from the parent's, plus
// the targets added and removed) with its own root finder and kustomize,
// independently of kustomatrix's scanner, and scores what the binary under
// test answers, with and without --render.
package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Options says what to replay and with which binary.
type Options struct {
	Repo    string   // a git working tree (its history is replayed, its files untouched)
	Kmx     string   // the kustomatrix binary under test
	Rev     string   // the newest commit (default HEAD)
	Commits int      // replay the newest N relevant first-parent commits (0: all)
	Paths   []string // git pathspecs the commits must touch (default: any)
	// Submodules checks out submodules at both ends (their URLs must be
	// local: the replay never uses the network).
	Submodules bool
	// NoReuse builds every root at every commit instead of reusing the
	// parent's output when the build read nothing the commit changed: a
	// check of that shortcut, several times slower.
	NoReuse bool
	// RenderAll runs affected --render on every commit; by default it runs
	// only where the truth or the static answer is not empty (elsewhere
	// there is nothing for it to build, and it costs a read of the whole
	// base tree).
	RenderAll bool
	// InParent runs kustomatrix in the parent's working tree (with --head
	// naming the commit) instead of the commit's: the answer must not
	// depend on what is checked out.
	InParent bool
	Jobs     int           // parallel builds (default GOMAXPROCS)
	Timeout  time.Duration // per kustomatrix run (default 10 minutes)
	WorkDir  string        // scratch space for two worktrees (default: a new temporary directory)
	Progress io.Writer     // a line per commit (nil: silent)
}

// side is one commit checked out in one of the two worktrees, with its
// roots and their builds.
type side struct {
	commit  string
	wt      int
	tree    *tree
	results map[string]*buildResult
	builds  int // roots built for this side (the others reused)
}

type runner struct {
	o    Options
	git  gitRunner
	wts  [2]string
	kmx  *kmx
	env  []string
	pool chan struct{}
}

// Run replays the history and returns the report. While it runs, the
// process's HTTP transport and git environment refuse the network (see
// offline): one Run at a time.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Rev == "" {
		o.Rev = "HEAD"
	}
	if o.Jobs <= 0 {
		o.Jobs = runtime.GOMAXPROCS(0)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	restore := offline()
	defer restore()
	kmxBin, err := filepath.Abs(o.Kmx)
	if err != nil {
		return nil, err
	}
	env := gitEnv()
	r := &runner{o: o, git: newGit(o.Repo, env), env: env, pool: make(chan struct{}, o.Jobs),
		kmx: &kmx{bin: kmxBin, env: env, timeout: o.Timeout}}
	commits, err := selectCommits(ctx, r.git, o.Rev, o.Commits, o.Paths)
	if err != nil {
		return nil, err
	}
	if len(commits) == 0 {
		return nil, fmt.Errorf("no commit of %s touches a file a build may read", o.Rev)
	}
	cleanup, err := r.worktrees(ctx, commits[0].Parent)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	return r.replay(ctx, commits)
}

// offline makes the replay's own kustomize unable to fetch anything: HTTP
// resources fail, and so do the git clones of remote bases (kustomize runs
// git with the process environment). It returns what undoes it.
func offline() func() {
	prevTransport := http.DefaultTransport
	http.DefaultTransport = offlineTransport{}
	saved := map[string]*string{}
	for _, kv := range []string{"GIT_ALLOW_PROTOCOL=file", "GIT_TERMINAL_PROMPT=0", "GIT_SSH_COMMAND=false", "GIT_CONFIG_NOSYSTEM=1"} {
		k, v, _ := strings.Cut(kv, "=")
		if old, ok := os.LookupEnv(k); ok {
			saved[k] = &old
		} else {
			saved[k] = nil
		}
		os.Setenv(k, v)
	}
	return func() {
		http.DefaultTransport = prevTransport
		for k, v := range saved {
			if v == nil {
				os.Unsetenv(k)
			} else {
				os.Setenv(k, *v)
			}
		}
	}
}

// worktrees adds the two detached worktrees the replay alternates between.
func (r *runner) worktrees(ctx context.Context, rev string) (func(), error) {
	dir := r.o.WorkDir
	var err error
	if dir == "" {
		if dir, err = os.MkdirTemp("", "replay-"); err != nil {
			return nil, err
		}
	}
	var added []string
	cleanup := func() {
		for _, wt := range added {
			_, _ = r.git.run(context.Background(), "worktree", "remove", "--force", wt)
		}
		_, _ = r.git.run(context.Background(), "worktree", "prune")
		if r.o.WorkDir == "" {
			os.RemoveAll(dir)
		}
	}
	for i := range r.wts {
		wt := filepath.Join(dir, fmt.Sprintf("wt%d", i))
		if _, err := r.git.run(ctx, "worktree", "add", "--force", "--detach", wt, rev); err != nil {
			cleanup()
			return nil, err
		}
		added = append(added, wt)
		r.wts[i] = wt
	}
	return cleanup, nil
}

// replay walks the commits oldest first. A commit's parent is usually the
// previous commit replayed, whose side is reused as it is; otherwise the
// parent is checked out in the other worktree first. A commit that cannot
// be checked out (a blob missing from a partial mirror) is skipped, and
// said so.
func (r *runner) replay(ctx context.Context, commits []commit) (*Report, error) {
	rep := newReport(r.o, commits)
	start := time.Now()
	var prev *side
	for i, c := range commits {
		t0 := time.Now()
		ps, cs, err := r.sides(ctx, c, prev)
		var ce *checkoutError
		if errors.As(err, &ce) && ctx.Err() == nil {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%.10s %q: %v", c.Hash, c.Subject, firstLine(ce.Error())))
			prev = nil
			continue
		}
		if err != nil {
			return nil, err
		}
		res := r.score(ctx, c, ps, cs)
		res.Seconds = time.Since(t0).Seconds()
		rep.add(res, ps, cs)
		if r.o.Progress != nil {
			fmt.Fprintf(r.o.Progress, "[%d/%d] %.10s %s\n", i+1, len(commits), c.Hash, res.summary())
		}
		prev = cs
	}
	rep.finish(time.Since(start))
	return rep, nil
}

// sides returns the parent's side (prev itself, when it is the parent)
// and the commit's.
func (r *runner) sides(ctx context.Context, c commit, prev *side) (*side, *side, error) {
	ps := prev
	if prev == nil || prev.commit != c.Parent {
		wt := 0
		if prev != nil {
			wt = 1 - prev.wt
		}
		var err error
		if ps, err = r.side(ctx, wt, c.Parent, prev); err != nil {
			return nil, nil, err
		}
	}
	cs, err := r.side(ctx, 1-ps.wt, c.Hash, ps)
	return ps, cs, err
}

// side checks rev out in worktree wt, finds its roots and builds those
// whose inputs at from (the side checked out before) changed.
func (r *runner) side(ctx context.Context, wt int, rev string, from *side) (*side, error) {
	dir := r.wts[wt]
	if err := r.checkout(ctx, dir, rev); err != nil {
		return nil, err
	}
	t, err := findRoots(dir)
	if err != nil {
		return nil, err
	}
	s := &side{commit: rev, wt: wt, tree: t, results: map[string]*buildResult{}}
	var changed []string
	if from != nil {
		if changed, err = diffNames(ctx, r.git, from.commit, rev); err != nil {
			return nil, err
		}
	}
	var todo []string
	for _, root := range t.Roots {
		if from != nil && !r.o.NoReuse {
			if b := from.results[root]; b != nil && !b.Reads.stale(t.Top, changed) {
				s.results[root] = b
				continue
			}
		}
		todo = append(todo, root)
	}
	r.build(t.Top, todo, s.results)
	s.builds = len(todo)
	return s, nil
}

// build builds roots in parallel into results.
func (r *runner) build(top string, roots []string, results map[string]*buildResult) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, root := range roots {
		wg.Add(1)
		r.pool <- struct{}{}
		go func() {
			defer func() { <-r.pool; wg.Done() }()
			b := buildRoot(top, root)
			mu.Lock()
			results[root] = b
			mu.Unlock()
		}()
	}
	wg.Wait()
}

// checkoutError is a commit that cannot be checked out.
type checkoutError struct{ error }

func (e *checkoutError) Unwrap() error { return e.error }

// checkout moves a worktree to rev, leaving nothing else in it.
func (r *runner) checkout(ctx context.Context, dir, rev string) error {
	g := newGit(dir, r.env)
	if _, err := g.run(ctx, "checkout", "--quiet", "--force", "--detach", rev); err != nil {
		return &checkoutError{err}
	}
	if _, err := g.run(ctx, "clean", "-ffdxq"); err != nil {
		return err
	}
	if r.o.Submodules {
		if _, err := os.Stat(filepath.Join(dir, ".gitmodules")); err == nil {
			if _, err := g.run(ctx, "submodule", "update", "--init", "--recursive", "--force", "--quiet"); err != nil {
				return err
			}
		}
	}
	return nil
}
