package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kustomatrix/kustomatrix/generator"
)

// prServer answers the pull request files API for pull request 7 with
// the given paths, GitHub-style: pages of per_page with Link headers, and
// never more than 3,000 files.
func prServer(t *testing.T, paths []string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/repos/acme/manifests/pulls/7/files" {
			t.Errorf("unexpected request %s", r.URL)
			http.NotFound(w, r)
			return
		}
		per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if page == 0 {
			page = 1
		}
		total := min(len(paths), 3000)
		var out []map[string]any
		for i := (page - 1) * per; i < min(page*per, total); i++ {
			out = append(out, map[string]any{"sha": "bbcd538c8e72b8c175046e27cc8f907076331401", "filename": paths[i], "status": "modified"})
		}
		if page*per < total {
			w.Header().Set("Link", fmt.Sprintf(`<http://%s%s?page=%d&per_page=%d>; rel="next"`, r.Host, r.URL.Path, page+1, per))
		}
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func runAffected(t *testing.T, args ...string) (*generator.AffectedResult, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"affected"}, args...), strings.NewReader(""), &out, &errb)
	if code != 0 {
		return nil, errb.String(), code
	}
	var res generator.AffectedResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	return &res, errb.String(), code
}

// TestAffectedFromPullRequestFiles runs affected --github-pr against a
// server shaped like GitHub, through the real go-github client.
func TestAffectedFromPullRequestFiles(t *testing.T) {
	repo, err := filepath.Abs("../../testdata/golden/overlays/input")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GITHUB_REPOSITORY", "acme/manifests")
	t.Setenv("GITHUB_TOKEN", "test-token")

	t.Run("files of the pull request", func(t *testing.T) {
		srv := prServer(t, []string{"README.md", "apps/worker/overlays/prod/kustomization.yaml"})
		t.Setenv("GITHUB_API_URL", srv.URL)
		res, stderr, code := runAffected(t, "--repo", repo, "--github-pr", "7")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if res.All || len(res.Targets) != 1 || res.Targets[0].Path != "apps/worker/overlays/prod" {
			t.Fatalf("got %+v; want only apps/worker/overlays/prod", res)
		}
	})

	t.Run("past the 3,000-file cap without a base everything runs", func(t *testing.T) {
		var many []string
		for i := 0; i < 3200; i++ {
			many = append(many, "terraform/module"+strconv.Itoa(i)+".tf")
		}
		srv := prServer(t, many)
		t.Setenv("GITHUB_API_URL", srv.URL)
		res, stderr, code := runAffected(t, "--repo", repo, "--github-pr", "7")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if !res.All || !strings.Contains(res.Reason, "3000 files") || len(res.Targets) != 4 {
			t.Fatalf("got all=%v reason %q with %d targets; want every target, with the cap as the reason", res.All, res.Reason, len(res.Targets))
		}
	})

	t.Run("without a token it is a usage error", func(t *testing.T) {
		t.Setenv("GITHUB_TOKEN", "")
		_, stderr, code := runAffected(t, "--repo", repo, "--github-pr", "7")
		if code != exitUsage || !strings.Contains(stderr, "GITHUB_TOKEN") {
			t.Fatalf("exit %d, stderr %q; want 2 naming GITHUB_TOKEN", code, stderr)
		}
	})
}
