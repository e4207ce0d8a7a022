package generator

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"

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
	Config   *Config
	kustDirs map[string]bool
	hasKust  func(dir string) bool // in place of kustDirs, without a scan
	Services []*Service            // sorted by name
	Targets  []*Target             // sorted by service, then environment
	// Submodules are the git submodules some target's closure reaches
	// into (.gitmodules paths), sorted: the generated checkouts fetch them.
	Submodules  []string
	Diagnostics []Diagnostic
	unreadable  []string // directories the scan could not list
	// loads, set by WithLoadCheck on a repository read from the paths file
	// (which has no diagnostics), says whether dir's kustomization loads.
	loads func(dir string) bool
}

// WithLoadCheck lets Affected ask whether a directory's kustomization
// loads at the head, for a repository read from the paths file.
func (r *Repo) WithLoadCheck(fsys filesys.FileSystem, root string) *Repo {
	r.loads = func(dir string) bool { return KustomizationLoads(fsys, filepath.Join(root, filepath.FromSlash(dir))) }
	return r
}

// KustomizationLoads reports whether the kustomization in dir can be read,
// parses, and is not empty: what kustomize needs to load it.
func KustomizationLoads(fsys filesys.FileSystem, dir string) bool {
	for _, n := range kustomizationFileNames {
		p := filepath.Join(dir, n)
		if !fsys.Exists(p) {
			continue
		}
		data, err := fsys.ReadFile(p)
		if err != nil {
			return false
		}
		parses, empty := kustomizationContent(data)
		return parses && !empty
	}
	return false
}

// Scan discovers the kustomization roots under dir, names them and computes
// their dependency closures. dir must be an absolute path in fsys. Problems
// in individual kustomizations are Diagnostics; a layout that would make the
// output ambiguous (two roots with one name) is a *ConfigError.
func Scan(fsys filesys.FileSystem, dir string, cfg *Config) (*Repo, error) {
	kusts, seen, links, diags, denied, err := readKustomizations(fsys, dir)
	if err != nil {
		return nil, err
	}
	an := newAnalyzer(fsys, dir, cfg.Kustomize, kusts, seen)
	an.links = links
	an.link()
	graph := an.refGraph()
	roots := an.roots(graph)
	rings, ringDiags := an.ringRoots(graph, roots)
	envWords := map[string]bool{}
	for e := range cfg.Environments {
		envWords[e] = true
	}
	roots, held, heldDiags := an.holdBack(graph, roots, rings, envWords)
	diags = append(append(diags, ringDiags...), heldDiags...)
	roots = append(roots, rings...)
	sort.Strings(roots)
	roots = filterRoots(roots, cfg.Discovery)
	targets, err := nameTargets(roots, cfg)
	if err != nil {
		return nil, err
	}
	an.closureGlobs(targets)
	an.widenHeld(targets, held)
	if err := checkInputPaths(targets); err != nil {
		return nil, err
	}
	diags = append(diags, an.diagnostics()...)
	diags = append(diags, an.danglingKustomizations()...)
	diags = append(diags, an.linkedRoots(roots)...)
	diags = append(diags, unreadableDiagnostics(denied, targets)...)
	submodules, smDiags := submodulesRead(fsys, dir, targets)
	diags = append(diags, smDiags...)
	services, err := groupServices(targets)
	if err != nil {
		return nil, err
	}
	// Secrets shared by two environments or both modes are an error here,
	// before anything is rendered; too many for a repository is a warning.
	secretWarnings, err := cfg.checkSecrets(pipelineEnvironments(cfg, targets))
	if err != nil {
		return nil, err
	}
	diags = append(diags, secretWarnings...)
	dirs := make(map[string]bool, len(kusts))
	for d := range kusts {
		dirs[d] = true
	}
	var unreadable []string
	for _, d := range denied {
		unreadable = append(unreadable, d.rel)
	}
	return &Repo{Config: cfg, kustDirs: dirs, Services: services, Targets: targets, Submodules: submodules, Diagnostics: sortDiagnostics(diags),
		unreadable: unreadable}, nil
}

