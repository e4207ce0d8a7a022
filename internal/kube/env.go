package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// RequestTimeoutEnv names the environment variable that sets the timeout of
// each request kubectl makes to the API server (a Go duration such as "45s";
// DefaultRequestTimeout when unset). Without one, an API server that
// accepts connections and never answers holds a job for minutes.
const RequestTimeoutEnv = "KUSTOMATRIX_REQUEST_TIMEOUT"

// DefaultRequestTimeout bounds each request kubectl makes to the API server.
const DefaultRequestTimeout = 30 * time.Second

// requestTimeout is the timeout to pass to kubectl: k.RequestTimeout, else
// $KUSTOMATRIX_REQUEST_TIMEOUT, else DefaultRequestTimeout.
func (k Kubectl) requestTimeout() (time.Duration, error) {
	if k.RequestTimeout > 0 {
		return k.RequestTimeout, nil
	}
	v := strings.TrimSpace(os.Getenv(RequestTimeoutEnv))
	if v == "" {
		return DefaultRequestTimeout, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive duration such as \"30s\" or \"2m\"", RequestTimeoutEnv, v)
	}
	return d, nil
}

// kubectlEnv is the environment kubectl runs with: the caller's, minus
// every KUBECTL_* variable (KUBECTL_EXTERNAL_DIFF would replace the
// `diff -u -N` whose output Diff parses and whose exit code it trusts;
// KUBECTL_INTERACTIVE_DELETE would wait on a prompt; a kuberc could add
// flags or aliases), with messages in the C locale, plus extra.
func kubectlEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "KUBECTL_"), name == "LC_ALL", name == "LANG", name == "LANGUAGE", name == "LC_MESSAGES":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "LC_ALL=C", "KUBECTL_KUBERC=false")
	return append(env, extra...)
}

// connectionFailures are what kubectl prints when it never got an answer
// from the API server (as opposed to an answer that refuses something).
var connectionFailures = []string{
	"Unable to connect to the server",
	"was refused - did you specify the right host or port",
	"connect: connection refused",
	"dial tcp",
	"i/o timeout",
	"context deadline exceeded",
	"Client.Timeout exceeded",
	"TLS handshake timeout",
	"no such host",
	"connection reset by peer",
	"failed to download openapi",
}

// isConnectionFailure reads kubectl's final error line (the lines before
// it may be retries that ended well). An "Error from server" is an answer,
// even one that quotes a dial error (a webhook the server could not call).
func isConnectionFailure(stderr []byte) bool {
	s := lastLine(stderr)
	if strings.Contains(s, "Error from server") {
		return false
	}
	for _, p := range connectionFailures {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// unreachable is the error of a kubectl run that never reached the API
// server: it names the server, context and kubeconfig kubectl used, so a
// wrong or missing kubeconfig is obvious, and keeps kubectl's own message.
func (k Kubectl) unreachable(verb string, timeout time.Duration, stderr []byte) error {
	msg := lastLine(stderr)
	if timedOut(msg) {
		msg += fmt.Sprintf(" (each request times out after %s; %s sets it)", timeout, RequestTimeoutEnv)
	}
	return fmt.Errorf("kubectl %s: cannot reach the API server %s: %s", verb, k.describeTarget(), msg)
}

func timedOut(msg string) bool {
	for _, p := range []string{"deadline exceeded", "Timeout exceeded", "i/o timeout", "handshake timeout"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// describeTarget says which server kubectl talks to and where that came
// from: `server (context "name", kubeconfig files)`, or why there is none.
func (k Kubectl) describeTarget() string {
	files, missing := kubeconfigFiles()
	where := "kubeconfig " + strings.Join(files, string(os.PathListSeparator))
	if len(files) == 0 {
		if os.Getenv("KUBECONFIG") != "" {
			where = fmt.Sprintf("no kubeconfig: KUBECONFIG=%q names no existing file", os.Getenv("KUBECONFIG"))
		} else {
			where = "no kubeconfig found: KUBECONFIG is not set and " + strings.Join(missing, ", ") + " does not exist"
		}
	}
	// Not the caller's context: it may be what just ran out. Reading the
	// kubeconfig is local.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.bin(), "config", "view", "--minify", "-o",
		`jsonpath={.current-context}{"\n"}{.clusters[0].cluster.server}`)
	cmd.Env = kubectlEnv(nil)
	out, err := cmd.Output()
	name, server, _ := strings.Cut(string(out), "\n")
	var ee *exec.ExitError
	if errors.As(err, &ee) && !strings.Contains(string(ee.Stderr), "current-context must exist") {
		return fmt.Sprintf("(unknown: kubectl config view: %s; %s)", lastLine(ee.Stderr), where)
	}
	if err != nil || name == "" {
		// No current context: kubectl falls back to its built-in default.
		return fmt.Sprintf("http://localhost:8080 (kubectl's default: no current context, %s)", where)
	}
	if server == "" {
		server = "(none: the context's cluster has no server)"
	}
	return fmt.Sprintf("%s (context %q, %s)", server, name, where)
}

// kubeconfigFiles are the kubeconfig files kubectl reads that exist, and
// the ones it would read that do not.
func kubeconfigFiles() (exist, missing []string) {
	var candidates []string
	if v := os.Getenv("KUBECONFIG"); v != "" {
		candidates = filepath.SplitList(v)
	} else if home, err := os.UserHomeDir(); err == nil {
		candidates = []string{filepath.Join(home, ".kube", "config")}
	} else {
		missing = []string{"~/.kube/config"}
	}
	for _, f := range candidates {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err == nil {
			exist = append(exist, f)
		} else {
			missing = append(missing, f)
		}
	}
	return exist, missing
}

// lastLine is kubectl's final error line: the ones before it repeat it
// for every retry.
func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
