package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/kustomatrix/kustomatrix/internal/release"
)

// testRelease is a release copy of the project tree: the tree as a commit
// would hold it, with this platform's binary built by hack/release.sh, the
// sums (and the tree's digest) written into it, and kubectl pinned to the
// test's own kubectl (built from source, so its bytes are not the official
// ones). act maps the pinned root action onto the copy, and the action
// installs both tools through its download path from a loopback server.
type testRelease struct {
	dir        string // the release copy
	asset      string // dist/kustomatrix_<os>_<arch>
	kubectl    string // the test's kubectl
	releaseURL string // KUSTOMATRIX_RELEASE_URL
	kubectlURL string // KUSTOMATRIX_KUBECTL_URL
}

var (
	releaseOnce sync.Once
	theRelease  *testRelease
	releaseErr  error
)

// sharedRelease makes the release copy once per test process.
func sharedRelease(t *testing.T, kubectl string) *testRelease {
	t.Helper()
	releaseOnce.Do(func() { theRelease, releaseErr = makeRelease(projectRoot(t), kubectl) })
	if releaseErr != nil {
		t.Fatal(releaseErr)
	}
	return theRelease
}

func makeRelease(root, kubectl string) (*testRelease, error) {
	dir, err := os.MkdirTemp("", "kustomatrix-release-")
	if err != nil {
		return nil, err
	}
	if err := release.CopyTree(root, dir); err != nil {
		return nil, err
	}
	os.Remove(filepath.Join(dir, release.SumsFile))
	sum, err := release.FileSum(kubectl)
	if err != nil {
		return nil, err
	}
	pins := fmt.Sprintf("%s  kubectl_%s_%s\n", sum, runtime.GOOS, runtime.GOARCH)
	if err := os.WriteFile(filepath.Join(dir, release.KubectlSums), []byte(pins), 0o644); err != nil {
		return nil, err
	}
	if _, err := release.BuildReleaseTree(dir, nil, runtime.GOOS+"/"+runtime.GOARCH); err != nil {
		return nil, err
	}
	r := &testRelease{dir: dir, asset: filepath.Join(dir, "dist", release.HostAsset()), kubectl: kubectl}
	r.releaseURL, r.kubectlURL = serveRelease(r, nil)
	return r, nil
}

// serveRelease serves the release's asset (through tamper, when set) and
// kubectl from a loopback server, standing in for the release host and
// dl.k8s.io; it returns the two base URLs.
func serveRelease(r *testRelease, tamper func([]byte) []byte) (releaseURL, kubectlURL string) {
	version, _ := os.ReadFile(filepath.Join(r.dir, release.KubectlVersion))
	kubectlPath := fmt.Sprintf("/k8s/%s/bin/%s/%s/kubectl", strings.TrimSpace(string(version)), runtime.GOOS, runtime.GOARCH)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var file string
		switch req.URL.Path {
		case "/releases/" + release.HostAsset():
			file = r.asset
		case kubectlPath:
			file = r.kubectl
		default:
			http.NotFound(w, req)
			return
		}
		b, err := os.ReadFile(file)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if tamper != nil && file == r.asset {
			b = tamper(b)
		}
		w.Write(b)
	}))
	// The server lives as long as the test process.
	return srv.URL + "/releases/", srv.URL + "/k8s"
}

// TestTamperedRelease serves a release asset with one byte changed: the
// plan job's install step refuses it, so no job runs the tool and nothing
// reaches the cluster.
func TestTamperedRelease(t *testing.T) {
	p := newPipeline(t)
	p.repo.commitAll("manifests and pipeline")
	p.act.releaseURL, _ = serveRelease(p.act.release, func(b []byte) []byte {
		b = append([]byte(nil), b...)
		b[len(b)/2] ^= 0xff
		return b
	})
	run := p.push(t, "0000000000000000000000000000000000000000")
	if run.Code == 0 {
		t.Fatalf("act succeeded with a tampered asset\n%s", tail(run.Raw, 60))
	}
	if !strings.Contains(run.Raw, "refusing to run it (tampered or truncated download)") {
		t.Fatalf("act's output lacks the install step's error\n%s", tail(run.Raw, 60))
	}
	if legs := run.deployLegs(); len(legs) != 0 {
		t.Fatalf("deploy legs ran: %v", legs)
	}
	if strings.Contains(run.Raw, "kubectl: using") || strings.Contains(run.Raw, "kubectl: downloading") {
		t.Fatalf("a kubectl was installed after the tampered download\n%s", tail(run.Raw, 60))
	}
	if got := p.kubectl("get", "namespaces", "-o", "name"); strings.Contains(got, "shop-") {
		t.Fatalf("the cluster was written to: %s", got)
	}
}

// useRelease prepares an act environment to install through the download
// path: the pinned action maps onto the release copy, and kubectl is not on
// act's PATH (the action downloads the pinned one).
func (e *actEnv) useRelease(t *testing.T, kubectl string) {
	t.Helper()
	e.release = sharedRelease(t, kubectl)
	e.releaseURL, e.kubectlURL = e.release.releaseURL, e.release.kubectlURL
}
