package report

import (
	"fmt"
	"strings"
	"testing"
)

// TestRenderRanksChangesInACutTable: when the table of results is too long
// for a comment, the services with changes or errors keep their rows and
// the "…and N more" row stands for services without changes.
func TestRenderRanksChangesInACutTable(t *testing.T) {
	var rs []Report
	for i := range 3000 {
		rs = append(rs, Report{Service: fmt.Sprintf("svc%04d", i), Environment: "prod", Path: fmt.Sprintf("apps/svc%04d", i), Status: StatusNoChanges})
	}
	rs = append(rs,
		Report{Service: "zz-changed", Environment: "prod", Path: "apps/zz-changed", Status: StatusChanges, Diff: "+ replicas: 2\n"},
		Report{Service: "zz-failed", Environment: "prod", Path: "apps/zz-failed", Status: StatusError, Diff: "error: boom\n"})
	body, err := Render(rs, Options{Workflow: "kustomatrix", RunURL: runURL})
	if err != nil {
		t.Fatal(err)
	}
	checkLimit(t, body)
	m := moreRow.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no \"…and N more\" row")
	}
	var more int
	fmt.Sscan(m[1], &more)
	if shown := strings.Count(body, "| `svc") + strings.Count(body, "| `zz-"); shown+more != len(rs) {
		t.Errorf("%d rows shown and %d more; want %d services in all", shown, more, len(rs))
	}
	for _, want := range []string{"| `zz-changed` | 🟡", "| `zz-failed` | ❌", "+ replicas: 2", "error: boom"} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q", want)
		}
	}
}
