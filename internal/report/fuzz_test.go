package report

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzRender: whatever the names, statuses, diffs and their number, the
// comment renders, stays within GitHub's limit counted every way, closes
// every block it opens, and never drops a service with changes from a
// table that has rows to spare for services without.
func FuzzRender(f *testing.F) {
	f.Add("svc", "prod", "+ a\n", uint16(3), uint16(1), uint8(0), uint32(0))
	f.Add("a|b`c\n<!--", "dev\u202e", strings.Repeat("+ ```x\n", 500), uint16(140), uint16(20), uint8(7), uint32(2000))
	f.Add("é😀", "prod", strings.Repeat("é😀", 20000), uint16(40), uint16(3), uint8(1), uint32(1024))
	f.Add("", "", "", uint16(0), uint16(0), uint8(0), uint32(0))
	f.Fuzz(func(t *testing.T, service, env, diff string, n, repeat uint16, statuses uint8, limit uint32) {
		all := []Status{StatusChanges, StatusNoChanges, StatusError, StatusSkipped}
		var rs []Report
		// Sizes stay moderate (up to 150 reports, diffs up to 64 KB) so the
		// fuzzer runs many inputs; TestRenderLimit has the large ones.
		if len(diff) > 4096 {
			diff = diff[:4096]
		}
		for i := range int(n) % 150 {
			st := all[(int(statuses)+i*int(1+statuses%5))%4]
			r := Report{Service: fmt.Sprintf("%s%d", service, i), Environment: env + "x", Path: fmt.Sprintf("p/%d", i), Status: st}
			if st == StatusChanges || st == StatusError {
				r.Diff = strings.Repeat(diff, 1+int(repeat)%16)
			}
			if i%13 == 3 {
				r.Removal = &Removal{Pruned: i%2 == 0, Source: SourceCluster, Deletes: []string{service, diff}}
			}
			rs = append(rs, r)
		}
		lim := 0
		if limit != 0 {
			lim = minLimit + int(limit%MaxCommentLength)
		}
		body, err := Render(rs, Options{Workflow: "kustomatrix", RunURL: runURL, Limit: lim})
		if err != nil {
			t.Fatal(err)
		}
		if lim == 0 {
			checkLimit(t, body)
		} else if len(body) > lim {
			t.Fatalf("%d bytes; the limit is %d", len(body), lim)
		}
		checkBlocks(t, body)
	})
}
