package gitfs

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// FuzzParseEntry checks that an ls-tree -l -z record parses back into
// what it was made of, whatever the path holds, and that no input panics.
func FuzzParseEntry(fz *testing.F) {
	fz.Add(uint32(modeFile), "78981922613b2afb6025042ff6bd878ac1994e85", int64(2), "a\tb\nc/..d: e (f)")
	fz.Add(uint32(modeTree), "4b825dc642cb6eb9a060e54bf8d69288fbee4904", int64(-1), "dir")
	fz.Add(uint32(modeGitlink), "0123456789abcdef0123456789abcdef01234567", int64(-1), "-sub")
	fz.Fuzz(func(t *testing.T, mode uint32, oid string, size int64, path string) {
		sz := "-"
		if size >= 0 {
			sz = fmt.Sprint(size)
		}
		rec := fmt.Sprintf("%06o blob %s %7s\t%s", mode, oid, sz, path)
		p, n, err := parseEntry([]byte(rec))
		valid := oid != "" && !strings.ContainsAny(oid, " \t\n\v\f\r\x85\xa0") && path != "" && mode <= 0o37777777777
		if !valid || strings.ContainsFunc(oid, func(r rune) bool { return r > 0x7f }) {
			return // a record git would not write; it need only not panic
		}
		if err != nil {
			t.Fatalf("parseEntry(%q): %v", rec, err)
		}
		if p != path || n.mode != mode || n.oid != oid || n.size != max(size, -1) {
			t.Errorf("parseEntry(%q) = %q, %+v", rec, p, n)
		}
	})
}

// FuzzAnswer feeds cat-file answers, real and broken, to the reader of
// answers: it must return the declared bytes or an error, never panic, and
// never allocate more than what arrived for a size that lies.
func FuzzAnswer(fz *testing.F) {
	const oid = "78981922613b2afb6025042ff6bd878ac1994e85"
	fz.Add([]byte(oid + " blob 2\na\n\n"))
	fz.Add([]byte(oid + " missing\n"))
	fz.Add([]byte(oid + " tree 0\n\n"))
	fz.Add([]byte(oid + " blob 99999999999999\nshort"))
	fz.Add([]byte(oid + " blob 2\na"))
	fz.Fuzz(func(t *testing.T, in []byte) {
		p := &catProc{r: bufio.NewReader(bytes.NewReader(in))}
		a, err := p.answer(oid)
		if err != nil || a.err != nil {
			return
		}
		header, _, _ := bytes.Cut(in, []byte{'\n'})
		var size int
		if _, err := fmt.Sscanf(string(bytes.Fields(header)[2]), "%d", &size); err != nil || len(a.data) != size {
			t.Errorf("answer(%q) = %d bytes, header says %q", in, len(a.data), header)
		}
	})
}
