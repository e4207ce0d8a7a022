package gitdiff

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestFetchCommit: a clone made with depth 1 (what the diff job's checkout
// holds) gets the one base commit it lacks from origin, with its files;
// a commit it has is not fetched; what cannot be fetched is an error
// naming the commit.
func TestFetchCommit(t *testing.T) {
	root := t.TempDir()
	origin := filepath.Join(root, "origin")
	gitIn(t, root, "init", "-q", origin)
	os.WriteFile(filepath.Join(origin, "f"), []byte("base\n"), 0o644)
	gitIn(t, origin, "add", "f")
	gitIn(t, origin, "commit", "-qm", "base")
	base := gitIn(t, origin, "rev-parse", "HEAD")
	os.WriteFile(filepath.Join(origin, "f"), []byte("head\n"), 0o644)
	gitIn(t, origin, "commit", "-qam", "head")
	work := filepath.Join(root, "work")
	gitIn(t, root, "clone", "-q", "--depth", "1", "file://"+origin, work)
	r := Repo{Dir: work}
	if _, err := r.ResolveCommit(base); err == nil {
		t.Fatal("the shallow clone already has the base commit: the test proves nothing")
	}
	if err := r.FetchCommit(base, ""); err != nil {
		t.Fatalf("FetchCommit: %v", err)
	}
	if got, ok, err := r.Show(base, "f"); err != nil || !ok || string(got) != "base\n" {
		t.Fatalf("f at the fetched base: %q %v %v", got, ok, err)
	}
	// Present: nothing is asked of origin (which is gone).
	os.RemoveAll(origin)
	if err := r.FetchCommit(base, ""); err != nil {
		t.Fatalf("FetchCommit of a present commit: %v", err)
	}
	missing := strings.Repeat("ab", 20)
	if err := r.FetchCommit(missing, ""); err == nil || !strings.Contains(err.Error(), "fetching commit "+missing+" from origin") {
		t.Fatalf("FetchCommit of a commit origin lacks: %v", err)
	}
	// Not a full commit id: left to ResolveCommit.
	if err := r.FetchCommit("main", ""); err != nil {
		t.Fatalf("FetchCommit(main): %v", err)
	}
	gitIn(t, work, "remote", "remove", "origin")
	if err := r.FetchCommit(missing, ""); err == nil || !strings.Contains(err.Error(), "no remote origin") {
		t.Fatalf("FetchCommit without origin: %v", err)
	}
}

// TestFetchCommitToken: the token reaches the server as actions/checkout
// sends it (basic, x-access-token), never the command line, the
// configuration or the error message.
func TestFetchCommitToken(t *testing.T) {
	const token = "ghs_secretTOKENvalue"
	var mu sync.Mutex
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		http.Error(w, "denied for "+token, http.StatusForbidden)
	}))
	defer srv.Close()
	work := t.TempDir()
	gitIn(t, work, "init", "-q")
	gitIn(t, work, "remote", "add", "origin", srv.URL+"/acme/manifests.git")
	err := Repo{Dir: work}.FetchCommit(strings.Repeat("cd", 20), token)
	if err == nil || strings.Contains(err.Error(), token) {
		t.Fatalf("FetchCommit against a refusing server: %v", err)
	}
	want := "basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+token))
	mu.Lock()
	defer mu.Unlock()
	found := false
	for _, a := range auth {
		found = found || strings.EqualFold(a, want)
	}
	if !found {
		t.Fatalf("the server saw Authorization %q, want %q", auth, want)
	}
	cfg, _ := os.ReadFile(filepath.Join(work, ".git", "config"))
	if strings.Contains(string(cfg), "extraheader") {
		t.Fatalf(".git/config holds the header:\n%s", cfg)
	}
}

// TestResolveFetchesWhatAShallowCloneLacks: the plan job's checkout has 2
// commits. Resolve with Fetch gets the base from origin and deepens the
// history until the merge base is there, and finds the one a full clone
// finds; without Fetch the same clone is *Unavailable (every target runs).
func TestResolveFetchesWhatAShallowCloneLacks(t *testing.T) {
	root := t.TempDir()
	origin := filepath.Join(root, "origin")
	gitIn(t, root, "init", "-q", "-b", "main", origin)
	commit := func(msg string) string {
		os.WriteFile(filepath.Join(origin, "f"), []byte(msg+"\n"), 0o644)
		gitIn(t, origin, "add", "f")
		gitIn(t, origin, "commit", "-qm", msg)
		return gitIn(t, origin, "rev-parse", "HEAD")
	}
	for i := range 5 {
		commit(fmt.Sprintf("main %d", i))
	}
	forkPoint := gitIn(t, origin, "rev-parse", "HEAD")
	for i := range 40 {
		commit(fmt.Sprintf("main after %d", i))
	}
	base := gitIn(t, origin, "rev-parse", "HEAD")
	gitIn(t, origin, "checkout", "-q", "-b", "feature", forkPoint)
	for i := range 15 {
		commit(fmt.Sprintf("feature %d", i))
	}
	head := gitIn(t, origin, "rev-parse", "HEAD")

	work := filepath.Join(root, "work")
	gitIn(t, root, "clone", "-q", "--depth", "2", "--branch", "feature", "file://"+origin, work)
	var un *Unavailable
	if _, err := (Repo{Dir: work}).Resolve(base, head, false); !errors.As(err, &un) {
		t.Fatalf("without Fetch: %v, want *Unavailable", err)
	}
	rg, err := Repo{Dir: work, Fetch: true}.Resolve(base, head, false)
	if err != nil || rg.From != forkPoint || rg.Base != base || rg.Head != head {
		t.Fatalf("with Fetch: %+v %v, want From %s", rg, err, forkPoint)
	}
	// A deployed base needs only its own commit.
	work2 := filepath.Join(root, "work2")
	gitIn(t, root, "clone", "-q", "--depth", "2", "--branch", "feature", "file://"+origin, work2)
	rg, err = Repo{Dir: work2, Fetch: true}.Resolve(base, head, true)
	if err != nil || rg.From != base {
		t.Fatalf("deployed with Fetch: %+v %v", rg, err)
	}
	if n := gitIn(t, work2, "rev-list", "--count", "HEAD"); n != "2" {
		t.Fatalf("a deployed base deepened the history: %s commits", n)
	}
}
