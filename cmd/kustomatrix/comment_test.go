package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	rpt "github.com/kustomatrix/kustomatrix/internal/report"
)

func ghExample(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "github", name))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// commentGitHub is one pull request's comments (#7 of acme/manifests), as
// GITHUB_TOKEN sees them: GET /user is refused, what it writes is by
// github-actions[bot]. Bodies are the documented example's.
type commentGitHub struct {
	t        *testing.T
	mu       sync.Mutex
	comments []map[string]any
	requests []string // method and path of each request
	failPost bool
}

func (g *commentGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests = append(g.requests, r.Method+" "+r.URL.Path)
	const list, one = "/repos/acme/manifests/issues/7/comments", "/repos/acme/manifests/issues/comments/"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/user":
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest/users/users#get-the-authenticated-user", "status": "403"}`))
	case r.Method == http.MethodGet && r.URL.Path == list:
		json.NewEncoder(w).Encode(g.comments)
	case r.Method == http.MethodPost && r.URL.Path == list && g.failPost:
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment", "status": "403"}`))
	case r.Method == http.MethodPost && r.URL.Path == list:
		c := ghExample(g.t, "issue-comment.json")
		c["id"], c["body"] = len(g.comments)+1, g.body(r)
		c["user"] = map[string]any{"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
		g.comments = append(g.comments, c)
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(c)
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, one):
		id, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, one))
		if id < 1 || id > len(g.comments) {
			http.NotFound(w, r)
			return
		}
		g.comments[id-1]["body"] = g.body(r)
		json.NewEncoder(w).Encode(g.comments[id-1])
	default:
		g.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

func (g *commentGitHub) body(r *http.Request) string {
	var req struct{ Body string }
	json.NewDecoder(r.Body).Decode(&req)
	if !strings.HasPrefix(req.Body, "<!-- kustomatrix:kustomatrix -->\n") || len(req.Body) > rpt.MaxCommentLength {
		g.t.Errorf("%s %s: a body without the marker line, or too long (%d bytes)", r.Method, r.URL, len(req.Body))
	}
	return req.Body
}

func (g *commentGitHub) count(method string) int {
	n := 0
	for _, r := range g.requests {
		if strings.HasPrefix(r, method+" ") {
			n++
		}
	}
	return n
}

func ghTestEnv(t *testing.T, srv *httptest.Server) {
	t.Setenv("GITHUB_REPOSITORY", "acme/manifests")
	t.Setenv("GITHUB_TOKEN", "test-token")
	t.Setenv("GITHUB_API_URL", srv.URL)
	t.Setenv("GITHUB_SERVER_URL", "https://github.com")
	t.Setenv("GITHUB_RUN_ID", "30433642")
}

func writeTestReports(t *testing.T, dir string, reports ...rpt.Report) {
	t.Helper()
	for _, r := range reports {
		if _, err := rpt.Write(dir, r); err != nil {
			t.Fatal(err)
		}
	}
}

