package generator

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/bmatcuk/doublestar/v4"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Target is one deploy target: a kustomization root, the service and
// environment it deploys, and every repository path its build reads.
type Target struct {
	Service     string `json:"service"`
	Environment string `json:"environment"`
	// Path is the root directory, slash-separated, relative to the repository.
	Path string `json:"path"`
	// Inputs are the root's dependency closure as doublestar globs: exact
	// files, and "dir/**" for directories read as a whole. Sorted.
	Inputs []string `json:"inputs"`
}

// Service groups the targets that deploy one service, one per environment.
type Service struct {
	Name    string
	JobID   string    // the GitHub job id of the service's job in the caller workflow
	Targets []*Target // sorted by environment
}

// Repo is what Scan learns about a manifest repository.
type Repo struct {
	Config      *Config
	kustDirs    map[string]bool
	Services    []*Service // sorted by name
	Targets     []*Target  // sorted by service, then environment
	Diagnostics []Diagnostic
}

// Scan discovers the kustomization roots under dir, names them and computes
// their dependency closures. dir must be an absolute path in fsys. Problems
// in individual kustomizations are Diagnostics; a layout that would make the
// output ambiguous (two roots with one name) is a *ConfigError.
func Scan(fsys filesys.FileSystem, dir string, cfg *Config) (*Repo, error) {
	kusts, diags, err := readKustomizations(fsys, dir)
	if err != nil {
		return nil, err
	}
	an := newAnalyzer(fsys, dir, cfg.Kustomize.LoadRestrictor, kusts)
	roots := an.roots()
	roots = filterRoots(roots, cfg.Discovery)
	targets, err := nameTargets(roots, cfg)
	if err != nil {
		return nil, err
	}
	for _, t := range targets {
		t.Inputs = an.closureGlobs(t.Path)
	}
	diags = append(diags, an.diagnostics()...)
	services, err := groupServices(targets)
	if err != nil {
		return nil, err
	}
	dirs := make(map[string]bool, len(kusts))
	for d := range kusts {
		dirs[d] = true
	}
	return &Repo{Config: cfg, kustDirs: dirs, Services: services, Targets: targets, Diagnostics: sortDiagnostics(diags)}, nil
}

// hasKustomization reports whether dir holds a kustomization at the head.
func (r *Repo) hasKustomization(dir string) bool { return r.kustDirs[dir] }

// readKustomizations walks the repository (skipping .git) and parses every kustomization file, in parallel: on a
// monorepo of thousands of services parsing dominates.
func readKustomizations(fsys filesys.FileSystem, dir string) (map[string]*kustomization, []Diagnostic, error) {
	type found struct{ dir, file string }
	var files []found
	var diags []Diagnostic
	err := fsys.Walk(dir, func(p string, info fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() {
			return nil
		}
		// Hidden directories are read (a root may use a base in one) but
		// never hold roots; .git is not a manifest directory at all.
		if p != dir && info.Name() == ".git" {
			return filepath.SkipDir
		}
		rel := relSlash(dir, p)
		var names []string
		for _, n := range kustomizationFileNames {
			if fsys.Exists(filepath.Join(p, n)) && !fsys.IsDir(filepath.Join(p, n)) {
				names = append(names, n)
			}
		}
		if len(names) > 1 {
			diags = append(diags, Diagnostic{Path: path.Join(rel, names[1]), Kind: KindYAML,
				Message: fmt.Sprintf("directory %q has several kustomization files (%s); kustomize refuses to build it", rel, strings.Join(names, ", "))})
		}
		if len(names) > 0 {
			files = append(files, found{rel, path.Join(rel, names[0])})
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("scanning %q: %w", dir, err)
	}
	kusts := make(map[string]*kustomization, len(files))
	parsed := make([]*kustomization, len(files))
	var wg sync.WaitGroup
	errs := make([]error, len(files))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			data, err := fsys.ReadFile(filepath.Join(dir, filepath.FromSlash(f.file)))
			if err != nil {
				errs[i] = fmt.Errorf("reading %q: %w", f.file, err)
				return
			}
			parsed[i] = parseKustomization(f.dir, f.file, data)
		}()
	}
	wg.Wait()
	for i, k := range parsed {
		if errs[i] != nil {
			return nil, nil, errs[i]
		}
		kusts[k.Dir] = k
		if k.Err != nil {
			diags = append(diags, *k.Err)
		}
	}
	return kusts, diags, nil
}

// relSlash returns p relative to dir, slash-separated, "." for dir itself.
func relSlash(dir, p string) string {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	return filepath.ToSlash(rel)
}

// filterRoots applies discovery.include and discovery.exclude.
func filterRoots(roots []string, d Discovery) []string {
	var out []string
	for _, r := range roots {
		if len(d.Include) > 0 && !matchAny(d.Include, r) {
			continue
		}
		if matchAny(d.Exclude, r) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// matchAny reports whether name matches one of the (validated) globs.
func matchAny(globs []string, name string) bool {
	for _, g := range globs {
		if ok, _ := doublestar.Match(g, name); ok {
			return true
		}
	}
	return false
}

// groupServices groups targets by service and assigns job ids, failing when
// two services map to one job id (GitHub compares job ids case-insensitively).
func groupServices(targets []*Target) ([]*Service, error) {
	byName := map[string]*Service{}
	var services []*Service
	for _, t := range targets {
		s := byName[t.Service]
		if s == nil {
			s = &Service{Name: t.Service, JobID: JobID(t.Service)}
			byName[t.Service] = s
			services = append(services, s)
		}
		s.Targets = append(s.Targets, t)
	}
	sort.Slice(services, func(i, j int) bool { return services[i].Name < services[j].Name })
	var problems []Diagnostic
	byJob := map[string]*Service{}
	for _, s := range services {
		key := strings.ToLower(s.JobID)
		if o := byJob[key]; o != nil {
			problems = append(problems, Diagnostic{Path: s.Targets[0].Path, Kind: "naming",
				Message: fmt.Sprintf("services %q (%s) and %q (%s) both map to job id %q; rename a directory or set discovery.overrides in %s",
					o.Name, o.Targets[0].Path, s.Name, s.Targets[0].Path, s.JobID, ConfigFile)})
			continue
		}
		byJob[key] = s
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems}
	}
	return services, nil
}
