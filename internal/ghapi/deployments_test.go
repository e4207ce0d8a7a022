package ghapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// deploymentServer answers the deployment endpoints with the documented
// examples and keeps the raw JSON of every request, to check what was sent
// field by field (a missing field and a zero value are not the same to
// GitHub).
type deploymentServer struct {
	t      *testing.T
	status int // answer with this status and a GitHub error instead

	mu       sync.Mutex
	created  []map[string]json.RawMessage
	statuses map[string][]map[string]json.RawMessage // deployment id -> statuses
}

func (s *deploymentServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method != http.MethodPost {
		s.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var req map[string]json.RawMessage
	if err := json.Unmarshal(raw, &req); err != nil {
		s.t.Errorf("%s: request is not a JSON object: %s", r.URL, raw)
	}
	if s.status != 0 {
		w.WriteHeader(s.status)
		w.Write([]byte(`{"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest/deployments/deployments#create-a-deployment", "status": "403"}`))
		return
	}
	const prefix = "/repos/acme/manifests/deployments"
	switch rest := strings.TrimPrefix(r.URL.Path, prefix); {
	case rest == "":
		s.created = append(s.created, req)
		w.WriteHeader(http.StatusCreated)
		w.Write(readTestdata(s.t, "deployment.json"))
	case strings.HasSuffix(rest, "/statuses"):
		id := strings.TrimSuffix(strings.TrimPrefix(rest, "/"), "/statuses")
		if s.statuses == nil {
			s.statuses = map[string][]map[string]json.RawMessage{}
		}
		s.statuses[id] = append(s.statuses[id], req)
		w.WriteHeader(http.StatusCreated)
		w.Write(readTestdata(s.t, "deployment-status.json"))
	default:
		s.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

// fields renders a request's fields as compact JSON text, for cmp.
func fields(m map[string]json.RawMessage) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		var buf bytes.Buffer
		json.Compact(&buf, v)
		out[k] = buf.String()
	}
	return out
}

func TestCreateDeployment(t *testing.T) {
	for name, tc := range map[string]struct {
		env        string
		production string
	}{
		"production":         {env: "production", production: "true"},
		"prod-eu":            {env: "prod-eu", production: "true"},
		"staging":            {env: "staging", production: "false"},
		"preprod":            {env: "preprod", production: "false"},
		"not the first word": {env: "eu-prod", production: "false"},
	} {
		t.Run(name, func(t *testing.T) {
			s := &deploymentServer{t: t}
			id, err := newServerClient(t, s).CreateDeployment(context.Background(), "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d", tc.env,
				"kustomatrix apply apps/cart/overlays/"+tc.env, map[string]string{"target": "apps/cart/overlays/" + tc.env})
			if err != nil {
				t.Fatal(err)
			}
			if id != 1 {
				t.Errorf("id %d; want the example's 1", id)
			}
			if len(s.created) != 1 {
				t.Fatalf("%d deployments created", len(s.created))
			}
			want := map[string]string{
				"ref":                    `"a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d"`,
				"environment":            `"` + tc.env + `"`,
				"description":            `"kustomatrix apply apps/cart/overlays/` + tc.env + `"`,
				"auto_merge":             `false`,
				"required_contexts":      `[]`, // present and empty: the run's own pending checks never block it
				"payload":                `{"target":"apps/cart/overlays/` + tc.env + `"}`,
				"transient_environment":  `false`,
				"production_environment": tc.production,
			}
			if diff := cmp.Diff(want, fields(s.created[0])); diff != "" {
				t.Errorf("request body (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDeploymentStatusTransitions walks one deployment through
// in_progress to success, as an apply job does.
func TestDeploymentStatusTransitions(t *testing.T) {
	s := &deploymentServer{t: t}
	c := newServerClient(t, s)
	ctx := context.Background()
	id, err := c.CreateDeployment(ctx, "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d", "production", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.created[0]["payload"]; ok {
		t.Error("a nil payload was sent")
	}
	logURL := "https://github.com/acme/manifests/actions/runs/30433642"
	if err := c.CreateDeploymentStatus(ctx, id, DeploymentInProgress, logURL, ""); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateDeploymentStatus(ctx, id, DeploymentSuccess, logURL, "https://shop.example.com"); err != nil {
		t.Fatal(err)
	}
	got := []map[string]string{}
	for _, st := range s.statuses["1"] {
		got = append(got, fields(st))
	}
	want := []map[string]string{
		{"state": `"in_progress"`, "description": `"kustomatrix apply is running"`, "log_url": `"` + logURL + `"`, "auto_inactive": `false`},
		{"state": `"success"`, "description": `"kustomatrix apply succeeded"`, "log_url": `"` + logURL + `"`, "auto_inactive": `false`,
			"environment_url": `"https://shop.example.com"`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses of deployment 1 (-want +got):\n%s", diff)
	}
}

func TestDeploymentRejects(t *testing.T) {
	s := &deploymentServer{t: t}
	c := newServerClient(t, s)
	ctx := context.Background()
	if err := c.CreateDeploymentStatus(ctx, 1, "done", "", ""); err == nil || !strings.Contains(err.Error(), "in_progress, success or failure") {
		t.Errorf("err = %v; want the states named", err)
	}
	if err := c.CreateDeploymentStatus(ctx, 0, DeploymentSuccess, "", ""); err == nil {
		t.Error("deployment 0 accepted")
	}
	if _, err := c.CreateDeployment(ctx, "", "prod", "", nil); err == nil {
		t.Error("a deployment without a ref accepted")
	}
	if len(s.created)+len(s.statuses) != 0 {
		t.Error("requests were sent")
	}
}

func TestDeploymentNamesThePermission(t *testing.T) {
	s := &deploymentServer{t: t, status: http.StatusForbidden}
	c := newServerClient(t, s)
	_, err := c.CreateDeployment(context.Background(), "main", "prod", "", nil)
	if err == nil || !strings.Contains(err.Error(), `"deployments: write"`) {
		t.Errorf("err = %v; want the missing permission named", err)
	}
	err = c.CreateDeploymentStatus(context.Background(), 1, DeploymentFailure, "", "")
	if err == nil || !strings.Contains(err.Error(), `"deployments: write"`) {
		t.Errorf("err = %v; want the missing permission named", err)
	}
}

func TestIsProductionEnvironment(t *testing.T) {
	for env, want := range map[string]bool{
		"prod": true, "Production": true, "prod-eu": true, "PROD_US": true, "production.blue": true,
		"preprod": false, "staging": false, "eu-prod": false, "non-prod": false, "products": false, "": false,
	} {
		if got := IsProductionEnvironment(env); got != want {
			t.Errorf("IsProductionEnvironment(%q) = %v, want %v", env, got, want)
		}
	}
}

func TestRunURL(t *testing.T) {
	t.Setenv("GITHUB_SERVER_URL", "https://github.example.com/")
	t.Setenv("GITHUB_REPOSITORY", "acme/manifests")
	t.Setenv("GITHUB_RUN_ID", "30433642")
	if got, want := RunURL(), "https://github.example.com/acme/manifests/actions/runs/30433642"; got != want {
		t.Errorf("RunURL() = %q, want %q", got, want)
	}
	t.Setenv("GITHUB_RUN_ID", "")
	if got := RunURL(); got != "" {
		t.Errorf("RunURL() outside Actions = %q", got)
	}
}
