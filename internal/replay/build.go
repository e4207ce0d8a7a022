package replay

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// buildResult is one root built at one commit.
type buildResult struct {
	Hash    string            // of the canonical output; "" when the build failed
	Objects map[string]string // object id → hash of its canonical JSON
	Err     string            // first line of the build error
	Remote  bool              // the build needed a remote resource (never fetched)
	Reads   *readSet          // what the build read, for reuse at the next commit
}

// ok reports whether the root built.
func (b *buildResult) ok() bool { return b.Err == "" }

// buildRoot builds one root of the tree checked out at top with kustomize's
// defaults (load restrictor rootOnly, no plugins, no helm), recording every
// path the build looks at.
func buildRoot(top, root string) *buildResult {
	rec := &recordingFS{FileSystem: filesys.MakeFsOnDisk(), top: top, paths: map[string]readKind{}}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	rm, err := krusty.MakeKustomizer(opts).Run(rec, filepath.Join(top, filepath.FromSlash(root)))
	res := &buildResult{Reads: rec.readSet()}
	if err != nil {
		res.Err = firstLine(err.Error())
		res.Remote = isRemoteError(err)
		return res
	}
	parts := make([]string, 0, len(rm.Resources()))
	res.Objects = make(map[string]string, len(rm.Resources()))
	for _, r := range rm.Resources() {
		m, err := r.Map()
		if err != nil {
			res.Err = fmt.Sprintf("object %s: %v", r.CurId(), err)
			return res
		}
		b, err := json.Marshal(m) // map keys sorted: key order does not count
		if err != nil {
			res.Err = fmt.Sprintf("object %s: %v", r.CurId(), err)
			return res
		}
		id := objectID(r.GetApiVersion(), r.GetKind(), r.GetNamespace(), r.GetName())
		res.Objects[id] = hash(b)
		parts = append(parts, id+"\x00"+string(b))
	}
	sort.Strings(parts)
	res.Hash = hash([]byte(strings.Join(parts, "\n")))
	return res
}

// objectID names an object by kind, namespace and name (and API version,
// so that two versions of one kind never collide).
func objectID(apiVersion, kind, namespace, name string) string {
	if namespace == "" {
		return fmt.Sprintf("%s/%s (%s)", kind, name, apiVersion)
	}
	return fmt.Sprintf("%s/%s/%s (%s)", kind, namespace, name, apiVersion)
}

func hash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:12])
}

// errOffline is what any HTTP request the replay's own kustomize makes
// gets: remote resources are never fetched.
var errOffline = errors.New("replay: remote resources are not fetched")

type offlineTransport struct{}

func (offlineTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, errOffline }

