package summary

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kustomatrix/kustomatrix/internal/mdtext"
)

// FuzzMarkdown: whatever the names, diffs, number of objects and limit, a
// summary stays within its limit, every diff block it opens it closes, and
// a changed object ranks before the unchanged ones: when anything of the
// table is shown, its row is.
func FuzzMarkdown(f *testing.F) {
	f.Add("diff apps/x: 1 change(s)", "deployment.apps/x -n ns", []byte("-  replicas: 1\n+  replicas: 2\n"), uint16(3), uint16(2), uint32(MaxBytes))
	f.Add("t", "configmap/a\n\n## forged", []byte("+ ```\n</details>\n"), uint16(2000), uint16(40), uint32(4096))
	f.Add(strings.Repeat("\u202e", 300), "x", []byte(strings.Repeat("+ l\n", 3000)), uint16(0), uint16(1), uint32(1024))
	f.Add("", "", []byte{}, uint16(6000), uint16(180), uint32(MaxBytes))
	f.Fuzz(func(t *testing.T, title, id string, diff []byte, unchangedRows, repeat uint16, limit uint32) {
		lim := MinLimit + int(limit%MaxBytes)
		big := []byte(strings.Repeat(string(diff), 1+int(repeat)%64))
		var rows []Row
		for i := 0; i < int(unchangedRows)%4000; i++ {
			rows = append(rows, Row{ID: strings.Repeat(id, 1+int(repeat)%8) + "-u", Status: "unchanged"})
		}
		changed := Row{ID: id + "-changed", Status: "changed", Diff: big}
		at := 0
		if len(rows) > 0 {
			at = int(repeat) % len(rows)
		}
		rows = append(rows[:at], append([]Row{changed}, rows[at:]...)...)
		md := Markdown(title, rows, lim)
		if len(md) > lim {
			t.Fatalf("summary is %d bytes; the limit is %d", len(md), lim)
		}
		if utf8.ValidString(title) && utf8.ValidString(id) && utf8.Valid(diff) && !utf8.ValidString(md) {
			t.Fatalf("valid input, invalid UTF-8 output")
		}
		checkBlocks(t, md)
		// The changed object's row is kept whenever it fits in half of
		// the room: unchanged rows and diffs never crowd it out.
		row := fmt.Sprintf("| %s | changed |\n", mdtext.Cell(changed.ID))
		avail := lim - len(heading(title, lim/4)) - len(omittedNote)
		if len("| object | status |\n|---|---|\n")+len(row)+1 <= avail/2 && !strings.Contains(md, row) {
			t.Fatalf("the changed object's row %q is missing", row)
		}
	})
}

// checkBlocks reads every diff block as GitHub would: <details>, the
// optional note, a fence, the text up to the same fence alone on a line,
// and </details>; a block that does not close where it should fails.
func checkBlocks(t *testing.T, md string) {
	t.Helper()
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "<details><summary>") {
			continue
		}
		i += 2
		if i < len(lines) && strings.HasPrefix(lines[i], "<sub>") {
			i += 2
		}
		if i >= len(lines) || !strings.HasPrefix(lines[i], "```") || !strings.HasSuffix(lines[i], "diff") {
			t.Fatalf("block without its opening fence at line %d:\n%s", i, md)
		}
		fence := strings.TrimSuffix(lines[i], "diff")
		for i++; i < len(lines) && lines[i] != fence; i++ {
			if strings.HasPrefix(lines[i], fence) && strings.Trim(lines[i], "`") == "" {
				t.Fatalf("line %q closes the block", lines[i])
			}
		}
		if i+2 >= len(lines) || lines[i+1] != "" || lines[i+2] != "</details>" {
			t.Fatalf("block not closed by </details> at line %d:\n%s", i, md)
		}
		i += 2
	}
}
