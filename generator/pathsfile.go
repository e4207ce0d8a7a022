package generator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// The paths file is written and read here, in code rather than through
// text/template and yaml.v3: at 10,000 services it holds 330,000 globs, and
// both the template engine's reflection and a generic YAML parser cost more
// than the whole rest of check or affected.

const pathsFileHelp = `#
# Each target lists the files its kustomize build reads (doublestar globs:
# exact files, and dir/** for directories read whole). A change to any of
# them marks the target as affected; a change to a global path marks every
# target. Review changes to this file: they say which files now trigger
# which service.
`

// pathsFile renders the per-target path filters: each target's dependency
// closure. The output is already normalised.
func pathsFile(global []string, targets []*Target) []byte {
	var b bytes.Buffer
	b.Grow(64 * 1024 * (1 + len(targets)/100))
	b.WriteString(Header + "\n" + headerHelp + "\n" + pathsFileHelp + "global:\n")
	for _, g := range global {
		b.WriteString("  - ")
		writeQuoted(&b, g)
		b.WriteByte('\n')
	}
	b.WriteString("targets:\n")
	for _, t := range targets {
		b.WriteString("  - service: ")
		writeQuoted(&b, t.Service)
		b.WriteString("\n    environment: ")
		writeQuoted(&b, t.Environment)
		b.WriteString("\n    path: ")
		writeQuoted(&b, t.Path)
		b.WriteString("\n    paths:\n")
		for _, in := range t.Inputs {
			b.WriteString("      - ")
			writeQuoted(&b, in)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// writeQuoted appends yamlQuote(s) without its allocations for the usual
// path: printable ASCII that encoding/json leaves as it is.
func writeQuoted(b *bytes.Buffer, s string) {
	if plainJSON(s) {
		b.WriteByte('"')
		b.WriteString(s)
		b.WriteByte('"')
		return
	}
	b.WriteString(yamlQuote(s))
}

// plainJSON reports whether json.Marshal writes s between quotes unchanged.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// errNotGenerated says a paths file is not in the exact form pathsFile
// writes (edited by hand, or written by another version).
var errNotGenerated = errors.New("not in the form kustomatrix generate writes")

// parsePathsFile reads back exactly what pathsFile writes, line by line.
func parsePathsFile(data []byte) (global []string, targets []*Target, err error) {
	if !bytes.HasPrefix(data, []byte(Header+"\n")) {
		return nil, nil, errNotGenerated
	}
	section := ""
	var t *Target
	for n, rest := 1, data; len(rest) > 0; n++ {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		s := string(line)
		var v string
		switch {
		case s == "" || s[0] == '#':
			continue
		case s == "global:" || s == "targets:":
			section = strings.TrimSuffix(s, ":")
			continue
		case section == "global" && strings.HasPrefix(s, "  - "):
			v, err = unquote(s[4:])
			global = append(global, v)
		case section == "targets" && strings.HasPrefix(s, "  - service: "):
			t = &Target{}
			targets = append(targets, t)
			t.Service, err = unquote(s[len("  - service: "):])
		case t != nil && strings.HasPrefix(s, "    environment: "):
			t.Environment, err = unquote(s[len("    environment: "):])
		case t != nil && strings.HasPrefix(s, "    path: "):
			t.Path, err = unquote(s[len("    path: "):])
		case t != nil && s == "    paths:":
		case t != nil && strings.HasPrefix(s, "      - "):
			v, err = unquote(s[len("      - "):])
			t.Inputs = append(t.Inputs, v)
		default:
			err = errNotGenerated
		}
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", n, err)
		}
	}
	for _, t := range targets {
		if t.Service == "" || t.Path == "" || path.Clean(t.Path) != t.Path {
			return nil, nil, fmt.Errorf("target %q: %w", t.Path, errNotGenerated)
		}
	}
	return global, targets, nil
}

func unquote(s string) (string, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", errNotGenerated
	}
	if inner := s[1 : len(s)-1]; plainJSON(inner) {
		return inner, nil
	}
	var v string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return "", errNotGenerated
	}
	return v, nil
}

