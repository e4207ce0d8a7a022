package generator

import (
	"fmt"
	"sort"
)

// Diagnostic kinds. A diagnostic never stops generation (a big monorepo with
// one broken kustomization must still get its pipeline); `--strict` turns
// them into errors.
const (
	KindYAML           = "yaml"            // a kustomization that does not parse
	KindMissing        = "missing"         // a referenced local path that does not exist
	KindCycle          = "cycle"           // kustomizations that reference each other
	KindEscape         = "escape"          // a reference leaving the repository
	KindRemote         = "remote"          // a remote (URL) resource kustomize.remoteResources allows, not tracked
	KindRemoteRefused  = "remote-refused"  // a remote reference kustomize.remoteResources does not allow: builds refuse it, check fails
	KindSymlink        = "symlink"         // a directory link to a root, which is no target of its own
	KindLoadRestrictor = "load-restrictor" // a file outside its kustomization under rootOnly
	KindUnreadable     = "unreadable"      // a directory the scan may not read (permission denied)
)

// Diagnostic is a problem found in the user's repository, reported in the
// compiler style "path:line:col: message [kind]" that editors and GitHub
// problem matchers understand.
type Diagnostic struct {
	Path    string // slash-separated, relative to the repository root
	Line    int    // 1-based; 0 when unknown
	Col     int    // 1-based; 0 when unknown
	Message string
	Kind    string
}

func (d Diagnostic) String() string {
	switch {
	case d.Line > 0 && d.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s [%s]", d.Path, d.Line, d.Col, d.Message, d.Kind)
	case d.Line > 0:
		return fmt.Sprintf("%s:%d: %s [%s]", d.Path, d.Line, d.Message, d.Kind)
	default:
		return fmt.Sprintf("%s: %s [%s]", d.Path, d.Message, d.Kind)
	}
}

// sortDiagnostics orders diagnostics by position and removes exact
// duplicates (a base shared by many roots is analysed once per root).
func sortDiagnostics(ds []Diagnostic) []Diagnostic {
	sort.Slice(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return a.Message < b.Message
	})
	out := ds[:0]
	for i, d := range ds {
		if i > 0 && d == ds[i-1] {
			continue
		}
		out = append(out, d)
	}
	return out
}

// ConfigError is a fatal problem with the configuration or with the
// repository layout (ambiguous names): nothing is generated. It carries every
// problem found, not just the first.
type ConfigError struct {
	Problems []Diagnostic
}

func (e *ConfigError) Error() string {
	s := ""
	for i, p := range e.Problems {
		if i > 0 {
			s += "\n"
		}
		s += p.String()
	}
	return s
}
