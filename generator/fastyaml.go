package generator

import (
	"bytes"
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
)

// fastUnmarshal decodes a kustomization exactly as types.Kustomization's
// Unmarshal does — YAML to JSON (sigs.k8s.io/yaml, on yaml.v2), then a JSON
// decode that rejects unknown fields — when the file keeps to the usual
// shape of a kustomization: block mappings and sequences of plain or simply
// quoted scalars, full-line or trailing comments. Parsing that YAML is most
// of the cost of a scan of a big monorepo, and yaml.v2 spends ~70µs on a
// 300-byte kustomization. fastYAML builds the very tree yaml.v2 would (with
// its YAML 1.1 scalar resolution) and the JSON step is kustomize's. It
// reports false, leaving the decision to kustomize's Unmarshal, for
// anything else (flow style, block scalars, anchors, tags, tabs, non-ASCII,
// floats, timestamps, duplicate keys, multi-line scalars, several
// documents) and for any decode error, so that error messages are
// kustomize's own.
func fastUnmarshal(data []byte, kt *types.Kustomization) bool {
	tree, ok := fastYAML(data)
	if !ok {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(appendJSON(make([]byte, 0, 2*len(data)), tree)))
	dec.DisallowUnknownFields()
	// Into kt directly: on failure, kustomize's Unmarshal replaces all of it.
	return dec.Decode(kt) == nil
}

// yline is one line of YAML holding content: its indentation and the rest.
type yline struct {
	indent int
	text   string
}

// fastYAML parses the block-style YAML subset of fastUnmarshal into the
// tree sigs.k8s.io/yaml makes of yaml.v2's: map[string]any for mappings,
// []any for sequences, string, int, uint64, bool or nil for scalars. The
// document must be a mapping.
func fastYAML(data []byte) (map[string]any, bool) {
	lines := make([]yline, 0, bytes.Count(data, []byte{'\n'})+1)
	s := string(data)
	for first := true; len(s) > 0; {
		l := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			l, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; c < 0x20 || c >= 0x7f {
				return nil, false // tabs, CR, control characters, non-ASCII
			}
		}
		t := strings.TrimLeft(l, " ")
		indent := len(l) - len(t)
		t = strings.TrimRight(t, " ")
		if t == "" || t[0] == '#' {
			continue
		}
		if indent == 0 && (strings.HasPrefix(t, "---") || strings.HasPrefix(t, "...") || t[0] == '%') {
			if first && t == "---" {
				first = false
				continue
			}
			return nil, false // directives, several documents
		}
		first = false
		lines = append(lines, yline{indent, t})
	}
	if len(lines) == 0 || isSeqItem(lines[0].text) {
		return nil, false
	}
	p := &yparser{lines: lines}
	m, ok := p.mapping(lines[0].indent)
	if !ok || p.i != len(lines) {
		return nil, false
	}
	return m, true
}

type yparser struct {
	lines []yline
	i     int
}

func isSeqItem(t string) bool { return t == "-" || strings.HasPrefix(t, "- ") }

// node parses the node starting at the current line, indented by ind.
func (p *yparser) node(ind int) (any, bool) {
	t := p.lines[p.i].text
	if isSeqItem(t) {
		return p.sequence(ind)
	}
	if _, _, ok := splitKey(t); ok {
		return p.mapping(ind)
	}
	p.i++
	return scalar(t)
}

// mapping parses a block mapping whose keys are indented by ind. A value on
// the key's line must be a scalar; below it, anything more indented, or a
// sequence at the key's own indentation.
func (p *yparser) mapping(ind int) (map[string]any, bool) {
	m := map[string]any{}
	for p.i < len(p.lines) && p.lines[p.i].indent == ind {
		key, rest, ok := splitKey(p.lines[p.i].text)
		if !ok {
			return nil, false
		}
		if _, dup := m[key]; dup {
			return nil, false
		}
		p.i++
		var v any
		if rest != "" {
			if v, ok = scalar(rest); !ok {
				return nil, false
			}
		} else if p.i < len(p.lines) {
			if next := p.lines[p.i]; next.indent > ind || next.indent == ind && isSeqItem(next.text) {
				if v, ok = p.node(next.indent); !ok {
					return nil, false
				}
			}
		}
		m[key] = v
	}
	// A line indented more than the keys but not below one (a multi-line
	// scalar, say) is beyond this parser.
	return m, p.i == len(p.lines) || p.lines[p.i].indent < ind
}

// sequence parses a block sequence whose dashes are indented by ind. An
// entry on the dash's line is parsed as a node indented to where it starts.
func (p *yparser) sequence(ind int) ([]any, bool) {
	s := []any{}
	for p.i < len(p.lines) && p.lines[p.i].indent == ind && isSeqItem(p.lines[p.i].text) {
		t := p.lines[p.i].text
		rest := strings.TrimLeft(t[1:], " ")
		var v any
		ok := true
		if rest == "" || rest[0] == '#' {
			p.i++
			if p.i < len(p.lines) && p.lines[p.i].indent > ind {
				v, ok = p.node(p.lines[p.i].indent)
			}
		} else {
			col := ind + len(t) - len(rest)
			p.lines[p.i] = yline{col, rest}
			v, ok = p.node(col)
		}
		if !ok {
			return nil, false
		}
		s = append(s, v)
	}
	return s, p.i == len(p.lines) || p.lines[p.i].indent < ind
}