// isRemoteError recognises a build that failed because it needed the
// network (an HTTP resource, or a git clone the offline environment
// refused).
func isRemoteError(err error) bool {
	s := err.Error()
	for _, m := range []string{errOffline.Error(), "git fetch", "git clone", "transport", "protocol", "127.0.0.1:9"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// readKind says how a build looked at a path.
type readKind uint8

const (
	readFile  readKind = 1 << iota // content read
	readProbe                      // existence or type asked: anything below may change the answer
	readList                       // listed or walked: anything below counts
)

// recordingFS is the disk, recording the path of every call a build makes.
type recordingFS struct {
	filesys.FileSystem
	top   string
	mu    sync.Mutex
	paths map[string]readKind // absolute
}

func (r *recordingFS) note(p string, k readKind) {
	r.mu.Lock()
	r.paths[filepath.Clean(p)] |= k
	r.mu.Unlock()
}

// ReadFile implements filesys.FileSystem.
func (r *recordingFS) ReadFile(p string) ([]byte, error) {
	r.note(p, readFile)
	return r.FileSystem.ReadFile(p)
}

// Open implements filesys.FileSystem.
func (r *recordingFS) Open(p string) (filesys.File, error) {
	r.note(p, readFile)
	return r.FileSystem.Open(p)
}

// IsDir implements filesys.FileSystem.
func (r *recordingFS) IsDir(p string) bool {
	r.note(p, readProbe)
	return r.FileSystem.IsDir(p)
}

// Exists implements filesys.FileSystem.
func (r *recordingFS) Exists(p string) bool {
	r.note(p, readProbe)
	return r.FileSystem.Exists(p)
}

// CleanedAbs implements filesys.FileSystem.
func (r *recordingFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	r.note(p, readProbe)
	return r.FileSystem.CleanedAbs(p)
}

// ReadDir implements filesys.FileSystem.
func (r *recordingFS) ReadDir(p string) ([]string, error) {
	r.note(p, readList)
	return r.FileSystem.ReadDir(p)
}

// Walk implements filesys.FileSystem.
func (r *recordingFS) Walk(p string, fn filepath.WalkFunc) error {
	r.note(p, readList)
	return r.FileSystem.Walk(p, fn)
}

// Glob implements filesys.FileSystem: the directory the pattern lists.
func (r *recordingFS) Glob(pattern string) ([]string, error) {
	dir := pattern
	for strings.ContainsAny(dir, `*?[\`) {
		dir = filepath.Dir(dir)
	}
	r.note(dir, readList)
	return r.FileSystem.Glob(pattern)
}

// readSet is what one build read, relative to the top of its tree, with
// every path also recorded where it leads through symlinks.
type readSet struct {
	Files   map[string]bool   // content read
	Under   map[string]bool   // listed directories: a change below counts
	Through map[string]bool   // ancestors of the above: a change there (a symlink, a directory turned file) counts
	Probes  map[string]probe  // existence or type asked, with the answer the build got
	Via     map[string]string // a path reached through a symlink → the path the build asked for
	Outside bool              // the build looked outside the tree: never reuse
}

// probe is what the file system said about a path: what is there, and
// where symlinks lead. Kustomize asks whether every base directory, every
// resource and every kustomization file name exists; comparing the answers
// at the next commit, rather than taking any change below a probed
// directory as a change, keeps reuse high in directories full of files no
// build reads.
type probe struct {
	Kind byte   // 'm' missing, 'f' file, 'd' directory
	Real string // where the path leads, relative to the top ("" when missing, "!" when outside)
}

func statProbe(top, rel string) probe {
	abs := filepath.Join(top, filepath.FromSlash(rel))
	fi, err := os.Stat(abs)
	if err != nil {
		return probe{Kind: 'm'}
	}
	p := probe{Kind: 'f', Real: "!"}
	if fi.IsDir() {
		p.Kind = 'd'
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		if r, ok := relInside(top, real); ok {
			p.Real = r
		}
	}
	return p
}

func (r *recordingFS) readSet() *readSet {
	s := &readSet{Files: map[string]bool{}, Under: map[string]bool{}, Through: map[string]bool{},
		Probes: map[string]probe{}, Via: map[string]string{}}
	r.mu.Lock()
	defer r.mu.Unlock()
	for p, k := range r.paths {
		asked, ok := relInside(r.top, p)
		if !ok {
			s.Outside = true
			continue
		}
		if k&readProbe != 0 {
			s.Probes[asked] = statProbe(r.top, asked)
		}
		s.add(asked, k)
		if real, err := filepath.EvalSymlinks(p); err == nil && real != p {
			rel, ok := relInside(r.top, real)
			if !ok {
				s.Outside = true
				continue
			}
			s.add(rel, k)
			s.Via[rel] = asked
		}
	}
	return s
}

func (s *readSet) add(rel string, k readKind) {
	if k&(readFile|readList) == 0 {
		return
	}
	if k&readFile != 0 {
		s.Files[rel] = true
	}
	if k&readList != 0 {
		s.Under[rel] = true
	}
	for d := rel; d != "."; {
		d = parentDir(d)
		s.Through[d] = true
	}
}

// stale reports whether the build may read something else in the tree at
// top, which differs from the tree it ran in by the changed paths.
func (s *readSet) stale(top string, changed []string) bool {
	if s.Outside || len(s.touchedBy(changed)) > 0 {
		return true
	}
	for rel, p := range s.Probes {
		if statProbe(top, rel) != p {
			return true
		}
	}
	return false
}

// touchedBy returns the changed paths that can change what the build read.
func (s *readSet) touchedBy(changed []string) []string {
	var out []string
	for _, c := range changed {
		_, probed := s.Probes[c]
		if s.Files[c] || s.Through[c] || probed || s.Under["."] {
			out = append(out, c)
			continue
		}
		for d := c; d != "."; {
			d = parentDir(d)
			if s.Under[d] {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// relInside returns an absolute path relative to top, slash-separated, if
// it is inside top.
func relInside(top, p string) (string, bool) {
	rel, err := filepath.Rel(top, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

func parentDir(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return "."
}
