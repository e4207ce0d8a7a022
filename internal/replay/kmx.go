package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// Answer is what kustomatrix affected said for one commit.
type Answer struct {
	All     bool              `json:"all"`
	Reason  string            `json:"reason,omitempty"`
	Targets []string          `json:"targets"`
	Removed []string          `json:"removed"`
	Why     map[string]string `json:"why,omitempty"` // target path → kustomatrix's reason, where it gives one
	// Err is set when the command failed: its exit code and the end of
	// its standard error.
	Err  string `json:"error,omitempty"`
	Note string `json:"note,omitempty"` // how the command had to be adapted
	// Skipped: --render was not run, as the truth and the static answer
	// were both empty (nothing to build, nothing to find).
	Skipped bool `json:"skipped,omitempty"`
}

// paths returns every path the answer plans: targets and removed.
func (a *Answer) paths() map[string]bool {
	m := map[string]bool{}
	for _, p := range a.Targets {
		m[p] = true
	}
	for _, p := range a.Removed {
		m[p] = true
	}
	return m
}

// kmx runs the kustomatrix binary under test.
type kmx struct {
	bin     string
	env     []string
	timeout time.Duration
	noScan  bool // the binary rejected --scan once: never pass it again
}

// affected runs `affected --base parent --head head [extra...]` in dir, a
// working tree with head checked out.
func (k *kmx) affected(ctx context.Context, dir, parent, head string, extra ...string) *Answer {
	args := append([]string{"affected", "--base", parent, "--head", head}, extra...)
	note := ""
	if k.noScan {
		args, note = without(args, "--scan"), "the binary has no --scan flag: run without it"
	}
	out, stderr, err := k.run(ctx, dir, args...)
	if err != nil && !k.noScan && strings.Contains(stderr, "unknown flag: --scan") {
		k.noScan = true
		return k.affected(ctx, dir, parent, head, extra...)
	}
	if err != nil {
		return &Answer{Err: fmt.Sprintf("%v: %s", err, errorLines(stderr)), Note: note}
	}
	a, perr := parseAnswer(out)
	if perr != nil {
		return &Answer{Err: fmt.Sprintf("unreadable output: %v", perr), Note: note}
	}
	a.Note = note
	return a
}

// listTargets runs `list --format json` in dir: kustomatrix's own targets,
// to tell a closure miss from a target kustomatrix does not know.
func (k *kmx) listTargets(ctx context.Context, dir string) (map[string]bool, error) {
	out, stderr, err := k.run(ctx, dir, "list", "--format", "json")
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, errorLines(stderr))
	}
	var ts []struct {
		Path string `json:"path"`
	}
	if err := json.Unmarshal(out, &ts); err != nil {
		return nil, err
	}
	m := map[string]bool{}
	for _, t := range ts {
		m[t.Path] = true
	}
	return m, nil
}

func (k *kmx) run(ctx context.Context, dir string, args ...string) ([]byte, string, error) {
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.bin, args...)
	cmd.Dir = dir
	cmd.Env = k.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		err = fmt.Errorf("exit %d", ee.ExitCode())
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s", k.timeout)
	}
	return stdout.Bytes(), stderr.String(), err
}

// parseAnswer reads affected's JSON: {"all","reason","targets","removed"},
// targets and removed as objects with a path (and maybe a why).
func parseAnswer(data []byte) (*Answer, error) {
	type target struct {
		Path string `json:"path"`
		Why  string `json:"why"`
	}
	var raw struct {
		All     bool     `json:"all"`
		Reason  string   `json:"reason"`
		Targets []target `json:"targets"`
		Removed []target `json:"removed"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	a := &Answer{All: raw.All, Reason: raw.Reason, Targets: []string{}, Removed: []string{}, Why: map[string]string{}}
	for _, t := range raw.Targets {
		a.Targets = append(a.Targets, t.Path)
		if t.Why != "" {
			a.Why[t.Path] = t.Why
		}
	}
	for _, t := range raw.Removed {
		a.Removed = append(a.Removed, t.Path)
		if t.Why != "" {
			a.Why[t.Path] = "removed: " + t.Why
		}
	}
	sort.Strings(a.Targets)
	sort.Strings(a.Removed)
	return a, nil
}

func without(args []string, drop string) []string {
	var out []string
	for _, a := range args {
		if a != drop {
			out = append(out, a)
		}
	}
	return out
}

// errorLines picks the error out of kustomatrix's standard error, which
// also carries a diagnostic per broken kustomization: the lines it starts
// with "kustomatrix:" or "Error:", else the last line.
func errorLines(stderr string) string {
	var picked []string
	last := ""
	for _, l := range strings.Split(stderr, "\n") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		last = l
		if strings.HasPrefix(l, "kustomatrix:") || strings.HasPrefix(l, "Error:") {
			picked = append(picked, l)
		}
	}
	if len(picked) == 0 {
		return last
	}
	return strings.Join(picked, " | ")
}
