package ghapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kustomatrix/kustomatrix/internal/report"
)

// botUser is the account GitHub shows as the author of what GITHUB_TOKEN
// writes.
var botUser = map[string]any{
	"login": "github-actions[bot]", "id": 41898282, "node_id": "MDM6Qm90NDE4OTgyODI=",
	"avatar_url": "https://avatars.githubusercontent.com/in/15368?v=4", "gravatar_id": "",
	"url": "https://api.github.com/users/github-actions%5Bbot%5D", "html_url": "https://github.com/apps/github-actions",
	"type": "Bot", "site_admin": false,
}

// commentServer is a pull request's comments as GitHub keeps them: listed
// in pages of per_page with Link headers, created, updated and deleted,
// each answered with the documented example (testdata/github) carrying the
// stored id, body and author.
type commentServer struct {
	t        *testing.T
	login    string // the token's account; "" for an installation token (GITHUB_TOKEN)
	failPost int    // answer POSTs with this status

	mu       sync.Mutex
	comments []map[string]any
	nextID   int64
	count    map[string]int // "GET", "POST", "PATCH", "DELETE", "GET /user"
	pages    []string       // the page query of each list request
	received []string       // the bodies of POSTs and PATCHes
}

func newCommentServer(t *testing.T, login string) *commentServer {
	return &commentServer{t: t, login: login, nextID: 1000, count: map[string]int{}}
}

// add stores a comment written by author (a user object).
func (s *commentServer) add(author map[string]any, body string) int64 {
	var example []map[string]any
	if err := json.Unmarshal(readTestdata(s.t, "issue-comments.json"), &example); err != nil {
		s.t.Fatal(err)
	}
	c := example[0]
	s.nextID++
	c["id"], c["body"], c["user"] = s.nextID, body, author
	c["url"] = fmt.Sprintf("https://api.github.com/repos/acme/manifests/issues/comments/%d", s.nextID)
	s.comments = append(s.comments, c)
	return s.nextID
}

// octocat is the author of the documented example.
func octocat(t *testing.T) map[string]any {
	var c map[string]any
	if err := json.Unmarshal(readTestdata(t, "issue-comment.json"), &c); err != nil {
		t.Fatal(err)
	}
	return c["user"].(map[string]any)
}

func (s *commentServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	const list = "/repos/acme/manifests/issues/7/comments"
	const one = "/repos/acme/manifests/issues/comments/"
	switch {
	case r.URL.Path == "/user" && r.Method == http.MethodGet:
		s.count["GET /user"]++
		if s.login == "" {
			w.WriteHeader(http.StatusForbidden)
			w.Write(readTestdata(s.t, "integration-forbidden.json"))
			return
		}
		var u map[string]any
		json.Unmarshal(readTestdata(s.t, "user.json"), &u)
		u["login"] = s.login
		json.NewEncoder(w).Encode(u)
	case r.URL.Path == list && r.Method == http.MethodGet:
		s.count["GET"]++
		s.servePage(w, r)
	case r.URL.Path == list && r.Method == http.MethodPost:
		s.count["POST"]++
		if s.failPost != 0 {
			w.WriteHeader(s.failPost)
			w.Write([]byte(`{"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment", "status": "403"}`))
			return
		}
		author := botUser
		if s.login != "" {
			author = octocat(s.t)
			author["login"] = s.login
		}
		s.add(author, s.body(r))
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(s.comments[len(s.comments)-1])
	case strings.HasPrefix(r.URL.Path, one) && (r.Method == http.MethodPatch || r.Method == http.MethodDelete):
		s.count[r.Method]++
		id, _ := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, one), 10, 64)
		for i, c := range s.comments {
			if c["id"].(int64) != id {
				continue
			}
			if r.Method == http.MethodDelete {
				s.comments = append(s.comments[:i], s.comments[i+1:]...)
				w.WriteHeader(http.StatusNoContent)
				return
			}
			c["body"] = s.body(r)
			json.NewEncoder(w).Encode(c)
			return
		}
		http.NotFound(w, r)
	default:
		s.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

