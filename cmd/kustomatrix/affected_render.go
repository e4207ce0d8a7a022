package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kustomatrix/kustomatrix/generator"
	"github.com/kustomatrix/kustomatrix/internal/render"
)

// progressAfter is how many candidates --render builds before it reports
// its progress on stderr.
const progressAfter = 5

// verifyByRendering keeps, of the targets affected because the change
// touched their closure, those whose rendered output differs between the
// base and the head. The closure never misses a target but flags some whose
// output is the same (a comment, a reordered key); building only the
// candidates keeps the cost proportional to the change. Targets added at
// the head, and those whose pipeline settings changed, always run; a target
// that fails to build at either end runs too, with the reason: a broken
// build must run and say so, and is never a "render difference".
func verifyByRendering(s *streams, res *generator.AffectedResult, head *generator.Repo, e *ends) error {
	if res.All || len(res.Targets) == 0 {
		return nil
	}
	baseFS, err := e.baseFS()
	if err != nil {
		return err
	}
	var candidates []int
	for i, t := range res.Targets {
		if strings.HasPrefix(t.Why, "closure") {
			candidates = append(candidates, i)
		}
	}
	warnings := captureKustomizeLog()
	defer warnings.report(s)
	drop := map[int]bool{}
	for n, i := range candidates {
		if len(candidates) > progressAfter && (n%progressAfter == 0) {
			fmt.Fprintf(s.err, "kustomatrix: --render: building %d of %d candidate(s) at both ends\n", n+1, len(candidates))
		}
		t := &res.Targets[i]
		before, errB := canonicalBuild(baseFS, e.gitDir, t.Path, head.Config)
		after, errA := canonicalBuild(e.head, e.headDir(), t.Path, head.Config)
		switch {
		case errB != nil:
			t.Why = "fails to build at the base: " + firstLine(errB.Error())
		case errA != nil:
			t.Why = "fails to build at the head: " + firstLine(errA.Error())
		case before == after:
			drop[i] = true
		default:
			t.Why += "; renders differently"
		}
	}
	kept := res.Targets[:0]
	for i, t := range res.Targets {
		if !drop[i] {
			kept = append(kept, t)
		}
	}
	res.Targets = kept
	res.Reason += fmt.Sprintf("; --render: %d of %d candidate(s) render differently or fail to build", len(candidates)-len(drop), len(candidates))
	return nil
}

// firstLine is the first line of s.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// canonicalBuild renders a target to a canonical string: objects sorted by
// kind, namespace and name, each as JSON with sorted keys, so that only a
// change in meaning (not in formatting or key order) shows.
func canonicalBuild(fsys filesys.FileSystem, dir, target string, cfg *generator.Config) (string, error) {
	objs, _, err := render.Build(fsys, dir, target, cfg)
	if err != nil {
		return "", err
	}
	parts := make([]string, 0, len(objs))
	for _, o := range objs {
		var v any
		if err := yaml.Unmarshal(o.YAML, &v); err != nil {
			return "", err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		parts = append(parts, o.ID()+"\n"+string(b))
	}
	sort.Strings(parts)
	b, _ := json.Marshal(parts)
	return string(b), nil
}

// kustomizeLog collects what kustomize writes to stderr and to the
// standard logger (deprecation warnings, once per kustomization and build)
// so that each distinct message is reported once, with its count, instead
// of flooding the log of a plan that builds many targets.
type kustomizeLog struct {
	mu      sync.Mutex
	counts  map[string]int
	order   []string
	buf     bytes.Buffer
	prevLog *log.Logger
	stderr  *os.File // the real one, restored by report
	pipe    *os.File // what kustomize writes to meanwhile
	drained chan struct{}
}

// captureKustomizeLog redirects os.Stderr (kustomize prints its warnings
// there itself) and the standard logger until report.
func captureKustomizeLog() *kustomizeLog {
	k := &kustomizeLog{counts: map[string]int{}, stderr: os.Stderr, drained: make(chan struct{})}
	k.prevLog = log.New(log.Writer(), log.Prefix(), log.Flags())
	log.SetOutput(k)
	log.SetFlags(0)
	r, w, err := os.Pipe()
	if err != nil {
		close(k.drained)
		return k
	}
	k.pipe, os.Stderr = w, w
	go func() {
		defer close(k.drained)
		io.Copy(k, r)
		r.Close()
	}()
	return k
}

func (k *kustomizeLog) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.buf.Write(p)
	for {
		line, err := k.buf.ReadString('\n')
		if err != nil {
			k.buf.WriteString(line) // an unfinished line: wait for the rest
			break
		}
		k.add(line)
	}
	return len(p), nil
}

func (k *kustomizeLog) add(line string) {
	if line = strings.TrimSpace(line); line != "" {
		if k.counts[line] == 0 {
			k.order = append(k.order, line)
		}
		k.counts[line]++
	}
}

// report restores stderr and the standard logger and prints each distinct
// message once.
func (k *kustomizeLog) report(s *streams) {
	os.Stderr = k.stderr
	if k.pipe != nil {
		k.pipe.Close()
	}
	<-k.drained
	log.SetOutput(k.prevLog.Writer())
	log.SetFlags(k.prevLog.Flags())
	k.mu.Lock()
	defer k.mu.Unlock()
	k.add(k.buf.String())
	for _, m := range k.order {
		fmt.Fprintf(s.err, "kustomatrix: kustomize said %d time(s): %s\n", k.counts[m], m)
	}
}
