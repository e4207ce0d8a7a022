// Command replay scores kustomatrix affected against the truth over the
// history of a repository (see package replay):
//
//	go run ./internal/replay/cmd/replay -repo DIR -kmx BIN [-commits N] [-rev REV] [-paths 'glob,...'] [-json out.json]
//
// It prints a table and the misses on standard output, a line per commit on
// standard error. Exit codes: 0 recall 1 and --render exact, 1 a miss or a
// --render difference, 2 bad usage, 3 failure.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/kustomatrix/kustomatrix/internal/replay"
)

const (
	exitOK      = 0
	exitMissed  = 1
	exitUsage   = 2
	exitFailure = 3
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("replay", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var (
		o                  replay.Options
		paths, jsonOut     string
		quiet              bool
		listed, timeoutMin int
	)
	fl.StringVar(&o.Repo, "repo", "", "git working tree whose history is replayed (required)")
	fl.StringVar(&o.Kmx, "kmx", "", "kustomatrix binary under test (required)")
	fl.StringVar(&o.Rev, "rev", "HEAD", "newest commit replayed")
	fl.IntVar(&o.Commits, "commits", 200, "replay the newest N first-parent commits that touch a file a build may read (0: all)")
	fl.StringVar(&paths, "paths", "", "comma-separated git pathspecs the commits must touch, e.g. 'manifests/**'")
	fl.BoolVar(&o.NoReuse, "no-reuse", false, "build every root at every commit (checks the reuse of unchanged builds; slower)")
	fl.BoolVar(&o.RenderAll, "render-all", false, "run affected --render on every commit (default: only where the truth or the static answer is not empty)")
	fl.BoolVar(&o.InParent, "in-parent", false, "run kustomatrix in the parent's working tree, with --head naming the commit (checks that --head is honoured)")
	fl.BoolVar(&o.Submodules, "submodules", false, "check out submodules (local URLs only) at both ends")
	fl.IntVar(&o.Jobs, "jobs", 0, "parallel builds (default: GOMAXPROCS)")
	fl.IntVar(&timeoutMin, "timeout", 10, "minutes one kustomatrix run may take")
	fl.StringVar(&o.WorkDir, "work", "", "scratch directory for the two worktrees (default: a temporary one)")
	fl.StringVar(&jsonOut, "json", "", "also write the full report, commit by commit, as JSON to this file")
	fl.IntVar(&listed, "list", 30, "most misses and --render differences listed per group (0: all)")
	fl.BoolVar(&quiet, "q", false, "no progress lines")
	if err := fl.Parse(args); err != nil {
		return exitUsage
	}
	if o.Repo == "" || o.Kmx == "" || fl.NArg() > 0 {
		fmt.Fprintln(stderr, "replay: -repo and -kmx are required, and there are no arguments")
		fl.Usage()
		return exitUsage
	}
	for _, p := range strings.Split(paths, ",") {
		if p = strings.TrimSpace(p); p != "" {
			o.Paths = append(o.Paths, ":(glob)"+p)
		}
	}
	o.Timeout = time.Duration(timeoutMin) * time.Minute
	if !quiet {
		o.Progress = stderr
	}
	// kustomize prints a deprecation warning to os.Stderr for every old
	// field it meets, thousands per replay; they say nothing about the
	// measurement. stderr (the caller's) still gets the progress.
	log.SetOutput(io.Discard)
	if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		saved := os.Stderr
		os.Stderr = null
		defer func() { os.Stderr = saved; null.Close() }()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := replay.Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "replay: %v\n", err)
		return exitFailure
	}
	replay.WriteTable(stdout, listed, rep)
	if jsonOut != "" {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err == nil {
			err = os.WriteFile(jsonOut, append(data, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "replay: writing %s: %v\n", jsonOut, err)
			return exitFailure
		}
	}
	if rep.Hits < rep.Truth || rep.RenderMismatches > 0 {
		return exitMissed
	}
	return exitOK
}