// body decodes a create or update request, and checks what GitHub would.
func (s *commentServer) body(r *http.Request) string {
	var req struct {
		Body *string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Body == nil {
		s.t.Errorf("%s %s: no body in the request (%v)", r.Method, r.URL, err)
		return ""
	}
	b := *req.Body
	if len(b) > MaxCommentLength || !utf8.ValidString(b) {
		s.t.Errorf("%s %s: a body of %d bytes (valid UTF-8: %v); GitHub answers 422", r.Method, r.URL, len(b), utf8.ValidString(b))
	}
	s.received = append(s.received, b)
	return b
}

func (s *commentServer) servePage(w http.ResponseWriter, r *http.Request) {
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	per, page = cmpOr(per, 30), cmpOr(page, 1)
	s.pages = append(s.pages, r.URL.RawQuery)
	last := max(1, (len(s.comments)+per-1)/per)
	out := []map[string]any{}
	for i := (page - 1) * per; i < min(page*per, len(s.comments)); i++ {
		out = append(out, s.comments[i])
	}
	if page < last {
		base := "http://" + r.Host + r.URL.Path
		w.Header().Set("Link", fmt.Sprintf(`<%s?page=%d&per_page=%d>; rel="next", <%s?page=%d&per_page=%d>; rel="last"`, base, page+1, per, base, last, per))
	}
	json.NewEncoder(w).Encode(out)
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// bodyOf returns the stored body of comment id.
func (s *commentServer) bodyOf(id int64) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.comments {
		if c["id"].(int64) == id {
			return c["body"].(string), true
		}
	}
	return "", false
}

// newServerClient is a client of an httptest server that records retries
// instead of waiting.
func newServerClient(t *testing.T, h http.Handler) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, "s3cr3t-token", "acme", "manifests", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	c.retry.sleep = func(context.Context, time.Duration) error { return nil }
	return c
}

const marker = "<!-- kustomatrix:kustomatrix -->"

