// Package mdtext shows untrusted text — names from directory names, object
// names and diff lines from manifests — in GitHub Markdown (pull request
// comments, step summaries) as text: it can never end a table cell, a code
// span, a <details> block or an HTML comment, start a heading, hide what
// follows, or read differently from what it is.
//
// Every function first makes invisible characters visible (Visible): a
// character that renders as nothing, reorders the text around it (bidi
// controls, the "Trojan Source" attack) or breaks the line is shown as
// <U+XXXX>, an invalid UTF-8 byte as <0xNN>. Names (Name) also show the
// non-ASCII letters of a name that mixes them with ASCII ones, so that
// "саrt" (Cyrillic а and с) cannot pass for "cart".
package mdtext

import (
	"fmt"
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

// invisible reports whether r renders as nothing or changes how the text
// around it renders: control characters, format characters (bidi
// embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069, the
// zero-width characters U+200B–U+200D and U+2060, U+FEFF, soft hyphen),
// line and paragraph separators, and the default-ignorable code points
// (Hangul fillers, U+034F, ...).
func invisible(r rune) bool {
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) ||
		unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}

// codePoint writes r as <U+XXXX>.
func codePoint(b *strings.Builder, r rune) {
	fmt.Fprintf(b, "<U+%04X>", r)
}

// Visible returns s with every invisible character (see the package
// documentation) shown as <U+XXXX> and every byte of invalid UTF-8 as
// <0xNN>, except the characters listed in keep ("\n\t" for the text of a
// code block). Text without such characters comes back unchanged.
func Visible(s, keep string) string {
	return visible(s, keep, false)
}

// Name is Visible for a name, with nothing kept, and with the look-alike
// characters of a name that mixes ASCII letters with them shown as code
// points too: letters of the scripts whose letters pass for Latin ones
// (Latin beyond ASCII, Greek, Cyrillic, Armenian, Cherokee, Coptic, Lisu),
// fullwidth forms, letterlike symbols (U+212A KELVIN SIGN), mathematical
// alphanumerics, variation selectors and spaces other than U+0020. A name
// in one non-Latin script alone (日本, сервис) stays readable.
func Name(s string) string {
	return visible(s, "", mixesASCII(s))
}

func visible(s, keep string, lookalikes bool) string {
	if !needsWork(s, keep, lookalikes) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, "<0x%02X>", s[i])
		case strings.ContainsRune(keep, r):
			b.WriteRune(r)
		case invisible(r) || lookalikes && lookalike(r):
			codePoint(&b, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// needsWork is the fast path: most text has nothing to show.
func needsWork(s, keep string, lookalikes bool) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return true
		}
		if (invisible(r) || lookalikes && lookalike(r)) && !strings.ContainsRune(keep, r) {
			return true
		}
		i += size
	}
	return false
}

func mixesASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			return true
		}
	}
	return false
}

var lookalikeScripts = []*unicode.RangeTable{
	unicode.Latin, unicode.Greek, unicode.Cyrillic, unicode.Armenian,
	unicode.Cherokee, unicode.Coptic, unicode.Lisu, unicode.Variation_Selector,
}

// lookalike reports whether r, beside ASCII letters, may pass for one.
func lookalike(r rune) bool {
	switch {
	case r < utf8.RuneSelf:
		return false
	case unicode.Is(unicode.Zs, r), // NO-BREAK SPACE and the other spaces
		r >= 0xFF00 && r <= 0xFFEF,   // halfwidth and fullwidth forms
		r >= 0x2100 && r <= 0x214F,   // letterlike symbols
		r >= 0x1D400 && r <= 0x1D7FF: // mathematical alphanumerics
		return true
	}
	return unicode.In(r, lookalikeScripts...)
}

// Code shows s as an inline code span, safe anywhere in a line of Markdown
// but a table cell (use Cell there): the delimiter is a run of backticks
// longer than any in s, so s can never end the span, and nothing in a
// code span is Markdown or HTML.
func Code(s string) string {
	s = Name(s)
	delim := strings.Repeat("`", longestRun(s, '`')+1)
	// CommonMark strips one space from each end of a code span that has
	// both, and a backtick at either end would join the delimiter.
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") ||
		strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ") && strings.Trim(s, " ") != "" {
		s = " " + s + " "
	}
	if s == "" {
		s = " "
	}
	return delim + s + delim
}

// Cell is Code for a table cell: a pipe ends a cell even inside a code
// span, unless escaped (GitHub removes the backslash).
func Cell(s string) string {
	return strings.ReplaceAll(Code(s), "|", `\|`)
}

// HTML escapes s for the text of an HTML element (<summary>, <code>):
// "<!--", "</details>" and every other tag become text, and Name keeps the
// line whole (an HTML block ends at a blank line, and Markdown resumes).
func HTML(s string) string {
	return html.EscapeString(Name(s))
}

// Text escapes s as literal inline Markdown (a heading, a sentence): every
// ASCII punctuation character is backslash-escaped, as CommonMark allows,
// so no emphasis, link, HTML, heading or table syntax survives, and Name
// keeps it on one line.
func Text(s string) string {
	s = Name(s)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(asciiPunctuation, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// asciiPunctuation is what CommonMark lets a backslash escape.
const asciiPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

// Block returns the text of a fenced code block with its invisible
// characters made visible (line feeds and tabs kept), and a fence the
// text can never close.
func Block(s string) (text, fence string) {
	text = Visible(s, "\n\t")
	return text, strings.Repeat("`", max(3, longestRun(text, '`')+1))
}

func longestRun(s string, c byte) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}

// Table writes a Markdown table in at most budget bytes: head (the header
// and separator lines), then the n rows row(i) returns while they fit, then
// more(rest) in place of the rows that do not (GitHub caps a step summary
// at 1 MiB and a comment at 65,536 characters). The table ends with a
// blank line. It is never longer than budget: when neither the whole
// table nor head and more(n) fit, it is empty.
func Table(head string, n int, row func(i int) string, more func(rest int) string, budget int) string {
	var b strings.Builder
	b.WriteString(head)
	for i := 0; i < n; i++ {
		r := row(i)
		need := b.Len() + len(r) + 1
		if left := n - i - 1; left > 0 {
			need += len(more(left))
		}
		if need > budget {
			b.WriteString(more(n - i))
			break
		}
		b.WriteString(r)
	}
	b.WriteString("\n")
	if b.Len() > budget { // only when the first row gave way to a count that does not fit either
		return ""
	}
	return b.String()
}
