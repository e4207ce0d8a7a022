package generator

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bmatcuk/doublestar/v4"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// diagnosticsOf lists a scan's diagnostics of one kind.
func diagnosticsOf(r *Repo, kind string) []string {
	out := []string{}
	for _, d := range r.Diagnostics {
		if d.Kind == kind {
			out = append(out, d.String())
		}
	}
	return out
}

// TestCycleKeepsRoots: kustomizations that reference each other in a ring
// are referenced, so none of them was a root and the ring vanished from the
// plan without a word. Each stays a target, with a [cycle] diagnostic that
// names the ring.
func TestCycleKeepsRoots(t *testing.T) {
	cases := map[string]struct {
		files       map[string]string
		config      string
		wantTargets []string
		wantCycle   []string // substrings of the ring diagnostic
	}{
		"base references its own overlay": {
			files: map[string]string{
				"apps/x/base/kustomization.yaml":          "resources:\n  - ../overlays/prod\n",
				"apps/x/overlays/prod/kustomization.yaml": "resources:\n  - ../../base\n",
			},
			wantTargets: []string{"base default apps/x/base", "x prod apps/x/overlays/prod"},
			wantCycle:   []string{"apps/x/base/kustomization.yaml:2:5: ", "apps/x/base -> apps/x/overlays/prod -> apps/x/base"},
		},
		"three directories in a ring": {
			files: map[string]string{
				"apps/r/a/kustomization.yaml": "resources:\n  - ../b\n",
				"apps/r/b/kustomization.yaml": "resources:\n  - ../c\n",
				"apps/r/c/kustomization.yaml": "resources:\n  - ../a\n",
			},
			wantTargets: []string{"a default apps/r/a", "b default apps/r/b", "c default apps/r/c"},
			wantCycle:   []string{"apps/r/a -> apps/r/b -> apps/r/c -> apps/r/a"},
		},
		"a ring with a base below it": {
			files: map[string]string{
				"apps/r/a/kustomization.yaml":    "resources:\n  - ../b\n  - ../base\n",
				"apps/r/b/kustomization.yaml":    "resources:\n  - ../a\n",
				"apps/r/base/kustomization.yaml": "resources: []\n",
			},
			wantTargets: []string{"a default apps/r/a", "b default apps/r/b"},
			wantCycle:   []string{"apps/r/a -> apps/r/b -> apps/r/a"},
		},
		"a ring some root includes is no root": {
			files: map[string]string{
				"apps/r/prod/kustomization.yaml": "resources:\n  - ../a\n",
				"apps/r/a/kustomization.yaml":    "resources:\n  - ../b\n",
				"apps/r/b/kustomization.yaml":    "resources:\n  - ../a\n",
			},
			wantTargets: []string{"r prod apps/r/prod"},
		},
		"the configuration excludes a ring": {
			files: map[string]string{
				"apps/r/a/kustomization.yaml": "resources:\n  - ../b\n",
				"apps/r/b/kustomization.yaml": "resources:\n  - ../a\n",
				"apps/s/kustomization.yaml":   "resources: []\n",
			},
			config:      "discovery:\n  exclude: [\"apps/r/**\"]\n",
			wantTargets: []string{"s default apps/s"},
			wantCycle:   []string{"apps/r/a -> apps/r/b -> apps/r/a"},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			th := newScenario(t)
			for p, content := range c.files {
				th.write(p, content)
			}
			r := th.scan(th.config(c.config))
			th.expect("targets", c.wantTargets, targetList(r))
			cycles := diagnosticsOf(r, KindCycle)
			for _, want := range c.wantCycle {
				if !slices.ContainsFunc(cycles, func(d string) bool { return strings.Contains(d, want) }) {
					t.Errorf("no [cycle] diagnostic holds %q; [cycle] diagnostics: %q", want, cycles)
				}
			}
		})
	}
}

