package generator

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultEnvironment is the environment of a root whose path names none.
const DefaultEnvironment = "default"

// overlayMarkers are directory names that hold one directory per environment.
var overlayMarkers = map[string]bool{
	"overlays": true, "overlay": true, "envs": true, "environments": true, "variants": true,
}

// environmentWords are directory names recognised as environments (alone or
// as the first word of a name such as prod-eu or staging_2). Names listed
// under environments: in the configuration are recognised too.
var environmentWords = map[string]bool{
	"dev": true, "develop": true, "development": true, "test": true, "testing": true,
	"qa": true, "uat": true, "int": true, "integration": true, "sandbox": true, "demo": true,
	"stage": true, "staging": true, "preprod": true, "pre-prod": true, "prod": true,
	"production": true, "local": true, "ci": true, "preview": true,
}

// genericSegments carry no service name (apps/cart/k8s/overlays/prod is the
// cart service, not the k8s one).
var genericSegments = map[string]bool{
	"k8s": true, "kube": true, "kubernetes": true, "deploy": true, "deployment": true,
	"deployments": true, "manifests": true, "kustomize": true, "config": true,
}

var jobIDRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// JobID turns a service name into the id of its job: "deploy-" followed by
// the name in lower case with every character GitHub does not allow in a job
// id replaced by '-'. The prefix keeps service jobs apart from the fixed
// jobs (plan, result) and makes every id start with a letter.
func JobID(service string) string {
	var b strings.Builder
	b.WriteString("deploy-")
	dash := true
	for _, r := range strings.ToLower(service) {
		ok := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_'
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	id := strings.TrimRight(b.String(), "-")
	if id == "deploy" {
		// Nothing of the name survives (日本, ---): a stable hash keeps the
		// id unique and valid instead of letting such services collide.
		h := fnv.New32a()
		h.Write([]byte(service))
		id = fmt.Sprintf("deploy-x%08x", h.Sum32())
	}
	return id
}

// nameParts is a root path split for naming: the environment and the
// segments that may name the service, nearest last.
type nameParts struct {
	path        string
	environment string
	candidates  []string
}

// splitName applies the naming rule to one root directory:
//  1. a segment after an overlay marker (overlays/, envs/, ...) is the
//     environment and the segments before the marker name the service;
//  2. otherwise the last segment that is an environment word (dev, staging,
//     prod-eu, ...) is the environment and the other segments name the service;
//  3. otherwise the environment is "default" and all segments name the service.
//
// The service is the last candidate segment that is not generic (k8s,
// deploy, ...); a root at the repository root is the service "root".
func splitName(p string, envWords map[string]bool) nameParts {
	segs := strings.Split(p, "/")
	if p == "." {
		segs = nil
	}
	np := nameParts{path: p, environment: DefaultEnvironment}
	rest := segs
	if i := lastIndex(segs, func(s string) bool { return overlayMarkers[s] }); i >= 0 && i+1 < len(segs) {
		np.environment = segs[i+1]
		rest = append(append([]string{}, segs[:i]...), segs[i+2:]...)
	} else if i := lastIndex(segs, func(s string) bool { return isEnvironmentWord(s, envWords) }); i >= 0 {
		np.environment = segs[i]
		rest = append(append([]string{}, segs[:i]...), segs[i+1:]...)
	}
	var named []string
	for _, s := range rest {
		if !genericSegments[s] && !overlayMarkers[s] {
			named = append(named, s)
		}
	}
	if len(named) == 0 {
		named = rest
	}
	if len(named) == 0 {
		named = []string{"root"}
	}
	np.candidates = named
	return np
}

func isEnvironmentWord(s string, envWords map[string]bool) bool {
	if envWords[s] || environmentWords[s] {
		return true
	}
	if i := strings.IndexAny(s, "-_."); i > 0 {
		return environmentWords[s[:i]]
	}
	return false
}

func lastIndex(segs []string, f func(string) bool) int {
	for i := len(segs) - 1; i >= 0; i-- {
		if f(segs[i]) {
			return i
		}
	}
	return -1
}

// nameTargets names every root. A service name is the nearest candidate
// segment; when two roots would get the same service and environment, every
// root of those services takes one more parent segment (team-a/cart and
// team-b/cart become team-a-cart and team-b-cart), until names are unique
// or the paths run out, which is a *ConfigError.
func nameTargets(roots []string, cfg *Config) ([]*Target, error) {
	envWords := map[string]bool{}
	for e := range cfg.Environments {
		envWords[e] = true
	}
	overrides := map[string]Override{}
	for _, o := range cfg.Discovery.Overrides {
		overrides[o.Path] = o
	}
	parts := make([]nameParts, len(roots))
	depth := make([]int, len(roots))
	for i, r := range roots {
		if o, ok := overrides[r]; ok {
			parts[i] = nameParts{path: r, environment: o.Environment, candidates: []string{o.Service}}
		} else {
			parts[i] = splitName(r, envWords)
		}
		depth[i] = 1
	}
	name := func(i int) string {
		c := parts[i].candidates
		return strings.Join(c[len(c)-depth[i]:], "-")
	}
	for {
		clash := map[string][]int{}
		for i := range roots {
			key := name(i) + "\x00" + parts[i].environment
			clash[key] = append(clash[key], i)
		}
		grow := map[string]bool{}
		for _, idx := range clash {
			if len(idx) > 1 {
				for _, i := range idx {
					grow[name(i)] = true
				}
			}
		}
		if len(grow) == 0 {
			break
		}
		if err := deepen(roots, parts, depth, grow, name); err != nil {
			return nil, err
		}
	}
	targets := make([]*Target, len(roots))
	var problems []Diagnostic
	for i, r := range roots {
		targets[i] = &Target{Service: name(i), Environment: parts[i].environment, Path: r}
		_, overridden := overrides[r]
		problems = append(problems, checkTargetNames(targets[i], overridden)...)
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: sortDiagnostics(problems)}
	}
	sort.Slice(targets, func(i, j int) bool {
		if targets[i].Service != targets[j].Service {
			return targets[i].Service < targets[j].Service
		}
		return targets[i].Environment < targets[j].Environment
	})
	return targets, nil
}