func captureRun(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func TestCommentCreatesThenUpdates(t *testing.T) {
	g := &commentGitHub{t: t}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	ghTestEnv(t, srv)
	dir := t.TempDir()
	writeTestReports(t, dir,
		rpt.Report{Service: "cart", Environment: "prod", Path: "apps/cart/overlays/prod", Status: rpt.StatusChanges, Diff: "-replicas: 2\n+replicas: 3\n"},
		rpt.Report{Service: "web", Environment: "dev", Path: "apps/web/overlays/dev", Status: rpt.StatusNoChanges})

	args := []string{"comment", "--pr", "7", "--workflow", "kustomatrix", "--reports", dir}
	stdout, stderr, code := captureRun(args...)
	if code != 0 || !strings.HasPrefix(stdout, "created comment 1 on pull request #7: 2 target(s)") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	body := g.comments[0]["body"].(string)
	for _, want := range []string{"| `cart` | — | 🟡 changes |", "+replicas: 3", "[Workflow run](https://github.com/acme/manifests/actions/runs/30433642)"} {
		if !strings.Contains(body, want) {
			t.Errorf("the comment lacks %q:\n%s", want, body)
		}
	}

	writeTestReports(t, dir, rpt.Report{Service: "cart", Environment: "prod", Path: "apps/cart/overlays/prod", Status: rpt.StatusNoChanges})
	stdout, stderr, code = captureRun(args...)
	if code != 0 || !strings.HasPrefix(stdout, "updated comment 1 on pull request #7") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if g.count("POST") != 1 || g.count("PATCH") != 1 || len(g.comments) != 1 {
		t.Errorf("%d POST, %d PATCH, %d comments; want one comment, created then updated", g.count("POST"), g.count("PATCH"), len(g.comments))
	}
	if body := g.comments[0]["body"].(string); !strings.Contains(body, "| `cart` | — | ✅ no changes |") {
		t.Errorf("the comment was not updated:\n%s", body)
	}
}

func TestCommentAPIErrorNamesThePermission(t *testing.T) {
	g := &commentGitHub{t: t, failPost: true}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	ghTestEnv(t, srv)
	dir := t.TempDir()
	writeTestReports(t, dir, rpt.Report{Service: "cart", Environment: "prod", Path: "apps/cart/overlays/prod", Status: rpt.StatusNoChanges})
	_, stderr, code := captureRun("comment", "--pr", "7", "--workflow", "kustomatrix", "--reports", dir)
	if code != exitFailure || !strings.Contains(stderr, `"pull-requests: write"`) {
		t.Errorf("exit %d, stderr %q; want 3 with the permission named", code, stderr)
	}
}

func TestCommentDryRun(t *testing.T) {
	t.Setenv("GITHUB_TOKEN", "") // nothing is sent, so nothing is needed
	dir := t.TempDir()
	writeTestReports(t, dir, rpt.Report{Service: "cart", Environment: "prod", Path: "apps/cart/overlays/prod", Status: rpt.StatusChanges, Diff: "+a\n"})
	stdout, stderr, code := captureRun("comment", "--workflow", "kustomatrix", "--reports", dir, "--dry-run")
	if code != 0 || !strings.HasPrefix(stdout, "<!-- kustomatrix:kustomatrix -->\n") || !strings.Contains(stdout, "+a\n") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestCommentUsage(t *testing.T) {
	dir := t.TempDir()
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "x.json"), []byte(`{"service": "a"}`), 0o644)
	for name, tc := range map[string]struct {
		args []string
		code int
		want string
	}{
		"no --pr":                  {args: []string{"--workflow", "k", "--reports", dir}, code: exitUsage, want: "--pr"},
		"a --pr that is no number": {args: []string{"--pr", "seven", "--workflow", "k", "--reports", dir}, code: exitUsage, want: "seven"},
		"no --workflow":            {args: []string{"--pr", "7", "--reports", dir}, code: exitUsage, want: "--workflow"},
		"a workflow name that would break the marker": {args: []string{"--pr", "7", "--workflow", "a -->", "--reports", dir}, code: exitUsage, want: "--workflow"},
		"no --reports":         {args: []string{"--pr", "7", "--workflow", "k"}, code: exitUsage, want: "--reports"},
		"a missing directory":  {args: []string{"--pr", "7", "--workflow", "k", "--reports", filepath.Join(dir, "nope")}, code: exitUsage, want: "not a directory"},
		"an argument":          {args: []string{"--pr", "7", "--workflow", "k", "--reports", dir, "body.md"}, code: exitUsage, want: "no arguments"},
		"no GITHUB_REPOSITORY": {args: []string{"--pr", "7", "--workflow", "k", "--reports", dir}, code: exitUsage, want: "GITHUB_REPOSITORY"},
		"a broken report":      {args: []string{"--pr", "7", "--workflow", "k", "--reports", bad}, code: exitFailure, want: "x.json"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("GITHUB_REPOSITORY", "")
			_, stderr, code := captureRun(append([]string{"comment"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d mentioning %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}