// TestUnparseableNeverPromotes: an overlay that does not parse may still
// reference its base, however garbled the reference: the base must not
// become a deploy target of its own (a job that applies a bare base).
func TestUnparseableNeverPromotes(t *testing.T) {
	// followed: lenientRefs finds the base as written, so it is referenced
	// and nothing needs holding back.
	// wordless: nothing in the text names anything, so the bases of the
	// overlay's service are held back, apps/x/tools among them.
	garbled := map[string]struct {
		text               string
		followed, wordless bool
	}{
		"a flow sequence without spaces": {text: "resources: [../../base,namespace.yaml]\n namespace: x\n"},
		"a byte garbled in the path":     {text: "resources:\n  - ../../b\xffase\n"},
		"a character garbled":            {text: "resources:\n  - ../../bqse\n\tnamespace: x\n"},
		"a truncated path":               {text: "resources:\n  - ../../bas\n namespace: x\n"},
		"an unterminated quote":          {text: "resources:\n  - \"../../base\nnamespace: x\n", followed: true},
		// Nothing left to read: the base of the overlay's service is held.
		"truncated to nothing": {text: "", wordless: true},
		"only a comment left":  {text: "# resources:\n", wordless: true},
		"garbage":              {text: "\x00\x01\x02garbage", wordless: true},
	}
	for name, c := range garbled {
		t.Run(name, func(t *testing.T) {
			th := newScenario(t)
			th.write("apps/x/base/kustomization.yaml", "resources:\n  - cm.yaml\n")
			th.files("apps/x/base/cm.yaml")
			th.write("apps/x/overlays/prod/kustomization.yaml", c.text)
			th.write("apps/x/overlays/staging/kustomization.yaml", "resources:\n  - ../../base-staging\n")
			th.write("apps/x/base-staging/kustomization.yaml", "resources: []\n")
			th.write("apps/y/overlays/prod/kustomization.yaml", "resources: []\n")
			th.write("apps/x/tools/kustomization.yaml", "resources: []\n")
			r := th.scan(nil)
			want := []string{"tools default apps/x/tools", "x prod apps/x/overlays/prod", "x staging apps/x/overlays/staging", "y prod apps/y/overlays/prod"}
			if c.wordless {
				want = want[1:]
			}
			th.expect("targets", want, targetList(r))
			if in := th.inputs(r, "apps/x/overlays/prod"); !slices.Contains(in, "apps/x/base/cm.yaml") {
				t.Errorf("the broken overlay's inputs %q lack its base's files", in)
			}
			held := diagnosticsOf(r, KindYAML)
			if !c.followed && !slices.ContainsFunc(held, func(d string) bool {
				return strings.HasPrefix(d, "apps/x/base/kustomization.yaml: ") && strings.Contains(d, "apps/x/overlays/prod/kustomization.yaml")
			}) {
				t.Errorf("no diagnostic says why apps/x/base is no target: %q", held)
			}
		})
	}
}

// permissionFS is a file system in which some directories cannot be read,
// as a directory of mode 000 for a user other than root: a walk meets a
// permission error there, and nothing below it can be read or stat'ed.
type permissionFS struct {
	filesys.FileSystem
	denied []string // absolute directories
}

