package render

import (
	"regexp"
	"strconv"
	"strings"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// Masked values of Secrets. kubectl diff masks Secret data itself, but not
// the last-applied-configuration annotation (a whole copy of the Secret as
// a client-side apply last wrote it) nor managed fields; and the diffs
// kustomatrix makes on its own (render mode, objects whose namespace does
// not exist yet) are not kubectl's. Whatever reaches logs, step summaries
// and pull request comments is masked here.
const (
	maskSame   = "*** (masked)"
	maskBefore = "*** (masked, before)"
	maskAfter  = "*** (masked, after)"
)

// LastApplied is the annotation in which kubectl apply (client-side) keeps
// the whole object it last applied, Secret data included.
const LastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// IsSecret reports whether o is a core Secret, whose values are masked.
func IsSecret(o Object) bool { return o.Kind == "Secret" && o.APIVersion == "v1" }

// MaskSecret returns the object with every Secret value replaced — data,
// stringData, the last-applied-configuration annotation and managed
// fields: by a plain mask, or, when other (the same Secret on the other
// side of a diff) holds a different value there, by a mask saying which
// side this is, so a diff still shows that a value changed without showing
// it.
func MaskSecret(o Object, other *Object, after bool) Object {
	if !IsSecret(o) {
		return o
	}
	node, err := kyaml.Parse(string(o.YAML))
	if err != nil {
		o.YAML = []byte("# a Secret that does not parse; not shown\n")
		return o
	}
	theirs := map[string]string{}
	if other != nil {
		theirs = secretValues(*other)
	}
	mask := func(key string, v *kyaml.RNode) {
		m := maskSame
		if theirV, ok := theirs[key]; other != nil && (!ok || theirV != valueOf(v)) {
			m = maskBefore
			if after {
				m = maskAfter
			}
		}
		*v.YNode() = kyaml.Node{Kind: kyaml.ScalarNode, Tag: "!!str", Value: m}
	}
	for _, field := range []string{"data", "stringData"} {
		m := node.Field(field)
		if m == nil || m.Value == nil {
			continue
		}
		_ = m.Value.VisitFields(func(f *kyaml.MapNode) error {
			mask(field+"/"+f.Key.YNode().Value, f.Value)
			return nil
		})
	}
	if a, err := node.Pipe(kyaml.Lookup("metadata", "annotations", LastApplied)); err == nil && a != nil {
		mask("lastApplied", a)
	}
	if mf, err := node.Pipe(kyaml.Lookup("metadata", "managedFields")); err == nil && mf != nil {
		mask("managedFields", mf)
	}
	s, err := node.String()
	if err != nil {
		o.YAML = []byte("# a Secret that does not print; not shown\n")
		return o
	}
	o.YAML = []byte(s)
	return o
}

// secretValues returns what MaskSecret masks in a Secret, keyed by field.
func secretValues(o Object) map[string]string {
	out := map[string]string{}
	node, err := kyaml.Parse(string(o.YAML))
	if err != nil {
		return out
	}
	for _, field := range []string{"data", "stringData"} {
		m := node.Field(field)
		if m == nil || m.Value == nil {
			continue
		}
		_ = m.Value.VisitFields(func(f *kyaml.MapNode) error {
			out[field+"/"+f.Key.YNode().Value] = valueOf(f.Value)
			return nil
		})
	}
	if a, err := node.Pipe(kyaml.Lookup("metadata", "annotations", LastApplied)); err == nil && a != nil {
		out["lastApplied"] = valueOf(a)
	}
	if mf, err := node.Pipe(kyaml.Lookup("metadata", "managedFields")); err == nil && mf != nil {
		out["managedFields"] = valueOf(mf)
	}
	return out
}

// valueOf is a node as text: a scalar's value, anything else printed.
func valueOf(n *kyaml.RNode) string {
	if n.YNode().Kind == kyaml.ScalarNode {
		return n.YNode().Value
	}
	s, _ := n.String()
	return s
}

// MaskDiff masks the values of a unified diff of a Secret's YAML — kubectl
// diff's output for it, or a diff kustomatrix made — line by line: its
// data and stringData values, the last-applied-configuration annotation
// (the whole object as a client-side apply wrote it, Secret data
// included) and its managed fields. A hunk shows only a few lines of
// context, so a line whose place in the object the hunk does not show
// (the hunk starts inside a map) has its value masked too: only values
// the diff proves to be elsewhere (metadata.name, labels, ...) stay.
// Keys stay, so the diff still says what changed. The result has the same
// lines, so hunk headers stay true.
func MaskDiff(diff []byte) []byte {
	var out strings.Builder
	var old, cur yamlTrack // the two sides: ' ' and '-' lines, ' ' and '+' lines
	left := [2]int{}       // lines of the current hunk still to come, each side
	for _, line := range strings.SplitAfter(string(diff), "\n") {
		if line == "" {
			continue // after the last newline
		}
		body, _ := strings.CutSuffix(line, "\n")
		nl := line[len(body):]
		if left[0] == 0 && left[1] == 0 {
			// Between hunks: headers, and nothing of the object.
			if n, ok := hunkHeader(body); ok {
				left, old, cur = n, yamlTrack{cont: -1}, yamlTrack{cont: -1}
			} else if body != "" && !strings.HasPrefix(body, "--- ") && !strings.HasPrefix(body, "+++ ") &&
				!strings.HasPrefix(body, "diff ") && !strings.HasPrefix(body, `\`) {
				body = "***" // not a diff line: shown as nothing
			}
			out.WriteString(body + nl)
			continue
		}
		if strings.HasPrefix(body, `\`) {
			out.WriteString(line) // "\ No newline at end of file"
			continue
		}
		if body == "" {
			body = " " // some tools drop the space of an empty context line
		}
		side, text := body[0], body[1:]
		switch side {
		case '-':
			text = old.mask(text, maskBefore)
			left[0]--
		case '+':
			text = cur.mask(text, maskAfter)
			left[1]--
		case ' ':
			a, b := old.mask(text, maskSame), cur.mask(text, maskSame)
			if text = a; b != body[1:] {
				text = b
			}
			left[0]--
			left[1]--
		default: // not a line of a unified diff: shown as nothing
			side, text = '*', "**"
			left[0]--
			left[1]--
		}
		left = [2]int{max(0, left[0]), max(0, left[1])}
		out.WriteString(string(side) + text + nl)
	}
	return []byte(out.String())
}

var hunkRe = regexp.MustCompile(`^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@`)

// hunkHeader reads "@@ -l,s +l,s @@": how many lines of each side follow.
func hunkHeader(l string) ([2]int, bool) {
	m := hunkRe.FindStringSubmatch(l)
	if m == nil {
		return [2]int{}, false
	}
	n := [2]int{1, 1}
	for i, s := range m[1:] {
		if s != "" {
			n[i], _ = strconv.Atoi(s)
		}
	}
	return n, true
}

// yamlTrack follows the structure of one side of a diff of block-style YAML
// (as kubectl and kyaml print it) well enough to know which top-level key
// and which annotation a line belongs to.
type yamlTrack struct {
	stack   []yamlKey // open keys, outermost first
	rooted  bool      // a top-level key was seen since the hunk started
	cont    int       // lines indented more than this continue a scalar (-1: none)
	contMsk bool      // and are masked
}

type yamlKey struct {
	indent int
	key    string
}

var simpleKey = regexp.MustCompile(`^("[^"]*"|'[^']*'|[A-Za-z0-9_./:-]*[A-Za-z0-9_./-])(:)(?: (.*))?$`)

// mask returns a line of YAML with its value masked when it is secret or
// its place unknown; mask is the text that replaces a value.
func (t *yamlTrack) mask(line, mask string) string {
	trimmed := strings.TrimLeft(line, " ")
	indent := len(line) - len(trimmed)
	if strings.TrimSpace(trimmed) == "" {
		return line
	}
	if t.cont >= 0 && indent > t.cont {
		if t.contMsk {
			return line[:indent] + "***"
		}
		return line
	}
	t.cont = -1
	item := ""
	for strings.HasPrefix(trimmed, "- ") || trimmed == "-" {
		// A sequence item: what follows it is indented past the dash.
		item += trimmed[:min(2, len(trimmed))]
		trimmed = strings.TrimPrefix(strings.TrimPrefix(trimmed, "-"), " ")
	}
	for len(t.stack) > 0 && (t.stack[len(t.stack)-1].indent > indent || t.stack[len(t.stack)-1].indent == indent && item == "") {
		t.stack = t.stack[:len(t.stack)-1]
	}
	if indent == 0 && item == "" {
		t.rooted = true
	}
	prefix := line[:indent] + item
	m := simpleKey.FindStringSubmatch(trimmed)
	if m == nil {
		// A scalar, a flow collection or a line of a scalar the hunk
		// starts inside of.
		if t.secret() {
			return prefix + "***"
		}
		return line
	}
	key, value := strings.Trim(m[1], `"'`), m[3]
	t.stack = append(t.stack, yamlKey{indent: indent + len(item), key: key})
	secret := t.secret()
	if value != "" && !strings.HasPrefix(value, "#") {
		t.cont, t.contMsk = indent+len(item), secret
		if !secret {
			return line
		}
		if strings.HasPrefix(value, "|") || strings.HasPrefix(value, ">") {
			return prefix + m[1] + ": " + value // a block scalar's header; its lines follow
		}
		return prefix + m[1] + ": '" + mask + "'"
	}
	return line
}

// secret says whether the value at the top of the stack is masked.
func (t *yamlTrack) secret() bool {
	if !t.rooted || len(t.stack) == 0 || t.stack[0].indent != 0 {
		return true // the hunk does not show where this is
	}
	path := make([]string, len(t.stack))
	for i, k := range t.stack {
		path[i] = k.key
	}
	switch {
	case path[0] == "data" || path[0] == "stringData":
		return true
	case path[0] != "metadata" || len(path) < 2:
		return false
	case path[1] == "managedFields":
		return true
	case path[1] == "annotations" && len(path) >= 3:
		return path[2] == LastApplied
	}
	return false
}
