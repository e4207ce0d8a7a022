package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// deploymentGitHub answers the deployment endpoints of acme/manifests
// with the documented examples (deployment 1), keeping what each request
// sent.
type deploymentGitHub struct {
	t      *testing.T
	forbid bool

	mu   sync.Mutex
	sent []string // "POST /path {compact JSON}"
}

func (g *deploymentGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	compact, _ := json.Marshal(body) // encoding/json sorts the keys
	g.sent = append(g.sent, r.Method+" "+r.URL.Path+" "+string(compact))
	if g.forbid {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest/deployments/deployments#create-a-deployment", "status": "403"}`))
		return
	}
	var example string
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/repos/acme/manifests/deployments":
		example = "deployment.json"
	case r.Method == http.MethodPost && r.URL.Path == "/repos/acme/manifests/deployments/1/statuses":
		example = "deployment-status.json"
	default:
		g.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
		return
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "github", example))
	if err != nil {
		g.t.Fatal(err)
	}
	w.WriteHeader(http.StatusCreated)
	w.Write(data)
}

func TestDeploymentStartThenFinish(t *testing.T) {
	g := &deploymentGitHub{t: t}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	ghTestEnv(t, srv)

	out := filepath.Join(t.TempDir(), "github-output")
	t.Setenv("GITHUB_OUTPUT", out)
	stdout, stderr, code := captureRun("deployment", "start", "--environment", "production", "--ref", "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d", "--target", "apps/cart/overlays/prod", "--github-output")
	if code != 0 || stdout != "1\n" {
		t.Fatalf("exit %d, stdout %q (want the id alone), stderr %q", code, stdout, stderr)
	}
	if data, err := os.ReadFile(out); err != nil || string(data) != "id=1\n" {
		t.Fatalf("GITHUB_OUTPUT: %q, %v; want id=1", data, err)
	}
	stdout, stderr, code = captureRun("deployment", "finish", "--id", "1", "--state", "success", "--environment-url", "https://shop.example.com")
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	const run = "https://github.com/acme/manifests/actions/runs/30433642"
	want := []string{
		`POST /repos/acme/manifests/deployments {"auto_merge":false,"description":"kustomatrix apply apps/cart/overlays/prod","environment":"production","payload":{"target":"apps/cart/overlays/prod"},"production_environment":true,"ref":"a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d","required_contexts":[],"transient_environment":false}`,
		`POST /repos/acme/manifests/deployments/1/statuses {"auto_inactive":false,"description":"kustomatrix apply is running","log_url":"` + run + `","state":"in_progress"}`,
		`POST /repos/acme/manifests/deployments/1/statuses {"auto_inactive":false,"description":"kustomatrix apply succeeded","environment_url":"https://shop.example.com","log_url":"` + run + `","state":"success"}`,
	}
	if diff := cmp.Diff(want, g.sent); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestDeploymentAPIErrorNamesThePermission(t *testing.T) {
	g := &deploymentGitHub{t: t, forbid: true}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	ghTestEnv(t, srv)
	for _, args := range [][]string{
		{"deployment", "start", "--environment", "staging", "--ref", "main", "--target", "apps/cart/overlays/staging"},
		{"deployment", "finish", "--id", "1", "--state", "failure"},
	} {
		stdout, stderr, code := captureRun(args...)
		if code != exitFailure || stdout != "" || !strings.Contains(stderr, `"deployments: write"`) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 3 with the permission named", args[1], code, stdout, stderr)
		}
	}
}

func TestDeploymentUsage(t *testing.T) {
	t.Setenv("GITHUB_REPOSITORY", "acme/manifests")
	t.Setenv("GITHUB_TOKEN", "test-token")
	t.Setenv("GITHUB_API_URL", "http://127.0.0.1:1") // never reached
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no subcommand":           {args: []string{}, want: "start or finish"},
		"an unknown one":          {args: []string{"begin"}, want: `unknown command "begin"`},
		"start without --ref":     {args: []string{"start", "--environment", "prod", "--target", "a"}, want: "--ref"},
		"start without --env":     {args: []string{"start", "--ref", "main", "--target", "a"}, want: "--environment"},
		"start without target":    {args: []string{"start", "--ref", "main", "--environment", "prod"}, want: "--target"},
		"finish without --id":     {args: []string{"finish", "--state", "success"}, want: "--id"},
		"finish, bad state":       {args: []string{"finish", "--id", "1", "--state", "done"}, want: `--state "done"`},
		"finish, id not a number": {args: []string{"finish", "--id", "one", "--state", "success"}, want: "one"},
	} {
		t.Run(name, func(t *testing.T) {
			_, stderr, code := captureRun(append([]string{"deployment"}, tc.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 mentioning %q", code, stderr, tc.want)
			}
		})
	}
	t.Setenv("GITHUB_TOKEN", "")
	if _, stderr, code := captureRun("deployment", "finish", "--id", "1", "--state", "success"); code != exitUsage || !strings.Contains(stderr, "GITHUB_TOKEN") {
		t.Errorf("without a token: exit %d, stderr %q", code, stderr)
	}
}