func (p permissionFS) inside(name string) bool {
	for _, d := range p.denied {
		if strings.HasPrefix(name, d+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

func permissionError(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: fs.ErrPermission}
}

func (p permissionFS) Walk(root string, fn filepath.WalkFunc) error {
	// The in-memory Walk goes on after an error from fn (only SkipDir
	// stops it): keep the first error, stop there, and return it.
	var stop error
	err := p.FileSystem.Walk(root, func(name string, info fs.FileInfo, err error) error {
		if stop != nil || p.inside(name) {
			return filepath.SkipDir
		}
		if err == nil && info.IsDir() && slices.Contains(p.denied, name) {
			// As filepath.Walk: the directory first, then the error reading it.
			if err = fn(name, info, nil); err == nil {
				err = fn(name, info, permissionError("open", name))
			}
			if err != nil && err != filepath.SkipDir {
				stop = err
			}
			return filepath.SkipDir
		}
		if err = fn(name, info, err); err != nil && err != filepath.SkipDir {
			stop = err
			return filepath.SkipDir
		}
		return err
	})
	if stop != nil {
		return stop
	}
	return err
}

func (p permissionFS) ReadFile(name string) ([]byte, error) {
	if p.inside(name) {
		return nil, permissionError("open", name)
	}
	return p.FileSystem.ReadFile(name)
}

func (p permissionFS) Exists(name string) bool { return !p.inside(name) && p.FileSystem.Exists(name) }
func (p permissionFS) IsDir(name string) bool  { return !p.inside(name) && p.FileSystem.IsDir(name) }

// unreadableRepo is a repository with two directories nobody may read: one
// a target's base reads from, one no target reaches.
func unreadableRepo(th *scenario) {
	th.write("apps/x/base/kustomization.yaml", "resources:\n  - cm.yaml\nconfigMapGenerator:\n  - name: keys\n    files:\n      - secret/key.txt\n")
	th.files("apps/x/base/cm.yaml", "apps/x/base/secret/key.txt", "apps/x/base/secret/kustomization.yaml")
	th.write("apps/x/overlays/prod/kustomization.yaml", "resources:\n  - ../../base\n")
	th.write("apps/y/overlays/prod/kustomization.yaml", "resources: []\n")
	// Does not parse: reads its whole directory, around the unreadable one.
	th.write("apps/z/kustomization.yaml", "resources: [\n")
	th.files("apps/z/cache/.keep")
	th.files("terraform/.terraform/providers/x.json", "terraform/main.tf")
}

// TestUnreadableDirectory: one unreadable directory (terraform/.terraform,
// mode 000) failed the whole scan. It is a diagnostic: for each target that
// reaches into it, and on its own when none does.
func TestUnreadableDirectory(t *testing.T) {
	check := func(t *testing.T, th *scenario, r *Repo, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		th.expect("targets", []string{"x prod apps/x/overlays/prod", "y prod apps/y/overlays/prod", "z default apps/z"}, targetList(r))
		got := diagnosticsOf(r, KindUnreadable)
		want := []string{
			`apps/x/base/secret: directory cannot be read (permission denied): target apps/x/overlays/prod reads from it; a kustomization or a change in it is not seen [unreadable]`,
			`apps/z/cache: directory cannot be read (permission denied): target apps/z reads from it; a kustomization or a change in it is not seen [unreadable]`,
			`terraform/.terraform: directory cannot be read (permission denied); no target reads from it, skipped [unreadable]`,
		}
		th.expect("unreadable diagnostics", want, got)
	}
	t.Run("file system", func(t *testing.T) {
		th := newScenario(t)
		unreadableRepo(th)
		th.fs = permissionFS{FileSystem: th.fs, denied: []string{"/repo/apps/x/base/secret", "/repo/apps/z/cache", "/repo/terraform/.terraform"}}
		r, err := Scan(th.fs, th.repo, th.config(""))
		check(t, th, r, err)
	})
	t.Run("disk", func(t *testing.T) {
		th := newDiskScenario(t)
		unreadableRepo(th)
		denied := []string{filepath.Join(th.repo, "apps/x/base/secret"), filepath.Join(th.repo, "apps/z/cache"), filepath.Join(th.repo, "terraform/.terraform")}
		for _, d := range denied {
			if err := os.Chmod(d, 0); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(d, 0o755) })
		}
		if os.Geteuid() == 0 {
			// Root reads a directory of mode 000: make os.ReadDir say what
			// it says to anyone else.
			old := readDir
			readDir = func(name string) ([]os.DirEntry, error) {
				if slices.Contains(denied, name) {
					return nil, permissionError("open", name)
				}
				return old(name)
			}
			t.Cleanup(func() { readDir = old })
		}
		r, err := Scan(th.fs, th.repo, th.config(""))
		check(t, th, r, err)
	})
	t.Run("other errors still fail the scan", func(t *testing.T) {
		th := newDiskScenario(t)
		unreadableRepo(th)
		boom := errors.New("input/output error")
		old := readDir
		readDir = func(name string) ([]os.DirEntry, error) {
			if strings.HasSuffix(name, "terraform") {
				return nil, boom
			}
			return old(name)
		}
		t.Cleanup(func() { readDir = old })
		if _, err := Scan(th.fs, th.repo, th.config("")); !errors.Is(err, boom) {
			t.Fatalf("Scan: got %v, want %v", err, boom)
		}
	})
}

// TestPathsMustRoundTrip: a path kustomatrix writes into the paths file
// that is not valid UTF-8 was written as U+FFFD, a path that does not exist:
// affected never matched it. Such a path, or one holding a control
// character (but a tab, see PathProblem), is a *ConfigError naming it
// (quoted).
func TestPathsMustRoundTrip(t *testing.T) {
	for name, bad := range map[string]string{
		"not UTF-8":         "data\xfe",
		"not UTF-8, a glob": "data\xfe[1]",
		"a line break":      "data\nx",
		"an escape":         "data\x1b[31m",
	} {
		t.Run(name, func(t *testing.T) {
			th := newDiskScenario(t)
			th.write("apps/y/overlays/prod/kustomization.yaml", "resources:\n  - cm.yaml\n")
			th.files("apps/" + bad + "/cm.yaml")
			if err := os.Symlink("../../../"+bad+"/cm.yaml", filepath.Join(th.repo, "apps/y/overlays/prod/cm.yaml")); err != nil {
				t.Fatal(err)
			}
			_, err := th.scanErr(nil)
			problems := problemList(err)
			if len(problems) == 0 {
				t.Fatalf("Scan: got %v, want a *ConfigError", err)
			}
			quoted := strings.TrimSuffix(strings.TrimPrefix(quoteIfNeeded("apps/"+bad+"/cm.yaml"), `"`), `"`)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, quoted) }) {
				t.Errorf("no problem names %s: %q", quoted, problems)
			}
		})
	}
}