// checkInputPaths refuses a closure path that would not survive the trip
// through the paths file and back to a changed file's name: one that is not
// valid UTF-8 (written as U+FFFD, it names a file that does not exist, and
// affected never matches it) or holds a control or invisible character.
// Root paths are held to this by checkTargetNames.
func checkInputPaths(targets []*Target) error {
	var problems []Diagnostic
	seen := map[string]bool{} // only paths with a problem: a base shared by many targets is reported once
	for _, t := range targets {
		for _, in := range t.Inputs {
			if p := PathProblem(in); p != "" && !seen[in] {
				seen[in] = true
				problems = append(problems, Diagnostic{Path: quoteIfNeeded(globPath(in)), Kind: "naming",
					Message: fmt.Sprintf("target %s reads this path, which %s: it cannot be written to the paths file and matched against changed files; rename it", quoteIfNeeded(t.Path), p)})
			}
		}
	}
	if len(problems) > 0 {
		return &ConfigError{Problems: sortDiagnostics(problems)}
	}
	return nil
}

// globPath returns the path an input glob of globs stands for: escapes
// removed, and the directory of a "dir/**".
func globPath(g string) string {
	g = strings.TrimSuffix(strings.TrimSuffix(g, "**"), "/")
	if g == "" {
		return "."
	}
	var b strings.Builder
	for i := 0; i < len(g); i++ {
		if g[i] == '\\' && i+1 < len(g) {
			i++
		}
		b.WriteByte(g[i])
	}
	return b.String()
}

// deniedDir is a directory the walk may not read (permission denied).
type deniedDir struct {
	rel string
	err error
}

// unreadableDiagnostics reports each directory the walk may not read: for
// the targets whose closure reaches into it (a kustomization or a change
// there is not seen), or on its own, skipped, when none does.
func unreadableDiagnostics(denied []deniedDir, targets []*Target) []Diagnostic {
	var out []Diagnostic
	for _, d := range denied {
		why := d.err.Error()
		var pe *fs.PathError
		if errors.As(d.err, &pe) {
			why = pe.Err.Error()
		}
		esc := escapeGlob(d.rel)
		reads := func(in string) bool {
			if in == esc || strings.HasPrefix(in, esc+"/") {
				return true // the directory, or a path in it
			}
			ok, _ := doublestar.Match(in, d.rel+"/x") // a directory around it, read whole
			return ok && strings.HasSuffix(in, "**")
		}
		var readers []string
		for _, t := range targets {
			if slices.ContainsFunc(t.Inputs, reads) {
				readers = append(readers, t.Path)
			}
		}
		msg := fmt.Sprintf("directory cannot be read (%s); no target reads from it, skipped", why)
		switch n := len(readers); {
		case n == 1:
			msg = fmt.Sprintf("directory cannot be read (%s): target %s reads from it; a kustomization or a change in it is not seen", why, readers[0])
		case n > 5:
			readers = append(readers[:5], fmt.Sprintf("and %d more", n-5))
			fallthrough
		case n > 1:
			msg = fmt.Sprintf("directory cannot be read (%s): targets %s read from it; a kustomization or a change in it is not seen", why, strings.Join(readers, ", "))
		}
		out = append(out, Diagnostic{Path: quoteIfNeeded(d.rel), Kind: KindUnreadable, Message: msg})
	}
	return out
}

// unreadableEntry reports a read error of a kustomization entry that makes
// it a broken kustomization rather than a failed scan: it does not resolve
// (a dangling link), is a directory, or may not be read.
func unreadableEntry(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EISDIR) ||
		strings.Contains(err.Error(), "is a directory")
}

// hasKustomization reports whether dir holds a kustomization at the head.
func (r *Repo) hasKustomization(dir string) bool {
	if r.hasKust != nil {
		return r.hasKust(dir)
	}
	return r.kustDirs[dir]
}

