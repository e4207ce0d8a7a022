// Package kube runs kubectl for the runtime commands: server-side diff and
// apply with kustomatrix's field manager, and reading back what changed.
package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// FieldManager owns every field kustomatrix applies.
const FieldManager = "kustomatrix"

// Kubectl runs one kubectl binary, with the environment's KUBECONFIG, in
// an environment kustomatrix controls (see kubectlEnv) and with a timeout on
// every request to the API server.
type Kubectl struct {
	Path string // "kubectl" when empty
	// RequestTimeout bounds each request to the API server; when zero,
	// $KUSTOMATRIX_REQUEST_TIMEOUT or DefaultRequestTimeout.
	RequestTimeout time.Duration
}

// Result is what one kubectl invocation produced.
type Result struct {
	Stdout, Stderr []byte
	Code           int
}

func (k Kubectl) run(ctx context.Context, stdin []byte, args ...string) (Result, error) {
	return k.runEnv(ctx, nil, stdin, args...)
}

func (k Kubectl) bin() string {
	if k.Path == "" {
		return "kubectl"
	}
	return k.Path
}

// runEnv runs kubectl with env added to its controlled environment. A run
// that never reached the API server is an error naming the server, context
// and kubeconfig; any other exit code is the caller's to read.
func (k Kubectl) runEnv(ctx context.Context, env []string, stdin []byte, args ...string) (Result, error) {
	bin := k.bin()
	timeout, err := k.requestTimeout()
	if err != nil {
		return Result{}, err
	}
	full := args
	// rollout status watches for as long as its own --timeout: a request
	// timeout would cut the watch.
	if len(args) > 0 && args[0] != "rollout" {
		full = append([]string{"--request-timeout=" + timeout.String()}, args...)
	}
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Env = kubectlEnv(env)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	res := Result{Stdout: out.Bytes(), Stderr: errb.Bytes()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.Code = ee.ExitCode()
		// kubectl diff's exit 1 is "differences": it reached the server.
		if !(args[0] == "diff" && res.Code == 1) && isConnectionFailure(res.Stderr) {
			return res, k.unreachable(args[0], timeout, res.Stderr)
		}
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("running %s: %w", bin, err)
	}
	return res, nil
}