// TestUnparseableHoldsNoOtherRoot: holding back is for what a broken
// kustomization may reference, never a way to lose healthy targets: its
// sibling overlays, other services, a root of its own service its text does
// not name, and the directories above it stay targets.
func TestUnparseableHoldsNoOtherRoot(t *testing.T) {
	for name, broken := range map[string]string{
		"its base read as written": "resources:\n  - ../../base\n\tnamespace: x\n",
		"its base garbled":         "resources:\n  - ../../bqse\n\tnamespace: x\n",
	} {
		t.Run(name, func(t *testing.T) {
			th := newScenario(t)
			th.write("apps/x/base/kustomization.yaml", "resources: []\n")
			th.write("apps/x/overlays/prod/kustomization.yaml", broken)
			th.write("apps/x/overlays/staging/kustomization.yaml", "resources: []\n")
			th.write("apps/x/tools/kustomization.yaml", "resources: []\n")
			th.write("apps/x/overlays/kustomization.yaml", "resources: []\n")
			th.write("apps/y/base/kustomization.yaml", "resources: []\n")
			r := th.scan(nil)
			th.expect("targets", []string{
				"base default apps/y/base", "tools default apps/x/tools", "x default apps/x/overlays",
				"x prod apps/x/overlays/prod", "x staging apps/x/overlays/staging",
			}, targetList(r))
		})
	}
}

// TestNoKustomizationLost holds root determination to its promise on random
// repositories (references at random, rings included, some files garbled
// or emptied): every kustomization is a target, or read by one, or named by
// a diagnostic. None vanishes quietly.
func TestNoKustomizationLost(t *testing.T) {
	dirs := []string{"apps/a/base", "apps/a/overlays/dev", "apps/a/overlays/prod", "apps/b/base", "apps/b/prod", "shared/common"}
	rnd := rand.New(rand.NewPCG(12, 12))
	for i := range 400 {
		th := newScenario(t)
		var present []string
		for _, d := range dirs {
			if rnd.IntN(5) > 0 {
				present = append(present, d)
			}
		}
		for _, d := range present {
			var b strings.Builder
			b.WriteString("resources:\n")
			for _, o := range present {
				if o != d && rnd.IntN(3) == 0 {
					rel, _ := filepath.Rel(d, o)
					b.WriteString("  - " + rel + "\n")
				}
			}
			text := b.String()
			switch rnd.IntN(8) {
			case 0: // a byte garbled
				if j := rnd.IntN(len(text)); true {
					text = text[:j] + string(rune('!'+rnd.IntN(90))) + text[j+1:]
				}
			case 1: // truncated
				text = text[:rnd.IntN(len(text)+1)]
			case 2: // broken indentation
				text += " \tnamespace: x\n"
			}
			th.write(d+"/kustomization.yaml", text)
		}
		r, err := Scan(th.fs, th.repo, th.config(""))
		if err != nil {
			continue // two roots with one name: a *ConfigError, loud
		}
		for _, d := range present {
			file := d + "/kustomization.yaml"
			ok := slices.ContainsFunc(r.Targets, func(tg *Target) bool {
				return tg.Path == d || slices.ContainsFunc(tg.Inputs, func(in string) bool {
					m, _ := doublestar.Match(in, file)
					return m
				})
			}) || slices.ContainsFunc(r.Diagnostics, func(dg Diagnostic) bool { return dg.Path == file })
			if !ok {
				var files []string
				for _, p := range present {
					data, _ := th.fs.ReadFile(filepath.Join(th.repo, p, "kustomization.yaml"))
					files = append(files, fmt.Sprintf("%s: %q", p, data))
				}
				t.Fatalf("repository %d: %s is no target, read by none, with no diagnostic\n%s\ntargets: %q\ndiagnostics: %q",
					i, d, strings.Join(files, "\n"), targetList(r), diagnosticList(r))
			}
		}
	}
}

// TestUnreadableTargetIsNotRemoved: a target whose directory the head
// scan cannot read is not known to be gone: it is never listed as removed
// (which prunes), only reported as [unreadable].
func TestUnreadableTargetIsNotRemoved(t *testing.T) {
	base := newScenario(t)
	unreadableRepo(base)
	baseRepo := base.scan(base.config(""))
	head := newScenario(t)
	unreadableRepo(head)
	head.fs = permissionFS{FileSystem: head.fs, denied: []string{"/repo/apps/y/overlays/prod"}}
	r, err := Scan(head.fs, head.repo, head.config(""))
	if err != nil {
		t.Fatal(err)
	}
	got := Affected(r, ChangeSet{Files: []string{"apps/y/overlays/prod/kustomization.yaml"}, Base: baseRepo})
	if len(got.Removed) != 0 {
		t.Fatalf("removed %+v: an unreadable target is not known to be gone", got.Removed)
	}
	if len(diagnosticsOf(r, KindUnreadable)) == 0 {
		t.Fatal("no [unreadable] diagnostic")
	}
}
