package report

import (
	"fmt"
	"math/rand"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

const runURL = "https://github.com/acme/manifests/actions/runs/30433642"

func TestRenderLayout(t *testing.T) {
	reports := []Report{
		{Service: "web", Environment: "staging", Path: "apps/web/overlays/staging", Status: StatusError, Diff: "error: accumulating resources: missing.yaml"},
		{Service: "cart", Environment: "prod", Path: "apps/cart/overlays/prod", Status: StatusChanges, RunURL: runURL,
			Diff: "--- deployment.apps/cart\n+++ deployment.apps/cart\n@@ -1 +1 @@\n-replicas: 2\n+replicas: 3\n"},
		{Service: "cart", Environment: "dev", Path: "apps/cart/overlays/dev", Status: StatusNoChanges},
		{Service: "web", Environment: "prod", Path: "apps/web/overlays/prod", Status: StatusSkipped},
	}
	got, err := Render(reports, Options{Workflow: "kustomatrix", RunURL: runURL})
	if err != nil {
		t.Fatal(err)
	}
	want := "<!-- kustomatrix:kustomatrix -->\n" +
		"### kustomatrix: kustomatrix\n" +
		"\n" +
		"4 target(s): 🟡 1 with changes, ❌ 1 failed, ✅ 1 without changes, ⏭️ 1 skipped. [Workflow run](" + runURL + ").\n" +
		"\n" +
		"| service | `dev` | `staging` | `prod` |\n" +
		"|---|---|---|---|\n" +
		"| `cart` | ✅ no changes | — | 🟡 [changes](" + runURL + ") |\n" +
		"| `web` | — | ❌ error | ⏭️ skipped |\n" +
		"\n" +
		"<details><summary>🟡 <code>cart</code> / <code>prod</code>: changes (<code>apps/cart/overlays/prod</code>)</summary>\n" +
		"\n" +
		"```diff\n" +
		"--- deployment.apps/cart\n+++ deployment.apps/cart\n@@ -1 +1 @@\n-replicas: 2\n+replicas: 3\n" +
		"```\n" +
		"\n" +
		"</details>\n" +
		"\n" +
		"<details><summary>❌ <code>web</code> / <code>staging</code>: error (<code>apps/web/overlays/staging</code>)</summary>\n" +
		"\n" +
		"```text\n" +
		"error: accumulating resources: missing.yaml\n" +
		"```\n" +
		"\n" +
		"</details>\n" +
		"\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}

	// The same reports in any order give the same body: the comment only
	// changes when a result does.
	shuffled := append([]Report(nil), reports...)
	rand.New(rand.NewSource(1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	again, _ := Render(shuffled, Options{Workflow: "kustomatrix", RunURL: runURL})
	if again != got {
		t.Error("the body depends on the order of the reports")
	}
}

func TestRenderNoTargets(t *testing.T) {
	got, err := Render(nil, Options{Workflow: "kustomatrix"})
	if err != nil {
		t.Fatal(err)
	}
	want := "<!-- kustomatrix:kustomatrix -->\n### kustomatrix: kustomatrix\n\nNo target is affected by this change.\n\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRenderRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		reports []Report
		o       Options
		want    string
	}{
		"a workflow name that would end the marker": {o: Options{Workflow: "x -->"}, want: "marker"},
		"an empty workflow name":                    {o: Options{Workflow: ""}, want: "marker"},
		"a newline in the workflow name":            {o: Options{Workflow: "a\nb"}, want: "marker"},
		"a limit too small for a table":             {o: Options{Workflow: "k", Limit: 100}, want: "limit"},
		"an unknown status": {o: Options{Workflow: "k"}, want: "status",
			reports: []Report{{Service: "a", Environment: "b", Path: "c", Status: "changed"}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Render(tc.reports, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want it to mention %q", err, tc.want)
			}
		})
	}
}

// diffOf returns a diff of about n bytes: numbered lines of pattern.
func diffOf(n int, pattern string) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "+line %d %s\n", i, pattern)
	}
	return b.String()
}

func services(n, diffBytes int, pattern string) []Report {
	var rs []Report
	for i := range n {
		rs = append(rs, Report{Service: fmt.Sprintf("svc%04d", i), Environment: "prod", Path: fmt.Sprintf("apps/svc%04d/overlays/prod", i),
			Status: StatusChanges, Diff: diffOf(diffBytes, pattern)})
	}
	return rs
}

var (
	cutNote     = regexp.MustCompile(`\*Cut (?:to (\d+) of (\d+) lines|inside line 1 of \d+)`)
	leftOutNote = regexp.MustCompile(`\*Left out, largest first,`)
	moreRow     = regexp.MustCompile(`\| …and (\d+) more service\(s\) \|`)
)

