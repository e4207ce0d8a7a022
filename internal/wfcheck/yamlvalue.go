package wfcheck

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxYAMLNodes bounds alias expansion ("billion laughs") while converting a document.
const maxYAMLNodes = 1_000_000

// position is a 1-based line and column in a YAML file.
type position struct{ line, col int }

// yamlDoc is a parsed YAML file: the root node, the JSON-compatible value the schemas validate,
// and the source position of every JSON pointer in that value (the key's position for mapping
// entries), so that schema errors can be reported at a line and column.
type yamlDoc struct {
	root  *yaml.Node
	value any
	pos   map[string]position
}

// yamlLineRE extracts the line number from yaml.v3 syntax errors ("yaml: line 3: ...").
var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// parseYAML parses src into a yamlDoc. YAML problems are returned as findings, not errors,
// because a broken generated file is exactly what the caller's test must report.
//
// The conversion walks yaml.Node itself instead of decoding into interface{}: yaml.v3 decodes
// nested timestamps to time.Time, non-string keys to map[interface{}]interface{} and big integers
// or .inf to float64 values, none of which the JSON schema validator accepts as JSON.
func parseYAML(relPath string, src []byte) (*yamlDoc, []Finding) {
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		line := 0
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		return nil, []Finding{{Path: relPath, Line: line, Message: err.Error(), Kind: KindYAML}}
	}
	c := &converter{path: relPath, pos: map[string]position{"": {1, 1}}}
	doc := &yamlDoc{root: &root, pos: c.pos}
	if root.Kind == 0 { // empty file
		return doc, nil
	}
	body := root.Content[0]
	c.pos[""] = position{body.Line, body.Column}
	doc.value = c.convert(body, "")
	return doc, c.findings
}

// converter turns yaml.Node trees into JSON-compatible values (map[string]any, []any, string,
// bool, json.Number, nil) while recording positions.
type converter struct {
	path     string
	pos      map[string]position
	findings []Finding
	nodes    int
}

// convert converts n, whose JSON pointer is ptr.
func (c *converter) convert(n *yaml.Node, ptr string) any {
	c.nodes++
	if c.nodes > maxYAMLNodes {
		c.report(n, "YAML document expands to too many nodes (alias bomb?)")
		return nil
	}
	switch n.Kind {
	case yaml.AliasNode:
		return c.convert(n.Alias, ptr)
	case yaml.DocumentNode:
		return c.convert(n.Content[0], ptr)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			p := ptr + "/" + strconv.Itoa(i)
			c.pos[p] = position{item.Line, item.Column}
			out = append(out, c.convert(item, p))
		}
		return out
	case yaml.MappingNode:
		out := map[string]any{}
		c.convertMapping(n, ptr, out, true)
		return out
	default:
		return scalarValue(n)
	}
}

// convertMapping adds the entries of mapping n to out. Explicit keys win over keys merged in with
// "<<", as YAML specifies; explicit duplicates are reported because GitHub rejects them.
func (c *converter) convertMapping(n *yaml.Node, ptr string, out map[string]any, explicit bool) {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if _, dup := out[k.Value]; dup {
			if explicit {
				c.report(k, fmt.Sprintf("key %q is duplicated", k.Value))
			}
			continue
		}
		p := ptr + "/" + escapePointer(k.Value)
		c.pos[p] = position{k.Line, k.Column}
		out[k.Value] = c.convert(v, p)
	}
	for _, m := range merges {
		c.merge(m, ptr, out)
	}
}

// merge applies the value of a "<<" key: a mapping or a sequence of mappings.
func (c *converter) merge(m *yaml.Node, ptr string, out map[string]any) {
	for m.Kind == yaml.AliasNode {
		m = m.Alias
	}
	switch m.Kind {
	case yaml.MappingNode:
		c.convertMapping(m, ptr, out, false)
	case yaml.SequenceNode:
		for _, item := range m.Content {
			c.merge(item, ptr, out)
		}
	default:
		c.report(m, "value of merge key \"<<\" must be a mapping or a sequence of mappings")
	}
}

// report records a YAML finding at node n.
func (c *converter) report(n *yaml.Node, msg string) {
	c.findings = append(c.findings, Finding{Path: c.path, Line: n.Line, Col: n.Column, Message: msg, Kind: KindYAML})
}

// scalarValue converts a scalar by its resolved tag. Numbers become json.Number so no precision
// is lost; values that JSON cannot represent (timestamps, binary, .inf, .nan) stay strings.
func scalarValue(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err == nil {
			return b
		}
	case "!!int":
		var v any
		if err := n.Decode(&v); err == nil {
			switch v.(type) {
			case int, int64, uint64:
				return json.Number(fmt.Sprint(v))
			}
		}
	case "!!float":
		var f float64
		if err := n.Decode(&f); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
	}
	return n.Value
}

// escapePointer escapes one JSON pointer token (RFC 6901).
func escapePointer(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// pointer joins unescaped JSON pointer tokens, as found in jsonschema's InstanceLocation.
func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(escapePointer(t))
	}
	return b.String()
}

// lookup returns the position recorded for ptr, falling back to the nearest recorded ancestor.
func (d *yamlDoc) lookup(ptr string) position {
	for {
		if p, ok := d.pos[ptr]; ok {
			return p
		}
		i := strings.LastIndexByte(ptr, '/')
		if i < 0 {
			return position{1, 1}
		}
		ptr = ptr[:i]
	}
}