func render(t *testing.T, reports ...report.Report) string {
	t.Helper()
	body, err := report.Render(reports, report.Options{Workflow: "kustomatrix", RunURL: "https://github.com/acme/manifests/actions/runs/1"})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

var (
	cartChanges = report.Report{Service: "cart", Environment: "prod", Path: "apps/cart/overlays/prod", Status: report.StatusChanges, Diff: "-replicas: 2\n+replicas: 3\n"}
	cartClean   = report.Report{Service: "cart", Environment: "prod", Path: "apps/cart/overlays/prod", Status: report.StatusNoChanges}
)

// TestUpsertCommentCreatesThenUpdates runs the comment as GITHUB_TOKEN
// would, on a pull request with three pages of comments, one of them a
// person's comment that starts with the marker.
func TestUpsertCommentCreatesThenUpdates(t *testing.T) {
	s := newCommentServer(t, "")
	for i := range 230 {
		body := fmt.Sprintf("comment %d", i)
		if i == 42 {
			body = marker + "\nplanted by the pull request's author"
		}
		s.add(octocat(t), body)
	}
	s.add(botUser, "<!-- kustomatrix:other-workflow -->\nanother workflow's comment")
	c := newServerClient(t, s)

	first := render(t, cartChanges)
	id, created, err := c.UpsertComment(context.Background(), 7, marker, first)
	if err != nil {
		t.Fatal(err)
	}
	if !created || s.count["POST"] != 1 || s.count["PATCH"] != 0 {
		t.Fatalf("created=%v after %d POST, %d PATCH; want one new comment", created, s.count["POST"], s.count["PATCH"])
	}
	if got := strings.Join(s.pages, " "); got != "per_page=100 page=2&per_page=100 page=3&per_page=100" {
		t.Errorf("list requests %q; want the three pages the Link headers name", got)
	}
	if b, _ := s.bodyOf(id); !strings.HasPrefix(b, marker+"\n") || !strings.Contains(b, "| `cart` | 🟡 changes |") || !strings.Contains(b, "+replicas: 3") {
		t.Errorf("the stored comment lacks the marker, the table or the diff:\n%s", b)
	}

	second := render(t, cartClean)
	id2, created, err := c.UpsertComment(context.Background(), 7, marker, second)
	if err != nil {
		t.Fatal(err)
	}
	if created || id2 != id || s.count["POST"] != 1 || s.count["PATCH"] != 1 {
		t.Fatalf("second run: id %d (first %d), created=%v, %d POST, %d PATCH; want the comment updated in place", id2, id, created, s.count["POST"], s.count["PATCH"])
	}
	if b, _ := s.bodyOf(id); b != second {
		t.Errorf("stored body after the update:\n%s", b)
	}
	if b, _ := s.bodyOf(1043); !strings.Contains(b, "planted") {
		t.Error("the person's comment with the marker was changed")
	}

	// Nothing changed: nothing to send.
	if _, created, err = c.UpsertComment(context.Background(), 7, marker, second); err != nil || created || s.count["PATCH"] != 1 {
		t.Errorf("third run with the same body: created=%v, %d PATCH, err %v; want no request but the listing", created, s.count["PATCH"], err)
	}
	if s.count["GET /user"] != 3 {
		t.Errorf("%d GET /user; want one per run", s.count["GET /user"])
	}
}

// TestUpsertCommentWithUserToken: a personal access token knows its
// account, and only that account's comment is taken, not a bot's.
func TestUpsertCommentWithUserToken(t *testing.T) {
	s := newCommentServer(t, "deploy-bot-user")
	botID := s.add(botUser, marker+"\nwritten by GITHUB_TOKEN, before the switch to a personal token")
	s.add(octocat(t), "Me too")
	mine := octocat(t)
	mine["login"] = "Deploy-Bot-User" // logins compare without case
	mineID := s.add(mine, marker+"\nold")
	c := newServerClient(t, s)

	id, created, err := c.UpsertComment(context.Background(), 7, marker, render(t, cartChanges))
	if err != nil {
		t.Fatal(err)
	}
	if created || id != mineID {
		t.Errorf("updated %d (created=%v); want the token account's comment %d", id, created, mineID)
	}
	if b, _ := s.bodyOf(botID); !strings.Contains(b, "before the switch") {
		t.Error("the bot's comment was changed")
	}
}

// TestUpsertCommentRemovesCopies: two copies (two runs raced) become one.
func TestUpsertCommentRemovesCopies(t *testing.T) {
	s := newCommentServer(t, "")
	oldest := s.add(botUser, marker+"\nfirst copy")
	s.add(octocat(t), "Me too")
	copyID := s.add(botUser, marker+"\r\nsecond copy, CRLF as the browser writes")
	c := newServerClient(t, s)

	id, created, err := c.UpsertComment(context.Background(), 7, marker, render(t, cartChanges))
	if err != nil {
		t.Fatal(err)
	}
	if created || id != oldest || s.count["PATCH"] != 1 || s.count["DELETE"] != 1 {
		t.Errorf("id %d created=%v, %d PATCH, %d DELETE; want the oldest (%d) updated and the copy deleted", id, created, s.count["PATCH"], s.count["DELETE"], oldest)
	}
	if _, ok := s.bodyOf(copyID); ok {
		t.Error("the second copy is still there")
	}
}

// TestUpsertCommentAtTheLimit sends a body report.Render cut to fit: the
// server checks it is within GitHub's limit, the table complete, the diffs
// cut with the note.
func TestUpsertCommentAtTheLimit(t *testing.T) {
	var reports []report.Report
	for i, env := range []string{"dev", "staging", "prod"} {
		reports = append(reports, report.Report{Service: "cart", Environment: env, Path: "apps/cart/overlays/" + env,
			Status: report.StatusChanges, Diff: strings.Repeat(fmt.Sprintf("+ключ-%d: значение 😀\n", i), 8000)})
	}
	s := newCommentServer(t, "")
	c := newServerClient(t, s)
	if _, _, err := c.UpsertComment(context.Background(), 7, marker, render(t, reports...)); err != nil {
		t.Fatal(err)
	}
	if len(s.received) != 1 {
		t.Fatalf("%d bodies sent", len(s.received))
	}
	b := s.received[0]
	if len(b) > MaxCommentLength || len(b) < MaxCommentLength-2048 {
		t.Errorf("%d bytes sent; want close to, and within, %d", len(b), MaxCommentLength)
	}
	for _, want := range []string{marker + "\n", "| `cart` | 🟡 changes | 🟡 changes | 🟡 changes |", "*Cut to ", "[workflow run](https://github.com/acme/manifests/actions/runs/1)"} {
		if !strings.Contains(b, want) {
			t.Errorf("the body sent lacks %q", want)
		}
	}
}

func TestUpsertCommentRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		pr     int
		marker string
		body   string
		want   string
	}{
		"pull request 0 (would list the whole repository)": {pr: 0, marker: marker, body: marker + "\n", want: "positive"},
		"a body without the marker":                        {pr: 7, marker: marker, body: "hello\n" + marker, want: "must start with the marker"},
		"an empty marker":                                  {pr: 7, marker: "", body: "\nx", want: "marker"},
		"a body past the limit":                            {pr: 7, marker: marker, body: marker + "\n" + strings.Repeat("é", MaxCommentLength/2), want: "at most 65536"},
	} {
		t.Run(name, func(t *testing.T) {
			s := newCommentServer(t, "")
			_, _, err := newServerClient(t, s).UpsertComment(context.Background(), tc.pr, tc.marker, tc.body)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want %q", err, tc.want)
			}
			if len(s.count) != 0 {
				t.Errorf("requests were sent: %v", s.count)
			}
		})
	}
}

func TestUpsertCommentNamesThePermission(t *testing.T) {
	s := newCommentServer(t, "")
	s.failPost = http.StatusForbidden
	_, _, err := newServerClient(t, s).UpsertComment(context.Background(), 7, marker, render(t, cartChanges))
	if err == nil || !strings.Contains(err.Error(), `"pull-requests: write"`) || !strings.Contains(err.Error(), "#7") {
		t.Fatalf("err = %v; want the pull request and the missing permission named", err)
	}
	if strings.Contains(err.Error(), "s3cr3t-token") {
		t.Fatal("the error prints the token")
	}
}