// readKustomizations walks the repository (skipping .git) and parses every
// kustomization file. On a monorepo of thousands of services this is most
// of a scan, so the walk runs on several goroutines, each kustomization is
// parsed on a free core as soon as the walk finds it, and the directory
// listings are returned for the analyzer, which would otherwise stat every
// path again, with the symbolic links the walk met (not followed).
func readKustomizations(fsys filesys.FileSystem, dir string) (map[string]*kustomization, listings, symlinks, []Diagnostic, []deniedDir, error) {
	var (
		mu     sync.Mutex
		seen   = listings{}
		links  = symlinks{}
		diags  []Diagnostic
		parsed []*kustomization
		denied []deniedDir
		fail   walkError
	)
	// {dir, file}, slash-separated, relative; buffered, so that walkers and
	// parsers do not hand the processor to each other for every file.
	jobs := make(chan [2]string, 1024)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				data, err := fsys.ReadFile(filepath.Join(dir, filepath.FromSlash(j[1])))
				var k *kustomization
				if err == nil {
					k = parseKustomization(j[0], j[1], data)
				} else if unreadableEntry(err) {
					// A link to nothing, a directory by that name, a file
					// that may not be read: the directory is a kustomization
					// kustomize cannot load. It stays a target (its build
					// fails, loudly) and holds back what it may reference,
					// never vanishing as if deleted.
					why := err
					var pe *fs.PathError
					if errors.As(err, &pe) {
						why = pe.Err
					}
					k = parseKustomization(j[0], j[1], nil)
					k.Err = &Diagnostic{Path: j[1], Kind: KindYAML,
						Message: fmt.Sprintf("kustomization cannot be read (%v): kustomize will fail to build it", why)}
					err = nil
				}
				mu.Lock()
				if err != nil {
					fail.keep(j[0], fmt.Errorf("reading %q: %w", j[1], err))
				} else {
					parsed = append(parsed, k)
				}
				mu.Unlock()
			}
		}()
	}
	visit := func(rel string, ents []dirEntry) {
		names := kustomizationFiles(fsys, filepath.Join(dir, filepath.FromSlash(rel)), ents)
		mu.Lock()
		seen[rel] = ents
		if len(names) > 1 {
			diags = append(diags, Diagnostic{Path: path.Join(rel, names[1]), Kind: KindYAML,
				Message: fmt.Sprintf("directory %q has several kustomization files (%s); kustomize refuses to build it", rel, strings.Join(names, ", "))})
		}
		mu.Unlock()
		if len(names) > 0 {
			jobs <- [2]string{rel, path.Join(rel, names[0])}
		}
	}
	link := func(rel, target string) {
		mu.Lock()
		links[rel] = target
		mu.Unlock()
	}
	deny := func(rel string, err error) {
		mu.Lock()
		denied = append(denied, deniedDir{rel, err})
		mu.Unlock()
	}
	var err error
	if isDisk(fsys) {
		err = walkDisk(dir, visit, link, deny)
	} else {
		err = walkFS(fsys, dir, visit, link, deny)
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, nil, nil, nil, nil, fmt.Errorf("scanning %q: %w", dir, err)
	}
	if fail.err != nil {
		return nil, nil, nil, nil, nil, fail.err
	}
	sort.Slice(denied, func(i, j int) bool { return denied[i].rel < denied[j].rel })
	kusts := make(map[string]*kustomization, len(parsed))
	for _, k := range parsed {
		kusts[k.Dir] = k
		if k.Err != nil {
			diags = append(diags, *k.Err)
		}
	}
	return kusts, seen, links, diags, denied, nil
}

// symlinks are the symbolic links a walk met, by slash-separated repository
// path, each with its target as written: "" when the file system cannot
// tell (see readlinker), and fsys.CleanedAbs follows the link instead.
type symlinks map[string]string

// readlinker is a file system that can say where a symbolic link points,
// which filesys.FileSystem cannot: a walk through fsys asks it, if fsys
// implements it, so that the links in the middle of a chain are known
// (CleanedAbs only gives the end of the chain).
type readlinker interface {
	Readlink(name string) (string, error)
}

// listings are the directory listings a walk of the repository read, by
// slash-separated directory, each sorted by name.
type listings map[string][]dirEntry