// Namespaces returns the names of the namespaces that exist. It reads
// them with one raw GET: no discovery first, whose retries would multiply
// the request timeout before an unresponsive server is reported.
func (k Kubectl) Namespaces(ctx context.Context) (map[string]bool, error) {
	var list struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"items"`
	}
	if _, err := k.getRaw(ctx, "/api/v1/namespaces", &list); err != nil {
		return nil, fmt.Errorf("listing namespaces: %w", err)
	}
	m := map[string]bool{}
	for _, it := range list.Items {
		m[it.Metadata.Name] = true
	}
	return m, nil
}

// Diff runs kubectl diff --server-side on a manifest stream. It returns
// the diff text and whether anything differs; kubectl's exit 1 means
// "differences", anything above is an error. An exit code the output
// contradicts (1 without a unified diff of some object, 0 with output) is
// an error too: reading it as "no changes" would be a quiet wrong answer.
func (k Kubectl) Diff(ctx context.Context, manifest []byte) ([]byte, bool, error) {
	res, err := k.run(ctx, manifest, "diff", "--server-side", "--field-manager="+FieldManager, "-f", "-")
	if err != nil {
		return nil, false, err
	}
	switch {
	case res.Code == 0 && len(bytes.TrimSpace(res.Stdout)) == 0:
		return res.Stdout, false, nil
	case res.Code == 1 && len(SplitDiff(res.Stdout)) > 0:
		return res.Stdout, true, nil
	case res.Code == 0 || res.Code == 1:
		return res.Stdout, false, fmt.Errorf("kubectl diff exited %d but printed %s: exit code and output disagree (exit 1 comes with a unified diff per changed object, exit 0 with no output), so what would change is unknown",
			res.Code, describeOutput(res.Stdout))
	default:
		return res.Stdout, false, fmt.Errorf("kubectl diff failed (exit %d): %s", res.Code, strings.TrimSpace(string(res.Stderr)))
	}
}

// describeOutput quotes the start of kubectl diff's output.
func describeOutput(out []byte) string {
	s := strings.TrimSpace(string(out))
	if s == "" {
		return "nothing"
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// ApplyOptions are the opt-in behaviours of Apply.
type ApplyOptions struct {
	ForceConflicts bool
}

// Apply runs kubectl apply --server-side on a manifest stream.
func (k Kubectl) Apply(ctx context.Context, manifest []byte, o ApplyOptions) ([]byte, error) {
	args := []string{"apply", "--server-side", "--field-manager=" + FieldManager, "-f", "-"}
	if o.ForceConflicts {
		args = append(args, "--force-conflicts")
	}
	res, err := k.run(ctx, manifest, args...)
	if err != nil {
		return nil, err
	}
	if res.Code != 0 {
		return res.Stdout, fmt.Errorf("kubectl apply failed (exit %d): %s", res.Code, strings.TrimSpace(string(res.Stderr)))
	}
	return res.Stdout, nil
}

// ApplyPruned applies the objects of one namespace as a kubectl ApplySet
// whose parent is the ConfigMap parent in that namespace, pruning the
// members of the set that the manifest no longer holds.
func (k Kubectl) ApplyPruned(ctx context.Context, manifest []byte, namespace, parent string, o ApplyOptions) ([]byte, error) {
	args := []string{"apply", "--server-side", "--field-manager=" + FieldManager,
		"--prune", "--applyset=configmaps/" + parent, "--namespace=" + namespace, "-f", "-"}
	if o.ForceConflicts {
		args = append(args, "--force-conflicts")
	}
	res, err := k.runEnv(ctx, []string{"KUBECTL_APPLYSET=true"}, manifest, args...)
	if err != nil {
		return nil, err
	}
	if res.Code != 0 {
		return res.Stdout, fmt.Errorf("kubectl apply --prune failed (exit %d): %s", res.Code, strings.TrimSpace(string(res.Stderr)))
	}
	return res.Stdout, nil
}

// Delete deletes the objects of a manifest that exist.
func (k Kubectl) Delete(ctx context.Context, manifest []byte) ([]byte, error) {
	res, err := k.run(ctx, manifest, "delete", "--ignore-not-found", "--wait=false", "-f", "-")
	if err != nil {
		return nil, err
	}
	if res.Code != 0 {
		return res.Stdout, fmt.Errorf("kubectl delete failed (exit %d): %s", res.Code, strings.TrimSpace(string(res.Stderr)))
	}
	return res.Stdout, nil
}

// DeleteConfigMap deletes one ConfigMap if it exists (an ApplySet parent).
func (k Kubectl) DeleteConfigMap(ctx context.Context, namespace, name string) error {
	res, err := k.run(ctx, nil, "delete", "configmap", name, "--namespace="+namespace, "--ignore-not-found")
	if err != nil {
		return err
	}
	if res.Code != 0 {
		return fmt.Errorf("deleting configmap %s/%s: %s", namespace, name, strings.TrimSpace(string(res.Stderr)))
	}
	return nil
}

// RolloutStatus waits for a workload's rollout, up to timeout (a kubectl
// duration such as "5m").
func (k Kubectl) RolloutStatus(ctx context.Context, kindName, namespace, timeout string) error {
	args := []string{"rollout", "status", kindName, "--timeout=" + timeout}
	if namespace != "" {
		args = append(args, "-n", namespace)
	}
	res, err := k.run(ctx, nil, args...)
	if err != nil {
		return err
	}
	if res.Code != 0 {
		return fmt.Errorf("rollout of %s did not finish: %s", kindName, strings.TrimSpace(string(res.Stderr)))
	}
	return nil
}

// SplitDiff cuts kubectl diff output into one chunk per object, keyed by
// the file name kubectl gives it (group.version.Kind.namespace.name).
func SplitDiff(out []byte) map[string][]byte {
	chunks := map[string][]byte{}
	var key string
	var cur []byte
	flush := func() {
		if key != "" {
			chunks[key] = cur
		}
	}
	for _, line := range bytes.SplitAfter(out, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("diff ")) {
			flush()
			fields := strings.Fields(string(line))
			last := fields[len(fields)-1]
			key = last[strings.LastIndex(last, "/")+1:]
			cur = nil
			continue
		}
		cur = append(cur, line...)
	}
	flush()
	return chunks
}
