// Package kubetest runs a real Kubernetes API server for end-to-end tests:
// etcd plus kube-apiserver on loopback, with fresh certificates and a static
// admin token. There is no kubelet and there are no controllers, which is
// enough for `kubectl apply --server-side` and `kubectl diff`.
//
// The kube-apiserver and kubectl binaries come from a cache filled by
// hack/build-kube.sh (built from the separate tools module internal/tools, so
// the Kubernetes dependency graph never enters the main module); etcd comes
// from PATH (Debian's etcd-server package).
//
// Usage, in any package's tests:
//
//	func TestApply(t *testing.T) {
//		c := kubetest.Start(t) // skips with -short; fails when binaries are missing
//		out, errOut, code := c.Kubectl("apply", "--server-side", "-f", "testdata/x.yaml")
//		...
//	}
//
// A cluster costs ~4 s to start and ~300 MB of RAM; share one per package when
// a package has many such tests.
package kubetest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// KubernetesVersion is the version of kube-apiserver and kubectl that
// hack/build-kube.sh builds (the k8s.io/kubernetes requirement of
// internal/tools/go.mod; a test checks that the two agree).
const KubernetesVersion = "v1.32.13"

// CacheEnv names the environment variable that overrides the tools cache
// directory (default $HOME/.cache/kustomatrix-tools), as in hack/build-kube.sh.
const CacheEnv = "KUSTOMATRIX_TOOLS_CACHE"

// ToolsDir returns the directory that holds the cached kube-apiserver and
// kubectl of KubernetesVersion.
func ToolsDir() (string, error) {
	root := os.Getenv(CacheEnv)
	if root == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("locating the tools cache: %v (set %s)", err, CacheEnv)
		}
		root = filepath.Join(home, ".cache", "kustomatrix-tools")
	}
	return filepath.Join(root, KubernetesVersion), nil
}

// Binaries returns the paths of kube-apiserver and kubectl from the tools
// cache ($KUSTOMATRIX_TOOLS_CACHE or $HOME/.cache/kustomatrix-tools, then the
// version) and of etcd from PATH. When any is missing, the error names every
// missing binary and how to get it (hack/build-kube.sh, apt-get install
// etcd-server).
func Binaries() (apiserver, kubectl, etcd string, err error) {
	var errs []error
	dir, derr := ToolsDir()
	if derr != nil {
		errs = append(errs, derr)
	} else {
		apiserver = filepath.Join(dir, "kube-apiserver")
		kubectl = filepath.Join(dir, "kubectl")
		var missing []string
		for _, p := range []string{apiserver, kubectl} {
			if !isExecutable(p) {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			errs = append(errs, fmt.Errorf("%s not found: build them with hack/build-kube.sh (cache: $%s or ~/.cache/kustomatrix-tools)",
				strings.Join(missing, " and "), CacheEnv))
		}
	}
	etcd, lerr := exec.LookPath("etcd")
	if lerr != nil {
		errs = append(errs, fmt.Errorf("etcd not found on PATH: install Debian's etcd-server (apt-get install etcd-server; hack/test.sh does it): %v", lerr))
	}
	if len(errs) > 0 {
		return "", "", "", fmt.Errorf("kubetest: the end-to-end tier needs real binaries: %w", errors.Join(errs...))
	}
	return apiserver, kubectl, etcd, nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	return runtime.GOOS == "windows" || fi.Mode().Perm()&0o111 != 0
}
