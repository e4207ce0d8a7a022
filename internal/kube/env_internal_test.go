package kube

import (
	"os"
	"strings"
	"testing"
)

// TestIsConnectionFailure: only kubectl's final line decides, and an answer
// from the server is never "cannot reach".
func TestIsConnectionFailure(t *testing.T) {
	for name, tc := range map[string]struct {
		stderr string
		want   bool
	}{
		"refused":          {"E1130 memcache.go:265] couldn't get current server API group list: ...\nThe connection to the server localhost:8080 was refused - did you specify the right host or port?\n", true},
		"timeout":          {"Unable to connect to the server: context deadline exceeded\n", true},
		"discovery":        {`error: unable to recognize "STDIN": Get "https://10.0.0.1:6443/api?timeout=30s": dial tcp 10.0.0.1:6443: i/o timeout`, true},
		"retried, then ok": {"E1130 memcache.go:265] couldn't get current server API group list: Get ...: i/o timeout\nerror: the namespace from the provided object \"a\" does not match the namespace \"b\"\n", false},
		"webhook":          {`Error from server (InternalError): Internal error occurred: failed calling webhook "x": dial tcp 10.1.2.3:443: connect: connection refused`, false},
		"forbidden":        {`Error from server (Forbidden): configmaps is forbidden`, false},
	} {
		if got := isConnectionFailure([]byte(tc.stderr)); got != tc.want {
			t.Errorf("%s: isConnectionFailure = %v, want %v", name, got, tc.want)
		}
	}
}

// TestKubectlEnv: no KUBECTL_* variable of the caller's reaches kubectl;
// the ones kustomatrix sets do.
func TestKubectlEnv(t *testing.T) {
	t.Setenv("KUBECTL_EXTERNAL_DIFF", "diff -q")
	t.Setenv("KUBECTL_INTERACTIVE_DELETE", "true")
	t.Setenv("KUBECONFIG", "/k")
	env := strings.Join(kubectlEnv([]string{"KUBECTL_APPLYSET=true"}), "\n") + "\n"
	for _, bad := range []string{"KUBECTL_EXTERNAL_DIFF=", "KUBECTL_INTERACTIVE_DELETE="} {
		if strings.Contains(env, bad) {
			t.Errorf("environment keeps %s", bad)
		}
	}
	for _, want := range []string{"\nKUBECONFIG=/k\n", "\nKUBECTL_APPLYSET=true\n", "\nLC_ALL=C\n", "\nPATH=" + os.Getenv("PATH") + "\n"} {
		if !strings.Contains("\n"+env, want) {
			t.Errorf("environment lacks %q", strings.TrimSpace(want))
		}
	}
}
