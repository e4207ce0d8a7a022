package generator

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"sort"
	"strings"
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
	for i, r := range roots {
		targets[i] = &Target{Service: name(i), Environment: parts[i].environment, Path: r}
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
