// Package ghtest is a stand-in for the few GitHub REST endpoints the
// generated pipeline reaches through kustomatrix: issue comments (the
// sticky pull request comment), deployments and their statuses, and the
// workflow runs of a workflow (the last deployed commit). It answers with
// the documented example bodies kept in testdata/github (see SOURCE.md
// there), changed only where the request decides (ids, bodies, states), and
// keeps what it was sent, for tests that run kustomatrix as a process: the
// e2e tier points GITHUB_API_URL at it.
//
// It is test code that other packages' tests import; nothing else does.
package ghtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

// Comment is one issue comment as the fake stores it.
type Comment struct {
	ID    int64
	Issue int
	Body  string
}

// Deployment is one deployment with the states it was given, in order.
type Deployment struct {
	ID          int64
	Ref         string
	Environment string
	Description string
	Payload     map[string]any
	States      []string
}

// GitHub is the fake. Its zero value is not usable: use Start.
type GitHub struct {
	Owner, Repo string
	URL         string // the API base URL, for GITHUB_API_URL

	examples    string
	mu          sync.Mutex
	comments    []*Comment // in creation order; deleted ones removed
	nextComment int64
	deployments []*Deployment
	requests    []string
}

// Start serves a fake GitHub for owner/repo until the test ends.
func Start(t testing.TB, owner, repo string) *GitHub {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	g := &GitHub{Owner: owner, Repo: repo, examples: filepath.Join(filepath.Dir(file), "..", "..", "testdata", "github")}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

var (
	issueComments = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/issues/(\d+)/comments$`)
	oneComment    = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/issues/comments/(\d+)$`)
	deployments   = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/deployments$`)
	statuses      = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/deployments/(\d+)/statuses$`)
	workflowRuns  = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/actions/workflows/([^/]+)/runs$`)
)

func (g *GitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests = append(g.requests, r.Method+" "+r.URL.Path)
	var m []string
	match := func(re *regexp.Regexp, method string) bool {
		if r.Method != method {
			return false
		}
		m = re.FindStringSubmatch(r.URL.Path)
		return m != nil && m[1] == g.Owner && m[2] == g.Repo
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/user":
		// What an installation token (GITHUB_TOKEN) is told.
		g.reply(w, http.StatusForbidden, g.example("integration-forbidden.json"))
	case match(issueComments, http.MethodGet):
		issue, _ := strconv.Atoi(m[3])
		list := []any{}
		for _, c := range g.comments {
			if c.Issue == issue {
				list = append(list, g.commentJSON(c))
			}
		}
		g.reply(w, http.StatusOK, list)
	case match(issueComments, http.MethodPost):
		issue, _ := strconv.Atoi(m[3])
		var req struct{ Body string }
		if !decode(w, r, &req) {
			return
		}
		g.nextComment++
		c := &Comment{ID: g.nextComment, Issue: issue, Body: req.Body}
		g.comments = append(g.comments, c)
		g.reply(w, http.StatusCreated, g.commentJSON(c))
	case match(oneComment, http.MethodPatch), match(oneComment, http.MethodDelete):
		id, _ := strconv.ParseInt(m[3], 10, 64)
		i := g.commentIndex(id)
		if i < 0 {
			g.reply(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
			return
		}
		if r.Method == http.MethodDelete {
			g.comments = append(g.comments[:i], g.comments[i+1:]...)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		var req struct{ Body string }
		if !decode(w, r, &req) {
			return
		}
		g.comments[i].Body = req.Body
		g.reply(w, http.StatusOK, g.commentJSON(g.comments[i]))
	case match(deployments, http.MethodPost):
		var req struct {
			Ref, Environment, Description string
			Payload                       map[string]any
		}
		if !decode(w, r, &req) {
			return
		}
		d := &Deployment{ID: int64(len(g.deployments) + 1), Ref: req.Ref, Environment: req.Environment, Description: req.Description, Payload: req.Payload}
		g.deployments = append(g.deployments, d)
		body := g.example("deployment.json")
		body["id"], body["ref"], body["sha"], body["environment"], body["description"], body["payload"] = d.ID, d.Ref, d.Ref, d.Environment, d.Description, d.Payload
		g.reply(w, http.StatusCreated, body)
	case match(statuses, http.MethodPost):
		id, _ := strconv.ParseInt(m[3], 10, 64)
		if id < 1 || id > int64(len(g.deployments)) {
			g.reply(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
			return
		}
		var req struct{ State string }
		if !decode(w, r, &req) {
			return
		}
		d := g.deployments[id-1]
		d.States = append(d.States, req.State)
		body := g.example("deployment-status.json")
		body["id"], body["state"], body["environment"] = len(d.States), req.State, d.Environment
		g.reply(w, http.StatusCreated, body)
	case match(workflowRuns, http.MethodGet):
		// No run has succeeded yet: kustomatrix falls back to the event's base.
		g.reply(w, http.StatusOK, map[string]any{"total_count": 0, "workflow_runs": []any{}})
	default:
		g.reply(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
	}
}

// commentJSON is issue-comment.json with the stored id and body, written
// by the github-actions[bot] account as comments made with GITHUB_TOKEN are.
func (g *GitHub) commentJSON(c *Comment) map[string]any {
	body := g.example("issue-comment.json")
	body["id"], body["body"] = c.ID, c.Body
	body["user"] = map[string]any{"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
	return body
}

func (g *GitHub) commentIndex(id int64) int {
	for i, c := range g.comments {
		if c.ID == id {
			return i
		}
	}
	return -1
}

func (g *GitHub) example(name string) map[string]any {
	data, err := os.ReadFile(filepath.Join(g.examples, name))
	if err != nil {
		panic(fmt.Sprintf("ghtest: %v", err))
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		panic(fmt.Sprintf("ghtest: %s: %v", name, err))
	}
	return v
}

func (g *GitHub) reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return false
	}
	return true
}

// Comments returns the comments of an issue or pull request, oldest first.
func (g *GitHub) Comments(issue int) []Comment {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []Comment
	for _, c := range g.comments {
		if c.Issue == issue {
			out = append(out, *c)
		}
	}
	return out
}

// Deployments returns every deployment created, in order.
func (g *GitHub) Deployments() []Deployment {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Deployment, len(g.deployments))
	for i, d := range g.deployments {
		out[i] = *d
		out[i].States = append([]string(nil), d.States...)
	}
	return out
}

// Requests returns "METHOD /path" of every request so far.
func (g *GitHub) Requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.requests...)
}