// deepen gives every root of a clashing service name one more segment. When
// no clashing root has a segment left, the names cannot be made unique.
func deepen(roots []string, parts []nameParts, depth []int, grow map[string]bool, name func(int) string) error {
	var stuck []string
	grew := false
	for i := range roots {
		if !grow[name(i)] {
			continue
		}
		if depth[i] >= len(parts[i].candidates) {
			stuck = append(stuck, roots[i])
			continue
		}
		depth[i]++
		grew = true
	}
	if grew {
		return nil
	}
	sort.Strings(stuck)
	problems := make([]Diagnostic, 0, len(stuck))
	for _, p := range stuck {
		problems = append(problems, Diagnostic{Path: p, Kind: "naming",
			Message: fmt.Sprintf("cannot give kustomization root %q a unique service and environment name; set discovery.overrides in %s", p, ConfigFile)})
	}
	return &ConfigError{Problems: problems}
}

// MaxNameLength is the most characters a service or environment name may
// have: names become job names, GitHub environment names (at most 255),
// concurrency groups and table cells.
const MaxNameLength = 100

// NameProblem says why a service or environment name cannot be used, or
// returns "" when it can. Names reach YAML, GitHub expressions, job logs and
// Markdown: a discovered name (a directory name) is held to what the
// configuration would accept, so no name can carry a line break, an
// invisible character, an expression (${{ is evaluated even inside a
// quoted job name), a YAML comment or key (#, ": "), or hide in spaces.
func NameProblem(name string) string {
	switch {
	case name == "":
		return "is empty"
	case !utf8.ValidString(name):
		return "is not valid UTF-8"
	}
	for _, r := range name {
		if invisibleRune(r) {
			return fmt.Sprintf("contains the control or invisible character %U", r)
		}
	}
	switch {
	case strings.Contains(name, "${{"):
		return "contains \"${{\", which GitHub evaluates as an expression"
	case strings.Contains(name, "#"):
		return "contains \"#\", which starts a YAML comment"
	case strings.Contains(name, ": ") || strings.HasSuffix(name, ":"):
		return "contains \": \" (or ends in \":\"), which YAML reads as a key"
	case strings.TrimFunc(name, unicode.IsSpace) != name:
		return "starts or ends with a space"
	case utf8.RuneCountInString(name) > MaxNameLength:
		return fmt.Sprintf("is longer than %d characters", MaxNameLength)
	}
	return ""
}