// kind says what the walk saw at p, when it can tell: not for a symlink
// (what it points to is for a stat to say), nor for a name its directory's
// listing lacks (on a case-insensitive file system it may exist all the
// same), nor below a directory it did not read.
func (l listings) kind(p string) (pathKind, bool) {
	if p == "." {
		_, ok := l["."]
		return pathDir, ok
	}
	dir, name := ".", p
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		dir, name = p[:i], p[i+1:]
	}
	ents := l[dir]
	i, found := slices.BinarySearchFunc(ents, name, func(e dirEntry, n string) int { return strings.Compare(e.name, n) })
	switch {
	case !found || ents[i].symlink:
		return pathMissing, false
	case ents[i].dir:
		return pathDir, true
	default:
		return pathFile, true
	}
}

// kustomizationFiles returns the kustomization files of one directory, in
// kustomize's order, as fsys.Exists and !fsys.IsDir would find them. The
// directory listing answers for plain entries; a symlink, or a name that
// matches only when case is ignored (a case-insensitive file system), is
// asked of fsys.
func kustomizationFiles(fsys filesys.FileSystem, full string, ents []dirEntry) []string {
	var names []string
	for _, n := range kustomizationFileNames {
		found, ask := false, false
		for _, e := range ents {
			if e.name == n {
				// Whatever it is (a file, a link, even one to nothing, a
				// directory): kustomize looks for it by this name, and
				// readKustomizations reports one it cannot read.
				found, ask = true, false
				break
			}
			ask = ask || strings.EqualFold(e.name, n)
		}
		if ask {
			p := filepath.Join(full, n)
			found = fsys.Exists(p) && !fsys.IsDir(p)
		}
		if found {
			names = append(names, n)
		}
	}
	return names
}

// dirEntry is one entry of a directory listing.
type dirEntry struct {
	name         string
	dir, symlink bool // dir is false for a symlink, whatever it points to
}

// joinRel joins a name to a slash-separated relative directory.
func joinRel(rel, name string) string {
	if rel == "." {
		return name
	}
	return rel + "/" + name
}

// isDisk reports whether fsys is kustomize's file system on disk, which
// walkDisk may read directly.
func isDisk(fsys filesys.FileSystem) bool {
	return reflect.TypeOf(fsys) == diskFSType
}

var diskFSType = reflect.TypeOf(filesys.MakeFsOnDisk())

// walkFS calls visit for every directory under dir (dir included; not
// following symlinks, skipping .git), with its entries sorted by name, link
// for every symbolic link, and deny for every directory it may not read
// (see deniable), through fsys.Walk.
func walkFS(fsys filesys.FileSystem, dir string, visit func(rel string, ents []dirEntry), link func(rel, target string), deny func(rel string, err error)) error {
	var order []string
	listing := map[string][]dirEntry{}
	denied := map[string]bool{}
	rl, _ := fsys.(readlinker)
	err := fsys.Walk(dir, func(p string, info fs.FileInfo, err error) error {
		if err != nil {
			if p != dir && info != nil && info.IsDir() && deniable(err) {
				// filepath.Walk visited the directory, then failed to list it.
				rel := relSlash(dir, p)
				denied[rel] = true
				deny(rel, err)
				return filepath.SkipDir
			}
			return err
		}
		// The name is the path's last element: an in-memory file system
		// finds a FileInfo's name by searching its parent directory.
		name := filepath.Base(p)
		if p != dir {
			parent := relSlash(dir, filepath.Dir(p))
			symlink := info.Mode()&fs.ModeSymlink != 0
			listing[parent] = append(listing[parent], dirEntry{name: name, dir: info.IsDir(), symlink: symlink})
			if symlink {
				target := ""
				if rl != nil {
					target, _ = rl.Readlink(p)
				}
				link(joinRel(parent, name), target)
			}
		}
		if !info.IsDir() {
			return nil
		}
		// Hidden directories are read (a root may use a base in one) but
		// never hold roots; .git is not a manifest directory at all.
		if p != dir && name == ".git" {
			return filepath.SkipDir
		}
		order = append(order, relSlash(dir, p))
		return nil
	})
	if err != nil {
		return err
	}
	if pf, ok := fsys.(prefetcher); ok {
		// A commit's file system answers many reads in one round trip to
		// git: ask for every kustomization file before they are parsed.
		var files []string
		for rel, ents := range listing {
			for _, e := range ents {
				if !e.dir && slices.Contains(kustomizationFileNames, e.name) {
					files = append(files, filepath.Join(dir, filepath.FromSlash(joinRel(rel, e.name))))
				}
			}
		}
		pf.Prefetch(files)
	}
	for _, rel := range order {
		if denied[rel] {
			continue
		}
		ents := listing[rel]
		slices.SortFunc(ents, func(a, b dirEntry) int { return strings.Compare(a.name, b.name) })
		visit(rel, ents)
	}
	return nil
}