// RepoFromPathsFile rebuilds the targets and services of a repository from
// its committed paths file, without scanning: what affected needs when a
// change cannot have altered the dependency graph (see GraphChange). The
// file must be in the exact generated form; anything else is an error, and
// the caller scans instead. hasKustomization answers, in place of a scan,
// whether a directory holds a kustomization file (Affected asks it about the
// directories of changed kustomization files when it guesses removals).
func RepoFromPathsFile(cfg *Config, data []byte, hasKustomization func(dir string) bool) (*Repo, error) {
	_, targets, err := parsePathsFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.PathsFile(), err)
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("%s: no targets", cfg.PathsFile())
	}
	services, err := groupServices(targets)
	if err != nil {
		return nil, err
	}
	return &Repo{Config: cfg, Services: services, Targets: targets, hasKust: hasKustomization}, nil
}

// HasKustomizationOnDisk answers hasKustomization for RepoFromPathsFile
// from the repository at dir.
func HasKustomizationOnDisk(dir string) func(string) bool {
	return func(d string) bool {
		for _, n := range kustomizationFileNames {
			if fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(d), n)); err == nil && fi.Mode().IsRegular() {
				return true
			}
		}
		return false
	}
}

// GraphChange says why a change may alter the dependency graph itself, or
// "" when it cannot: then every closure and every target is as the
// committed paths file records them. The graph changes with the
// configuration (naming and discovery), with a symlink (isSymlink reports
// it at the head), and with a kustomization file added, removed or edited
// in its references (they decide the closures and which directories are
// roots). sameRefs reports an edited kustomization file whose references
// are the same before and after (an image tag bump, say); it may be nil.
func GraphChange(files []string, isSymlink, sameRefs func(string) bool) string {
	for _, f := range files {
		switch {
		case f == ConfigFile:
			return f + " changed"
		case IsKustomizationFile(f) && (sameRefs == nil || !sameRefs(f)):
			return "kustomization file changed: " + f
		case isSymlink(f):
			return "symlink changed: " + f
		}
	}
	return ""
}

// SameReferences reports whether two versions of a kustomization file make
// the same node of the dependency graph: both parse, with the same kind and
// the same references in the same fields. Everything else in the file
// (images, replicas, labels, patches written inline) changes the output
// of its targets but not which files they read.
func SameReferences(file string, before, after []byte) bool {
	dir := path.Dir(file)
	a, b := parseKustomization(dir, file, before), parseKustomization(dir, file, after)
	if a.Err != nil || b.Err != nil || a.Component != b.Component || len(a.Refs) != len(b.Refs) {
		return false
	}
	for i := range a.Refs {
		x, y := a.Refs[i], b.Refs[i]
		if x.Value != y.Value || x.Field != y.Field || x.Kind != y.Kind {
			return false
		}
	}
	return true
}

// IsKustomizationFile reports whether p names a kustomization file, on a
// case-insensitive file system too.
func IsKustomizationFile(p string) bool {
	n := path.Base(p)
	for _, k := range kustomizationFileNames {
		if strings.EqualFold(n, k) {
			return true
		}
	}
	return false
}

// ParsePathsFile reads the targets of a generated paths file (as committed
// at some base), for removal detection. Files of other versions are read as
// YAML.
func ParsePathsFile(data []byte) ([]AffectedTarget, error) {
	out := []AffectedTarget{}
	if _, targets, err := parsePathsFile(data); err == nil {
		for _, t := range targets {
			out = append(out, AffectedTarget{Service: t.Service, Environment: t.Environment, Path: t.Path})
		}
		return out, nil
	}
	var pf struct {
		Targets []AffectedTarget `yaml:"targets"`
	}
	if err := yaml.Unmarshal(data, &pf); err != nil {
		return nil, fmt.Errorf("parsing paths file: %w", err)
	}
	if pf.Targets != nil {
		out = pf.Targets
	}
	return out, nil
}