// TestRenderLimit checks the one promise GitHub holds us to: the body is
// never longer than 65,536 characters, however they are counted, and the
// table of results stays complete.
func TestRenderLimit(t *testing.T) {
	huge := Report{Service: "huge", Environment: "prod", Path: "apps/huge/overlays/prod", Status: StatusChanges, Diff: diffOf(300_000, "x")}
	for name, tc := range map[string]struct {
		reports           []Report
		wantCut, wantLeft int  // diffs cut, diffs left out
		wantMore          bool // the table had to lose rows
		minLen            int  // the body uses the room it has
	}{
		"small diffs stay whole": {reports: services(5, 2000, "abc")},
		"one huge diff is cut, the small ones stay whole": {
			reports: append(services(5, 2000, "abc"), huge), wantCut: 1, minLen: 60_000},
		"several large diffs are cut evenly": {reports: services(4, 40_000, "abc"), wantCut: 4, minLen: 60_000},
		"too many diffs: the largest are left out": {
			reports: append(services(60, 3000, "abc"), huge), wantCut: 26, wantLeft: 35, minLen: 60_000},
		"two-byte characters":   {reports: append(services(2, 1000, "é"), huge), wantCut: 1, minLen: 60_000},
		"three-byte characters": {reports: services(3, 50_000, "€€€ 漢字"), wantCut: 3, minLen: 60_000},
		"four-byte characters (two UTF-16 units each)": {
			reports: services(3, 50_000, "😀🚀"), wantCut: 3, minLen: 60_000},
		"one line without a newline, multi-byte": {
			reports: []Report{{Service: "a", Environment: "prod", Path: "a", Status: StatusChanges, Diff: strings.Repeat("é😀", 40_000)}}, wantCut: 1},
		"the table alone is too long": {reports: services(3000, 10, "x"), wantMore: true, minLen: 60_000},
	} {
		t.Run(name, func(t *testing.T) {
			body, err := Render(tc.reports, Options{Workflow: "kustomatrix", RunURL: runURL})
			if err != nil {
				t.Fatal(err)
			}
			checkLimit(t, body)
			if len(body) < tc.minLen {
				t.Errorf("%d bytes; want at least %d: the room should go to the diffs", len(body), tc.minLen)
			}
			checkBlocks(t, body)
			if got := len(cutNote.FindAllString(body, -1)); got != tc.wantCut {
				t.Errorf("%d diffs cut; want %d", got, tc.wantCut)
			}
			left := 0
			for _, r := range tc.reports {
				if r.Diff != "" && !strings.Contains(body, "<code>"+r.Service+"</code> / <code>"+r.Environment+"</code>") {
					left++
				}
			}
			if tc.wantMore {
				checkCutTable(t, body, len(tc.reports))
				return
			}
			if left != tc.wantLeft {
				t.Errorf("%d diffs left out; want %d", left, tc.wantLeft)
			}
			if (left > 0) != leftOutNote.MatchString(body) {
				t.Errorf("%d diffs left out, but the note saying so is there: %v", left, leftOutNote.MatchString(body))
			}
			for _, r := range tc.reports { // the table is complete
				if !strings.Contains(body, "| "+cellCode(r.Service)+" |") {
					t.Errorf("service %s is missing from the table", r.Service)
				}
			}
		})
	}
}

// checkLimit checks the body against GitHub's limit counted every way:
// bytes, code points, UTF-16 code units.
func checkLimit(t *testing.T, body string) {
	t.Helper()
	if n := len(body); n > MaxCommentLength {
		t.Fatalf("%d bytes; the limit is %d", n, MaxCommentLength)
	}
	if !utf8.ValidString(body) {
		t.Fatal("the body is not valid UTF-8: a cut split a character")
	}
	if n := utf8.RuneCountInString(body); n > MaxCommentLength {
		t.Fatalf("%d characters", n)
	}
	if n := len(utf16.Encode([]rune(body))); n > MaxCommentLength {
		t.Fatalf("%d UTF-16 code units", n)
	}
	if !strings.HasPrefix(body, Marker("kustomatrix")+"\n") {
		t.Error("the marker is not the first line")
	}
}

// checkBlocks checks that every <details> closes, and that every cut diff
// shows fewer lines than it has.
func checkBlocks(t *testing.T, body string) {
	t.Helper()
	if o, c := strings.Count(body, "<details>"), strings.Count(body, "</details>"); o != c {
		t.Errorf("%d <details> but %d </details>", o, c)
	}
	for _, m := range cutNote.FindAllStringSubmatch(body, -1) {
		var shown, total int
		fmt.Sscan(m[1], &shown)
		fmt.Sscan(m[2], &total)
		if m[1] != "" && shown >= total {
			t.Errorf("a cut diff shows %d of %d lines", shown, total)
		}
	}
}

// checkCutTable checks a table that lost rows: the rows shown plus the
// "…and N more" row account for every service.
func checkCutTable(t *testing.T, body string, services int) {
	t.Helper()
	m := moreRow.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no \"…and N more\" row")
	}
	var more int
	fmt.Sscan(m[1], &more)
	shown := strings.Count(body, "| `svc")
	if shown+more != services {
		t.Errorf("%d rows shown and %d more; want %d services in all", shown, more, services)
	}
	if !strings.HasSuffix(strings.TrimRight(body, "\n"), " |") && !leftOutNote.MatchString(body) {
		t.Error("the body does not end with the table or the note")
	}
}

func TestRenderFencesHoldBackticks(t *testing.T) {
	r := Report{Service: "a", Environment: "dev", Path: "a", Status: StatusChanges, Diff: "+x: |\n+  ```\n+  ````` nested\n"}
	body, err := Render([]Report{r}, Options{Workflow: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "``````diff\n") || !strings.Contains(body, "\n``````\n") {
		t.Errorf("the fence is not longer than the longest run of backticks:\n%s", body)
	}
}

func TestRenderEscapes(t *testing.T) {
	r := Report{Service: "a|b`c", Environment: "<prod>", Path: "x&y", Status: StatusChanges, Diff: "d", RunURL: "javascript:alert(1)"}
	body, err := Render([]Report{r}, Options{Workflow: "k", RunURL: "https://x/(y)"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| ``a\\|b`c`` |", "`<prod>`", "<code>&lt;prod&gt;</code>", "<code>x&amp;y</code>", "| 🟡 changes |"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "javascript:") || strings.Contains(body, "https://x/(y)") {
		t.Error("a URL that is not a plain http(s) link went into a link")
	}
}