// prefetcher is a file system that can read many files ahead in one go
// (gitfs.FS).
type prefetcher interface{ Prefetch(paths []string) }

// walkDisk is walkFS on disk, with os.ReadDir on several goroutines: a
// listing gives each entry's type without a stat (sorted, as walkFS's), and
// directories are read concurrently. Of several errors it returns the one
// filepath.Walk would have met first.
func walkDisk(dir string, visit func(rel string, ents []dirEntry), link func(rel, target string), deny func(rel string, err error)) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return nil
	}
	var (
		mu      sync.Mutex
		cond    = sync.NewCond(&mu)
		stack   = []string{"."}
		pending = 1 // directories queued or being read
		fail    walkError
		wg      sync.WaitGroup
	)
	for range max(2, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				for len(stack) == 0 && pending > 0 {
					cond.Wait()
				}
				if pending == 0 {
					mu.Unlock()
					return
				}
				rel := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				mu.Unlock()
				list, err := readDir(filepath.Join(dir, filepath.FromSlash(rel)))
				ents := make([]dirEntry, len(list))
				var subdirs []string
				for i, d := range list {
					ents[i] = dirEntry{name: d.Name(), dir: d.IsDir(), symlink: d.Type()&fs.ModeSymlink != 0}
					if d.IsDir() && d.Name() != ".git" {
						subdirs = append(subdirs, joinRel(rel, d.Name()))
					}
					if ents[i].symlink {
						// A link unreadable here is followed by CleanedAbs.
						target, _ := os.Readlink(filepath.Join(dir, filepath.FromSlash(rel), d.Name()))
						link(joinRel(rel, d.Name()), target)
					}
				}
				denied := err != nil && rel != "." && deniable(err)
				switch {
				case err == nil:
					visit(rel, ents)
				case denied:
					deny(rel, err)
				}
				mu.Lock()
				if err != nil {
					if !denied {
						fail.keep(rel, err)
					}
					subdirs = nil
				}
				stack = append(stack, subdirs...)
				pending += len(subdirs) - 1
				// This walker takes the next directory itself; wake the
				// others only when there is more, or nothing, left.
				wake := len(subdirs) > 1 || pending == 0
				mu.Unlock()
				if wake {
					cond.Broadcast()
				}
			}
		}()
	}
	wg.Wait()
	return fail.err
}

// deniable reports whether a directory that cannot be listed is a
// diagnostic rather than a failed scan: only when permission is denied
// (terraform/.terraform, mode 000, say). Any other error (a git object that
// cannot be read, an I/O error) still fails the scan: a quiet gap in a
// commit's tree would make affected quietly wrong.
func deniable(err error) bool {
	return errors.Is(err, fs.ErrPermission)
}

// readDir is os.ReadDir; a test makes it fail where root may read all.
var readDir = os.ReadDir

// walkError keeps, of the errors met at several paths, the one at the path
// a sequential walk would have met first.
type walkError struct {
	at  string
	err error
}

func (w *walkError) keep(at string, err error) {
	if w.err == nil || walkOrderLess(at, w.at) {
		w.at, w.err = at, err
	}
}

// walkOrderLess reports whether filepath.Walk visits slash path a before b:
// a directory before its contents, names in lexical order.
func walkOrderLess(a, b string) bool {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] != bs[i] {
			return as[i] < bs[i]
		}
	}
	return len(as) < len(bs)
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
