package mdtext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// hostile are names and object names a pull request can choose.
var hostile = []string{
	"cart\n\n<!--",
	"x</details>\n\n# forged heading",
	"a|b`c``d",
	"::add-mask::secret",
	"${{ github.token }}",
	"evil\u202e\u2066txt.exe\u2069",
	"ca\u200brt",
	"саrt",      // Cyrillic с and а
	"\u212aube", // KELVIN SIGN
	"prod\r::notice::x",
	"line\u2028sep",
	"bad\xffutf8",
	"`",
	" padded ",
	"",
}

func TestVisible(t *testing.T) {
	for _, tc := range []struct{ in, keep, want string }{
		{"plain text", "", "plain text"},
		{"日本 сервис ünïcode", "", "日本 сервис ünïcode"},
		{"a\u202eb", "", "a<U+202E>b"},
		{"\u2066x\u2069", "", "<U+2066>x<U+2069>"},
		{"zero\u200bwidth\ufeff", "", "zero<U+200B>width<U+FEFF>"},
		{"two\nlines\ttab", "", "two<U+000A>lines<U+0009>tab"},
		{"two\nlines\ttab\r", "\n\t", "two\nlines\ttab<U+000D>"},
		{"hangul\u3164filler", "", "hangul<U+3164>filler"},
		{"bad\xff", "", "bad<0xFF>"},
	} {
		if got := Visible(tc.in, tc.keep); got != tc.want {
			t.Errorf("Visible(%q, %q) = %q, want %q", tc.in, tc.keep, got, tc.want)
		}
	}
}

func TestNameShowsLookalikes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"cart", "cart"},
		{"саrt", "<U+0441><U+0430>rt"},
		{"\u212aube", "<U+212A>ube"},
		{"ｃart", "<U+FF43>art"},
		{"cart\u00a0", "cart<U+00A0>"},
		{"日本", "日本"},
		{"сервис", "сервис"},
		{"日本-prod", "日本-prod"},
	} {
		if got := Name(tc.in); got != tc.want {
			t.Errorf("Name(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if Name("саrt") == Name("cart") {
		t.Error("a look-alike name reads the same as the real one")
	}
}

func TestCell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"cart", "`cart`"},
		{"a|b", "`a\\|b`"},
		{"a`b", "``a`b``"},
		{"`x", "`` `x ``"},
		{" x ", "`  x  `"},
		{"", "` `"},
		{"x\n<!--", "`x<U+000A><!--`"},
	} {
		if got := Cell(tc.in); got != tc.want {
			t.Errorf("Cell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, s := range hostile {
		checkCell(t, s, Cell(s))
	}
}

// checkCell holds a table cell to what must be true whatever the name: one
// line, every pipe escaped, one code span whose delimiter appears nowhere
// inside it.
func checkCell(t *testing.T, in, got string) {
	t.Helper()
	if strings.ContainsAny(got, "\r\n\u2028\u2029\u0085") || !utf8.ValidString(got) {
		t.Errorf("Cell(%q) = %q breaks the line or is not UTF-8", in, got)
	}
	for i := 0; i < len(got); i++ {
		if got[i] == '|' && (i == 0 || got[i-1] != '\\') {
			t.Errorf("Cell(%q) = %q has an unescaped pipe", in, got)
		}
	}
	n := 0
	for n < len(got) && got[n] == '`' {
		n++
	}
	delim := strings.Repeat("`", n)
	inner := strings.TrimSuffix(got[n:], delim)
	if n == 0 || !strings.HasSuffix(got, delim) || strings.Contains(inner, delim) {
		t.Errorf("Cell(%q) = %q is not one code span", in, got)
	}
}

func TestHTML(t *testing.T) {
	for _, s := range hostile {
		got := HTML(s)
		if strings.ContainsAny(got, "<>\r\n\u2028\u2029") {
			t.Errorf("HTML(%q) = %q keeps markup or a line break", s, got)
		}
		if strings.ContainsRune(got, '\u202e') || strings.ContainsRune(got, '\u200b') {
			t.Errorf("HTML(%q) = %q keeps an invisible character", s, got)
		}
	}
	if got, want := HTML("x</details>\n\n# h"), "x&lt;/details&gt;&lt;U+000A&gt;&lt;U+000A&gt;# h"; got != want {
		t.Errorf("HTML = %q, want %q", got, want)
	}
}

func TestText(t *testing.T) {
	if got, want := Text("diff apps/x: 2 change(s)"), `diff apps\/x\: 2 change\(s\)`; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	for _, s := range hostile {
		got := Text(s)
		if strings.ContainsAny(got, "\r\n\u2028\u2029") {
			t.Errorf("Text(%q) = %q breaks the line", s, got)
		}
		for i := 0; i < len(got); i++ {
			if strings.IndexByte(asciiPunctuation, got[i]) >= 0 && got[i] != '\\' && (i == 0 || got[i-1] != '\\') {
				t.Errorf("Text(%q) = %q leaves %q unescaped at %d", s, got, got[i], i)
				break
			}
		}
	}
}

func TestBlock(t *testing.T) {
	text, fence := Block("+ a: ```x````\n+ b: \u202eevil\r\n")
	if want := "+ a: ```x````\n+ b: <U+202E>evil<U+000D>\n"; text != want {
		t.Errorf("text = %q, want %q", text, want)
	}
	if fence != "`````" {
		t.Errorf("fence = %q, want five backticks", fence)
	}
	if _, fence := Block("plain\n"); fence != "```" {
		t.Errorf("fence = %q, want three backticks", fence)
	}
}

// FuzzCell: whatever the name, its cell is one code span on one line.
func FuzzCell(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkCell(t, s, Cell(s))
		if h := HTML(s); strings.ContainsAny(h, "<>\n\r") {
			t.Fatalf("HTML(%q) = %q", s, h)
		}
	})
}
