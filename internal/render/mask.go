package render

import (
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// Masked values of Secrets. kubectl diff masks Secret data itself; the
// diffs kustomatrix makes on its own (render mode, objects whose namespace
// does not exist yet) must too, or they reach logs, step summaries and pull
// request comments.
const (
	maskSame   = "*** (masked)"
	maskBefore = "*** (masked, before)"
	maskAfter  = "*** (masked, after)"
)

// secretValues returns the data and stringData of a Secret, keyed by field.
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
			out[field+"/"+f.Key.YNode().Value] = f.Value.YNode().Value
			return nil
		})
	}
	return out
}

// MaskSecret returns the object with every Secret value replaced: by a
// plain mask, or, when other (the same Secret on the other side of a diff)
// holds a different value for the key, by a mask saying which side this is,
// so a diff still shows that a value changed without showing it.
func MaskSecret(o Object, other *Object, after bool) Object {
	if o.Kind != "Secret" || o.APIVersion != "v1" {
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
	for _, field := range []string{"data", "stringData"} {
		m := node.Field(field)
		if m == nil || m.Value == nil {
			continue
		}
		_ = m.Value.VisitFields(func(f *kyaml.MapNode) error {
			mask := maskSame
			if v, ok := theirs[field+"/"+f.Key.YNode().Value]; other != nil && (!ok || v != f.Value.YNode().Value) {
				mask = maskBefore
				if after {
					mask = maskAfter
				}
			}
			f.Value.YNode().Value = mask
			f.Value.YNode().Style = 0
			f.Value.YNode().Tag = "!!str"
			return nil
		})
	}
	s, err := node.String()
	if err != nil {
		o.YAML = []byte("# a Secret that does not print; not shown\n")
		return o
	}
	o.YAML = []byte(s)
	return o
}
