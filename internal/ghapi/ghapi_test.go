package ghapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeGitHub serves the endpoints kustomatrix uses, with bodies from
// GitHub's documented examples (testdata/github).
type fakeGitHub struct {
	t          *testing.T
	prFiles    int            // how many files the pull request has (GitHub lists 3,000 at most)
	renamed    map[int]string // file index -> previous file name
	fail502    atomic.Int32   // answer this many requests with 502 first
	limited    atomic.Int32   // answer this many requests with a secondary rate limit first
	runs       bool           // whether the workflow has a successful run
	requests   atomic.Int32
	lastQuery  string
	slept      []time.Duration
	authHeader string
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	f.authHeader = r.Header.Get("Authorization")
	if f.fail502.Load() > 0 {
		f.fail502.Add(-1)
		http.Error(w, "Bad Gateway", http.StatusBadGateway)
		return
	}
	if f.limited.Load() > 0 {
		f.limited.Add(-1)
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusForbidden)
		w.Write(readTestdata(f.t, "secondary-rate-limit.json"))
		return
	}
	switch {
	case r.URL.Path == "/repos/acme/manifests/pulls/7/files":
		f.servePRFiles(w, r)
	case r.URL.Path == "/repos/acme/manifests/actions/workflows/kustomatrix.yml/runs":
		f.lastQuery = r.URL.RawQuery
		if !f.runs {
			w.Write([]byte(`{"total_count": 0, "workflow_runs": []}`))
			return
		}
		w.Write(readTestdata(f.t, "workflow-runs.json"))
	case r.URL.Path == "/repos/acme/private/pulls/7/files":
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"message": "Not Found", "documentation_url": "https://docs.github.com/rest/pulls/pulls#list-pull-requests-files"}`))
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

// servePRFiles pages the documented example entry like GitHub does: at most
// 3,000 files in all, per_page up to 100, Link headers.
func (f *fakeGitHub) servePRFiles(w http.ResponseWriter, r *http.Request) {
	var example []map[string]any
	if err := json.Unmarshal(readTestdata(f.t, "pulls-files.json"), &example); err != nil {
		f.t.Fatal(err)
	}
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if per == 0 {
		per = 30
	}
	if page == 0 {
		page = 1
	}
	total := min(f.prFiles, 3000)
	last := (total + per - 1) / per
	var out []map[string]any
	for i := (page - 1) * per; i < min(page*per, total); i++ {
		e := map[string]any{}
		for k, v := range example[0] {
			e[k] = v
		}
		e["filename"] = fmt.Sprintf("apps/svc%d/kustomization.yaml", i)
		if prev, ok := f.renamed[i]; ok {
			e["status"], e["previous_filename"] = "renamed", prev
		}
		out = append(out, e)
	}
	if page < last {
		base := "http://" + r.Host + r.URL.Path
		w.Header().Set("Link", fmt.Sprintf(`<%s?page=%d&per_page=%d>; rel="next", <%s?page=%d&per_page=%d>; rel="last"`, base, page+1, per, base, last, per))
	}
	json.NewEncoder(w).Encode(out)
}

func readTestdata(t *testing.T, name string) []byte {
	b, err := os.ReadFile("../../testdata/github/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newTestClient(t *testing.T, f *fakeGitHub) *Client {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, "s3cr3t-token", "acme", "manifests", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	// Waiting for real in a unit test buys nothing: record instead.
	c.retry.sleep = func(_ context.Context, d time.Duration) error {
		f.slept = append(f.slept, d)
		return nil
	}
	return c
}

func TestPRFilesPaginates(t *testing.T) {
	f := &fakeGitHub{t: t, prFiles: 250, renamed: map[int]string{3: "apps/old/kustomization.yaml"}}
	files, complete, err := newTestClient(t, f).PRFiles(context.Background(), 7)
	if err != nil {
		t.Fatal(err)
	}
	if !complete {
		t.Error("a 250-file pull request was reported incomplete")
	}
	if len(files) != 251 || files[249+1] != "apps/svc249/kustomization.yaml" {
		t.Fatalf("got %d files (last %q); want 250 files plus the renamed one's old name", len(files), files[len(files)-1])
	}
	if !strings.Contains(strings.Join(files, " "), "apps/old/kustomization.yaml") {
		t.Error("a rename's previous name is missing: both sides of a rename count")
	}
	if got := f.requests.Load(); got != 3 {
		t.Errorf("%d requests for 250 files; want 3 pages of 100", got)
	}
	if f.authHeader != "Bearer s3cr3t-token" {
		t.Errorf("Authorization header %q", f.authHeader)
	}
}

func TestPRFilesAtTheCapIsIncomplete(t *testing.T) {
	f := &fakeGitHub{t: t, prFiles: 3500}
	files, complete, err := newTestClient(t, f).PRFiles(context.Background(), 7)
	if err != nil {
		t.Fatal(err)
	}
	if complete || len(files) != 3000 {
		t.Fatalf("complete=%v with %d files; want the 3,000-file cap reported as incomplete", complete, len(files))
	}
}

func TestRetriesOn502AndSecondaryRateLimit(t *testing.T) {
	f := &fakeGitHub{t: t, prFiles: 5}
	f.fail502.Store(1)
	f.limited.Store(1)
	files, _, err := newTestClient(t, f).PRFiles(context.Background(), 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 5 || f.requests.Load() != 3 {
		t.Fatalf("%d files after %d requests; want 5 after a 502, a rate limit and a success", len(files), f.requests.Load())
	}
}

func TestGivesUpAfterRepeated502(t *testing.T) {
	f := &fakeGitHub{t: t, prFiles: 5}
	f.fail502.Store(100)
	_, _, err := newTestClient(t, f).PRFiles(context.Background(), 7)
	if err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("err = %v; want the 502 after %d attempts", err, maxAttempts)
	}
	if got := f.requests.Load(); got != maxAttempts {
		t.Errorf("%d attempts; want %d", got, maxAttempts)
	}
}

func TestNotFoundNamesThePermission(t *testing.T) {
	f := &fakeGitHub{t: t}
	c := newTestClient(t, f)
	c.repo = "private"
	_, _, err := c.PRFiles(context.Background(), 7)
	if err == nil || !strings.Contains(err.Error(), `"pull-requests: read"`) {
		t.Fatalf("err = %v; want the missing permission named", err)
	}
	if strings.Contains(err.Error(), "s3cr3t-token") {
		t.Fatal("the error prints the token")
	}
}

func TestLastSuccessfulRun(t *testing.T) {
	for name, tc := range map[string]struct {
		runs bool
		want string
	}{
		"a successful run": {runs: true, want: "acb5820ced9479c074f688cc328bf03f341a511d"},
		"no run yet":       {runs: false, want: ""},
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeGitHub{t: t, runs: tc.runs}
			got, err := newTestClient(t, f).LastSuccessfulRun(context.Background(), "kustomatrix.yml", "main")
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("head sha %q, want %q", got, tc.want)
			}
			want := "branch=main&event=push&per_page=1&status=success"
			if diff := cmp.Diff(want, f.lastQuery); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv("GITHUB_REPOSITORY", "acme")
	t.Setenv("GITHUB_TOKEN", "x")
	if _, err := FromEnv(); err == nil || !strings.Contains(err.Error(), "owner/repo") {
		t.Errorf("err = %v; want GITHUB_REPOSITORY explained", err)
	}
	t.Setenv("GITHUB_REPOSITORY", "acme/manifests")
	t.Setenv("GITHUB_TOKEN", "")
	if _, err := FromEnv(); err == nil || !strings.Contains(err.Error(), "GITHUB_TOKEN") {
		t.Errorf("err = %v; want GITHUB_TOKEN explained", err)
	}
}