// PathProblem says why a repository path cannot be written to the paths
// file and matched against changed files, or returns "" when it can: a
// path that is not valid UTF-8 would be written as U+FFFD, a path that does
// not exist; one holding a line break cannot be one line of a file list,
// and one holding another control or an invisible character cannot be
// reviewed as written. A tab is the exception: kustomize reads such files
// (TestPathsArePaths), the paths file writes it as \t and git quotes it.
func PathProblem(p string) string {
	printable := true // ASCII without controls, as almost every path is
	for i := 0; i < len(p) && printable; i++ {
		printable = p[i] >= 0x20 && p[i] < 0x7f
	}
	if printable {
		return ""
	}
	if !utf8.ValidString(p) {
		return "is not valid UTF-8"
	}
	if i := strings.IndexFunc(p, func(r rune) bool { return r != '\t' && invisibleRune(r) }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(p[i:])
		return fmt.Sprintf("contains the control or invisible character %U", r)
	}
	return ""
}

// invisibleRune reports a character that breaks a line, renders as nothing
// or reorders the text around it: control characters, format characters
// (bidi overrides and isolates, zero-width characters), line and paragraph
// separators, default-ignorable code points.
func invisibleRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

// checkTargetNames holds a target's names to NameProblem, and its path to
// what every name must be (valid UTF-8, nothing invisible): a root path
// reaches the same logs and comments.
func checkTargetNames(t *Target, overridden bool) []Diagnostic {
	var ps []Diagnostic
	where := "taken from a directory name"
	fix := "rename the directory or set discovery.overrides in " + ConfigFile
	if overridden {
		where, fix = "set in discovery.overrides", "change it in "+ConfigFile
	}
	path := quoteIfNeeded(t.Path)
	if !utf8.ValidString(t.Path) {
		return append(ps, Diagnostic{Path: path, Kind: "naming",
			Message: "the path of this kustomization root is not valid UTF-8; rename the directory"})
	}
	if i := strings.IndexFunc(t.Path, invisibleRune); i >= 0 {
		r, _ := utf8.DecodeRuneInString(t.Path[i:])
		return append(ps, Diagnostic{Path: path, Kind: "naming",
			Message: fmt.Sprintf("the path of this kustomization root contains the control or invisible character %U; rename the directory", r)})
	}
	for _, n := range []struct{ what, name string }{{"service", t.Service}, {"environment", t.Environment}} {
		if p := NameProblem(n.name); p != "" {
			ps = append(ps, Diagnostic{Path: path, Kind: "naming",
				Message: fmt.Sprintf("%s name %s, %s, %s; %s", n.what, strconv.Quote(n.name), where, p, fix)})
		}
	}
	// An environment names a GitHub environment and a secret: held to the
	// rule configured environment names follow.
	if NameProblem(t.Environment) == "" && !environmentRe.MatchString(t.Environment) {
		ps = append(ps, Diagnostic{Path: path, Kind: "naming",
			Message: fmt.Sprintf("environment name %s, %s, must match %s (it names a GitHub environment and secrets); %s", strconv.Quote(t.Environment), where, environmentRe, fix)})
	}
	return ps
}

// quoteIfNeeded returns a path as it is when it prints as itself, quoted
// (escapes and all) otherwise: a diagnostic is one line of a log.
func quoteIfNeeded(p string) string {
	if q := strconv.Quote(p); q[1:len(q)-1] != p {
		return q
	}
	return p
}
