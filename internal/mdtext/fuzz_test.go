package mdtext

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzTable: a table never passes its budget, keeps its rows in order,
// and counts every row it leaves out.
func FuzzTable(f *testing.F) {
	f.Add("| a |\n|---|\n", "| `x` |\n", uint16(10), 60)
	f.Add("| a |\n|---|\n", "| `x` |\n", uint16(5000), 0)
	f.Add("", "", uint16(0), -5)
	f.Add(strings.Repeat("h", 300), "| long row |\n", uint16(300), 400)
	f.Fuzz(func(t *testing.T, head, row string, n uint16, budget int) {
		more := func(rest int) string { return fmt.Sprintf("| …and %d more |\n", rest) }
		rows := int(n) % 3000
		got := Table(head, rows, func(i int) string { return fmt.Sprintf("%d%s", i, row) }, more, budget)
		if len(got) > max(budget, 0) {
			t.Fatalf("table is %d bytes; the budget is %d", len(got), budget)
		}
		if got == "" {
			if len(head)+len(more(rows))+1 <= budget {
				t.Fatalf("an empty table where head and count fit")
			}
			return
		}
		if !strings.HasPrefix(got, head) || !strings.HasSuffix(got, "\n") {
			t.Fatalf("table %q lacks its head or its final line", got)
		}
		body := got[len(head) : len(got)-1]
		shown := 0
		for shown < rows && strings.HasPrefix(body, fmt.Sprintf("%d%s", shown, row)) {
			body = body[len(fmt.Sprintf("%d%s", shown, row)):]
			shown++
		}
		if shown < rows && body != more(rows-shown) {
			t.Fatalf("%d of %d rows shown, then %q; want %q", shown, rows, body, more(rows-shown))
		}
	})
}
