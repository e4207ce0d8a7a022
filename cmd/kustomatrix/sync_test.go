package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSyncOpensAPullRequestWithTheRegeneratedFiles: a repository whose
// committed pipeline lacks a new service gets one commit, through the Git
// data API, holding exactly the regenerated files, and a pull request.
func TestSyncOpensAPullRequestWithTheRegeneratedFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../testdata/golden/overlays/input")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".kustomatrix.yaml"), []byte("sync:\n  tokenSecret: SYNC_TOKEN\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"generate", "--repo", dir}, nil, &out, &errb); code != 0 {
		t.Fatalf("generate: %s", errb.String())
	}
	if err := os.CopyFS(filepath.Join(dir, "apps", "billing"), os.DirFS(filepath.Join(dir, "apps", "api"))); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "x"}} {
		if b, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, b)
		}
	}
	var treePaths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		switch {
		case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/repos/acme/manifests/git/commits/"):
			w.Write([]byte(`{"sha": "base", "tree": {"sha": "basetree"}}`))
		case r.Method == "POST" && r.URL.Path == "/repos/acme/manifests/git/trees":
			for _, e := range body["tree"].([]any) {
				treePaths = append(treePaths, e.(map[string]any)["path"].(string))
			}
			w.Write([]byte(`{"sha": "newtree"}`))
		case r.Method == "POST" && r.URL.Path == "/repos/acme/manifests/git/commits":
			w.Write([]byte(`{"sha": "newcommit"}`))
		case r.Method == "GET" && r.URL.Path == "/repos/acme/manifests/git/ref/heads/kustomatrix/regenerate":
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"message": "Not Found"}`))
		case r.Method == "POST" && r.URL.Path == "/repos/acme/manifests/git/refs":
			w.Write([]byte(`{"ref": "refs/heads/kustomatrix/regenerate", "object": {"sha": "newcommit"}}`))
		case r.Method == "GET" && r.URL.Path == "/repos/acme/manifests/pulls":
			w.Write([]byte(`[]`))
		case r.Method == "POST" && r.URL.Path == "/repos/acme/manifests/pulls":
			if !strings.Contains(body["body"].(string), ".github/workflows/kustomatrix.yml") {
				t.Errorf("pull request body does not list the changes: %v", body["body"])
			}
			w.Write([]byte(`{"number": 12, "html_url": "https://github.com/acme/manifests/pull/12"}`))
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	t.Setenv("GITHUB_API_URL", srv.URL)
	t.Setenv("GITHUB_REPOSITORY", "acme/manifests")
	t.Setenv("GITHUB_TOKEN", "app-token")
	t.Setenv("GITHUB_SHA", "")
	out.Reset()
	errb.Reset()
	if code := run([]string{"sync", "--repo", dir}, nil, &out, &errb); code != 0 {
		t.Fatalf("sync: exit %d\n%s", code, errb.String())
	}
	if !strings.Contains(out.String(), "opened pull request #12") {
		t.Fatalf("stdout %q", out.String())
	}
	want := []string{".github/kustomatrix-paths.yml", ".github/workflows/kustomatrix.yml"}
	if strings.Join(treePaths, " ") != strings.Join(want, " ") {
		t.Fatalf("committed %v, want exactly the regenerated files %v", treePaths, want)
	}
	if _, err := os.Stat(filepath.Join(dir, ".github", "workflows", "kustomatrix.yml")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ".github", "workflows", "kustomatrix.yml")); strings.Contains(string(b), "billing") {
		t.Fatal("sync wrote locally; it must only go through the API")
	}
}
