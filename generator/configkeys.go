package generator

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var typeOfConfig = reflect.TypeOf(Config{})

// checkKnownFields walks a YAML node against the Go type it will decode into
// and reports every unknown key with its position and the keys that were
// expected. yaml.v3's KnownFields stops at the first unknown key and gives no
// column and no list of alternatives; a config author deserves both.
func checkKnownFields(file string, n *yaml.Node, t reflect.Type, path string) []Diagnostic {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return []Diagnostic{typeMismatch(file, n, path, "a mapping")}
		}
		return checkStruct(file, n, t, path)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return []Diagnostic{typeMismatch(file, n, path, "a mapping")}
		}
		if t.Elem().Kind() == reflect.Interface {
			return nil // free-form (custom steps)
		}
		var ds []Diagnostic
		for i := 0; i+1 < len(n.Content); i += 2 {
			ds = append(ds, checkKnownFields(file, n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))...)
		}
		return ds
	case reflect.Slice:
		if t == reflect.TypeOf(StringList{}) && n.Kind == yaml.ScalarNode {
			return nil
		}
		if n.Kind != yaml.SequenceNode {
			return []Diagnostic{typeMismatch(file, n, path, "a list")}
		}
		var ds []Diagnostic
		for i, c := range n.Content {
			ds = append(ds, checkKnownFields(file, c, t.Elem(), join(path, strconv.Itoa(i)))...)
		}
		return ds
	default:
		if n.Kind != yaml.ScalarNode {
			return []Diagnostic{typeMismatch(file, n, path, "a single value")}
		}
		return nil
	}
}

func checkStruct(file string, n *yaml.Node, t reflect.Type, path string) []Diagnostic {
	fields := map[string]reflect.Type{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		fields[tag] = f.Type
		names = append(names, tag)
	}
	sort.Strings(names)
	var ds []Diagnostic
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ft, ok := fields[k.Value]
		switch {
		case k.Value == "<<" && k.Tag == "!!merge":
			// A YAML merge key: its mapping (or list of mappings) is merged
			// into this one, so it holds keys of the same type.
			ds = append(ds, checkMerge(file, v, t, path)...)
			continue
		case !ok:
			ds = append(ds, Diagnostic{Path: file, Line: k.Line, Col: k.Column, Kind: "config",
				Message: fmt.Sprintf("unknown key %q in %s; expected one of: %s", k.Value, where(path), strings.Join(names, ", "))})
		case seen[k.Value]:
			ds = append(ds, Diagnostic{Path: file, Line: k.Line, Col: k.Column, Kind: "config",
				Message: fmt.Sprintf("key %q appears twice in %s", k.Value, where(path))})
		default:
			ds = append(ds, checkKnownFields(file, v, ft, join(path, k.Value))...)
		}
		seen[k.Value] = true
	}
	return ds
}

func checkMerge(file string, v *yaml.Node, t reflect.Type, path string) []Diagnostic {
	if v.Kind == yaml.SequenceNode {
		var ds []Diagnostic
		for _, c := range v.Content {
			ds = append(ds, checkKnownFields(file, c, t, path)...)
		}
		return ds
	}
	return checkKnownFields(file, v, t, path)
}

func typeMismatch(file string, n *yaml.Node, path, want string) Diagnostic {
	return Diagnostic{Path: file, Line: n.Line, Col: n.Column, Kind: "config",
		Message: fmt.Sprintf("%s must be %s", where(path), want)}
}

func where(path string) string {
	if path == "" {
		return "the top level"
	}
	return strconv.Quote(path)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// nodeAt finds the node at a dotted path ("discovery.include.0") for
// positioning a diagnostic; it returns the deepest node it could reach.
// Mapping keys may themselves contain dots (an environment named prod.eu):
// the longest key that fits the rest of the path wins.
func nodeAt(n *yaml.Node, path string) *yaml.Node {
	for path != "" {
		next, rest := childNode(n, path)
		if next == nil {
			return n
		}
		n, path = next, rest
	}
	return n
}

// childNode steps one key or index into n and returns what is left of path.
func childNode(n *yaml.Node, path string) (*yaml.Node, string) {
	switch n.Kind {
	case yaml.MappingNode:
		var best *yaml.Node
		bestLen := -1
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if (path == k || strings.HasPrefix(path, k+".")) && len(k) > bestLen {
				best, bestLen = n.Content[i+1], len(k)
			}
		}
		if best != nil {
			return best, strings.TrimPrefix(strings.TrimPrefix(path, path[:bestLen]), ".")
		}
	case yaml.SequenceNode:
		part, rest, _ := strings.Cut(path, ".")
		if i, err := strconv.Atoi(part); err == nil && i < len(n.Content) {
			return n.Content[i], rest
		}
	}
	return nil, ""
}
