package generator

// Which entries kustomize reads as content and which as paths: only the
// fields kustomize itself may read inline are ever content, decided by its
// own parser, whatever characters a file name holds.

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// isInline reports whether a patchesStrategicMerge entry is inline content:
// PatchStrategicMergeTransformer reads every entry as resources first, and
// loads it as a file only when that fails (so "#x.yaml" or "{}" is empty
// content, file or no file, and "release: notes.yaml" a path).
func isInline(v string) bool {
	if plainPath(v) || aliasBomb(v) {
		return false
	}
	_, err := resourceFactory.SliceFromBytes([]byte(v))
	return err == nil
}

// isInlineConfig reports whether a generators, transformers or validators
// entry is an inline plugin configuration, as KustTarget's
// configureExternalGenerators and configureExternalTransformers decide.
func isInlineConfig(v string) bool {
	if plainPath(v) || aliasBomb(v) {
		return false
	}
	_, err := resMapFactory.NewResMapFromBytes([]byte(v))
	return err == nil
}

// plainPath reports whether v is an entry no YAML reads as content:
// letters, digits, "_", ".", "/" and "-" only, not starting with "-" and
// no YAML null. YAML makes it one scalar, which is no resource, so the
// usual entry skips kustomize's parse (~30µs).
func plainPath(v string) bool {
	if v == "" || v[0] == '-' || v == "null" || v == "Null" || v == "NULL" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '/' || c == '-') {
			return false
		}
	}
	return true
}

// aliasBomb reports whether v is YAML whose aliases expand beyond what
// yaml.v3 accepts (a "billion laughs"): kyaml would expand them all, for
// ever, so such a value is taken for a path (kustomize never gets past it).
func aliasBomb(v string) bool {
	if !strings.Contains(v, "*") {
		return false
	}
	dec := yaml.NewDecoder(strings.NewReader(v))
	for {
		var doc any
		if err := dec.Decode(&doc); err != nil {
			return strings.Contains(err.Error(), "excessive aliasing")
		}
	}
}

// inlineConfigRefs returns the files an inline plugin configuration names:
// kustomize configures it with the kustomization's own loader, so they are
// relative to the kustomization, as are those of a configuration file.
// They point at the inline configuration, when a diagnostic needs to.
func inlineConfigRefs(field, config string) []reference {
	var refs []reference
	for _, p := range pluginPaths([]byte(config)) {
		if p != "" && !isRemote(p) {
			refs = append(refs, reference{Value: p, Field: field, Kind: refFile, at: config, exact: true})
		}
	}
	return refs
}