// splitKey splits "key: rest" or "key:", where key is a plain scalar that
// yaml.v2 resolves to itself (letters, digits, _ . - /, starting with a
// letter or _, and no YAML 1.1 boolean or null), and rest has its comment
// removed.
func splitKey(t string) (key, rest string, ok bool) {
	i := 0
	for ; i < len(t); i++ {
		c := t[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '/')) {
			break
		}
	}
	if i == 0 || i > 128 || i == len(t) || t[i] != ':' || i+1 < len(t) && t[i+1] != ' ' {
		return "", "", false
	}
	key = t[:i]
	if _, special := yamlWords[key]; special {
		return "", "", false
	}
	rest = strings.TrimLeft(t[i+1:], " ")
	if strings.HasPrefix(rest, "#") {
		rest = ""
	}
	return key, rest, true
}

// scalar parses a scalar that takes the rest of its line: quoted (on one
// line, without escapes) or plain, with a trailing comment.
func scalar(t string) (any, bool) {
	switch t[0] {
	case '\'', '"':
		q := t[0]
		var b strings.Builder
		i := 1
		for ; i < len(t); i++ {
			if t[i] == '\\' && q == '"' {
				return nil, false
			}
			if t[i] == q {
				if q == '\'' && i+1 < len(t) && t[i+1] == '\'' {
					b.WriteByte(q) // '' is a quote in a single-quoted scalar
					i++
					continue
				}
				break
			}
			b.WriteByte(t[i])
		}
		if i >= len(t) {
			return nil, false // not closed on this line
		}
		if after := strings.TrimLeft(t[i+1:], " "); after != "" && (after[0] != '#' || len(after) == len(t[i+1:])) {
			return nil, false
		}
		return b.String(), true
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '%', '@', '`', '?', ':':
		return nil, false // flow style, anchors, aliases, tags, block scalars, reserved
	}
	if i := strings.Index(t, " #"); i >= 0 {
		t = strings.TrimRight(t[:i], " ")
	}
	if t == "-" || strings.HasPrefix(t, "- ") || strings.Contains(t, ": ") || strings.HasSuffix(t, ":") {
		return nil, false
	}
	return resolvePlain(t)
}

// yamlWords are the plain scalars yaml.v2 resolves by name (YAML 1.1):
// booleans and nulls are decoded; the floats and the merge key are beyond
// fastYAML (nil with ok false).
var yamlWords = func() map[string]any {
	m := map[string]any{}
	for v, words := range map[any][]string{
		true:  {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"},
		false: {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"},
		"":    {".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", "<<"},
	} {
		for _, w := range words {
			m[w] = v
		}
	}
	for _, w := range []string{"", "~", "null", "Null", "NULL"} {
		m[w] = nil
	}
	return m
}()

// yamlStyleFloat is yaml.v2's pattern for a float.
var yamlStyleFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// resolvePlain resolves a plain scalar as yaml.v2's resolve does, giving up
// (ok false) where it would make a float or a timestamp.
func resolvePlain(in string) (any, bool) {
	if v, ok := yamlWords[in]; ok {
		return v, v != ""
	}
	switch c := in[0]; {
	case c == '.':
		if _, err := strconv.ParseFloat(in, 64); err == nil {
			return nil, false
		}
	case c == '+' || c == '-' || c >= '0' && c <= '9':
		if len(in) > 4 && in[4] == '-' && strings.Trim(in[:4], "0123456789") == "" {
			return nil, false // perhaps a timestamp
		}
		plain := strings.ReplaceAll(in, "_", "")
		if v, err := strconv.ParseInt(plain, 0, 64); err == nil {
			if v == int64(int(v)) {
				return int(v), true
			}
			return v, true
		}
		if v, err := strconv.ParseUint(plain, 0, 64); err == nil {
			return v, true
		}
		if yamlStyleFloat.MatchString(plain) || strings.HasPrefix(plain, "0b") || strings.HasPrefix(plain, "-0b") {
			return nil, false
		}
	}
	return in, true
}

// appendJSON writes a fastYAML tree as encoding/json's Marshal does (map
// keys sorted, <, > and & escaped), without its reflection.
func appendJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSON(b, v[k])
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case string:
		return appendJSONString(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case uint64:
		return strconv.AppendUint(b, v, 10)
	case bool:
		return strconv.AppendBool(b, v)
	}
	return append(b, "null"...)
}

// appendJSONString quotes a string of printable ASCII (all fastYAML
// admits) as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '<':
			b = append(b, `\u003c`...)
		case '>':
			b = append(b, `\u003e`...)
		case '&':
			b = append(b, `\u0026`...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
