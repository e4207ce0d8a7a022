package generator_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kustomatrix/kustomatrix/generator"
)

// symlinkCase is a repository with symbolic links, and what kustomize
// makes of it.
type symlinkCase struct {
	files map[string]string // path: content
	// links are path: target; a target starting with $REPO/ or $OUT/ is
	// absolute, in the repository or in a directory outside it.
	links  map[string]string
	config string              // .kustomatrix.yaml
	roots  []string            // the targets
	inputs map[string][]string // root: paths its inputs must cover, beyond what kustomize reads
	diags  []string            // every diagnostic, as printed
	fails  []string            // the roots kustomize fails to build
	// Without Readlink (CleanedAbs only gives where a link leads), the
	// inputs miss readlinkOnly (the middle of a chain, where a dangling
	// link points), and a loop of links is a link leading nowhere: walkKinds
	// replaces the kinds of diags ("-": a diagnostic only Readlink gives).
	readlinkOnly []string
	walkKinds    []string
}

const (
	cm         = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"
	cmPatch    = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  k: v\n"
	noRestrict = "kustomize:\n  loadRestrictor: none\n"
)

// symlinkCases are the shapes of issue #9 point 4, "Symlinks like
// kustomize": kustomize follows links as the operating system does, and
// under its default rootOnly load restrictor refuses a file whose real
// path is outside the kustomization's (real) directory.
var symlinkCases = map[string]symlinkCase{
	// fluxcd/flux2#3619: environments share a base by `ln -sn`. The base
	// is a base; it resolves its own references from its real directory.
	"directory link as a base": {
		files: map[string]string{
			"common/base/kustomization.yaml":          "resources:\n- cm.yaml\n- ../extra\n",
			"common/base/cm.yaml":                     cm,
			"common/extra/kustomization.yaml":         "resources:\n- cm.yaml\n",
			"common/extra/cm.yaml":                    strings.Replace(cm, "name: cm", "name: extra", 1),
			"apps/a/overlays/prod/kustomization.yaml": "resources:\n- ../base-link\n",
		},
		links: map[string]string{"apps/a/overlays/base-link": "../../../common/base"},
		roots: []string{"apps/a/overlays/prod"},
		inputs: map[string][]string{"apps/a/overlays/prod": {
			"apps/a/overlays/base-link", "common/base/cm.yaml", "common/base/kustomization.yaml", "common/extra/cm.yaml",
		}},
	},
	"chain of directory links": {
		files: map[string]string{
			"common/base/kustomization.yaml": "resources:\n- cm.yaml\n",
			"common/base/cm.yaml":            cm,
			"app/prod/kustomization.yaml":    "resources:\n- ../l1\n",
		},
		links: map[string]string{"app/l1": "l2", "app/l2": "../common/base"},
		roots: []string{"app/prod"},
		inputs: map[string][]string{"app/prod": {
			"app/l1", "app/l2", "common/base/cm.yaml", "common/base/kustomization.yaml",
		}},
		readlinkOnly: []string{"app/l2"},
	},
	"absolute link into the repository": {
		files: map[string]string{
			"common/base/kustomization.yaml": "resources:\n- cm.yaml\n",
			"common/base/cm.yaml":            cm,
			"app/prod/kustomization.yaml":    "resources:\n- ../base\n",
		},
		links:  map[string]string{"app/base": "$REPO/common/base"},
		roots:  []string{"app/prod"},
		inputs: map[string][]string{"app/prod": {"app/base", "common/base/cm.yaml"}},
	},
	"link in the middle of a path": {
		files: map[string]string{
			"real/base/kustomization.yaml": "resources:\n- cm.yaml\n",
			"real/base/cm.yaml":            cm,
			"app/prod/kustomization.yaml":  "resources:\n- ../../shared/link/base\n",
		},
		links:  map[string]string{"shared/link": "../real"},
		roots:  []string{"app/prod"},
		inputs: map[string][]string{"app/prod": {"shared/link", "real/base/cm.yaml", "real/base/kustomization.yaml"}},
	},
	"linked file inside the root": {
		files: map[string]string{
			"app/kustomization.yaml": "resources:\n- r.yaml\n",
			"app/data/cm.yaml":       cm,
		},
		links:        map[string]string{"app/r.yaml": "r2.yaml", "app/r2.yaml": "data/cm.yaml"},
		roots:        []string{"app"},
		inputs:       map[string][]string{"app": {"app/r.yaml", "app/r2.yaml", "app/data/cm.yaml"}},
		readlinkOnly: []string{"app/r2.yaml"},
	},
	"linked file outside the root, rootOnly": {
		files: map[string]string{
			"app/kustomization.yaml":   "resources:\n- cm.yaml\npatches:\n- path: p.yaml\n",
			"app/cm.yaml":              cm,
			"other/kustomization.yaml": "resources:\n- r.yaml\n",
			"shared/p.yaml":            cmPatch,
			"shared/cm.yaml":           cm,
		},
		links: map[string]string{"app/p.yaml": "../shared/p.yaml", "other/r.yaml": "../shared/cm.yaml"},
		roots: []string{"app", "other"},
		inputs: map[string][]string{
			"app":   {"app/p.yaml", "shared/p.yaml"},
			"other": {"other/r.yaml", "shared/cm.yaml"},
		},
		diags: []string{
			`app/kustomization.yaml:4:9: patches "p.yaml" is a symbolic link to "shared/p.yaml", outside "app"; kustomize's load restrictor rootOnly rejects it (set kustomize.loadRestrictor: none to allow it) [load-restrictor]`,
			`other/kustomization.yaml:2:3: resources "r.yaml" is a symbolic link to "shared/cm.yaml", outside "other"; kustomize's load restrictor rootOnly rejects it (set kustomize.loadRestrictor: none to allow it) [load-restrictor]`,
		},
		fails: []string{"app", "other"},
	},
	"linked file outside the root, none": {
		files: map[string]string{
			"app/kustomization.yaml":   "resources:\n- cm.yaml\npatches:\n- path: p.yaml\n",
			"app/cm.yaml":              cm,
			"other/kustomization.yaml": "resources:\n- r.yaml\n",
			"shared/p.yaml":            cmPatch,
			"shared/cm.yaml":           cm,
			".kustomatrix.yaml":        noRestrict,
		},
		links: map[string]string{"app/p.yaml": "../shared/p.yaml", "other/r.yaml": "../shared/cm.yaml"},
		roots: []string{"app", "other"},
		inputs: map[string][]string{
			"app":   {"app/p.yaml", "shared/p.yaml"},
			"other": {"other/r.yaml", "shared/cm.yaml"},
		},
	},
	"generator source through a link, rootOnly": {
		files: map[string]string{
			"app/kustomization.yaml": "configMapGenerator:\n- name: conf\n  files:\n  - conf.txt\n",
			"shared/conf.txt":        "x=1\n",
		},
		links:  map[string]string{"app/conf.txt": "../shared/conf.txt"},
		roots:  []string{"app"},
		inputs: map[string][]string{"app": {"app/conf.txt", "shared/conf.txt"}},
		diags: []string{
			`app/kustomization.yaml:4:5: configMapGenerator "conf.txt" is a symbolic link to "shared/conf.txt", outside "app"; kustomize's load restrictor rootOnly rejects it (set kustomize.loadRestrictor: none to allow it) [load-restrictor]`,
		},
		fails: []string{"app"},
	},
	"linked kustomization file, none": {
		files: map[string]string{
			"shared/kustomization.yaml": "resources:\n- cm.yaml\n",
			"shared/cm.yaml":            cm,
			"app/cm.yaml":               cm,
			".kustomatrix.yaml":         noRestrict,
		},
		links:  map[string]string{"app/kustomization.yaml": "../shared/kustomization.yaml"},
		roots:  []string{"app", "shared"},
		inputs: map[string][]string{"app": {"app/kustomization.yaml", "shared/kustomization.yaml", "app/cm.yaml"}},
	},
	"linked kustomization file, rootOnly": {
		files: map[string]string{
			"shared/kustomization.yaml": "resources:\n- cm.yaml\n",
			"shared/cm.yaml":            cm,
			"app/cm.yaml":               cm,
		},
		links:  map[string]string{"app/kustomization.yaml": "../shared/kustomization.yaml"},
		roots:  []string{"app", "shared"},
		inputs: map[string][]string{"app": {"app/kustomization.yaml", "shared/kustomization.yaml", "app/cm.yaml"}},
		diags: []string{
			`app/kustomization.yaml: kustomization file is a symbolic link to "shared/kustomization.yaml", outside "app"; kustomize's load restrictor rootOnly rejects it and finds no kustomization here (set kustomize.loadRestrictor: none to allow it) [load-restrictor]`,
		},
		fails: []string{"app"},
	},
	"dangling kustomization file": {
		files: map[string]string{"ok/kustomization.yaml": "resources:\n- cm.yaml\n", "ok/cm.yaml": cm},
		links: map[string]string{"app/kustomization.yaml": "../nowhere.yaml"},
		// Still a target, which fails to build: never vanishing as if
		// deleted (a removed target is pruned).
		roots: []string{"app", "ok"},
		fails: []string{"app"},
		diags: []string{
			`app/kustomization.yaml: kustomization cannot be read (no such file or directory): kustomize will fail to build it [yaml]`,
			`app/kustomization.yaml: kustomization file is a symbolic link to "nowhere.yaml", outside "app"; kustomize's load restrictor rootOnly rejects it and finds no kustomization here (set kustomize.loadRestrictor: none to allow it) [load-restrictor]`,
		},
		// Without readlink, where the link leads is not known.
		walkKinds: []string{"yaml", "-"},
	},
	"dangling link": {
		files: map[string]string{"app/kustomization.yaml": "resources:\n- base\n"},
		links: map[string]string{"app/base": "../nowhere/base"},
		roots: []string{"app"},
		// Creating the missing directory, or fixing the link, is a change.
		inputs: map[string][]string{"app": {"app/base", "nowhere/base"}},
		diags: []string{
			`app/kustomization.yaml:2:3: resources "base" is a dangling symbolic link: "app/base" leads to "nowhere/base", which does not exist [missing]`,
		},
		fails:        []string{"app"},
		readlinkOnly: []string{"nowhere/base"},
	},
	"loop of links": {
		files:  map[string]string{"app/kustomization.yaml": "resources:\n- loop1\n"},
		links:  map[string]string{"app/loop1": "loop2", "app/loop2": "loop1"},
		roots:  []string{"app"},
		inputs: map[string][]string{"app": {"app/loop1", "app/loop2"}},
		diags: []string{
			`app/kustomization.yaml:2:3: resources "loop1" goes round a loop of symbolic links from "app/loop1" [cycle]`,
		},
		fails:        []string{"app"},
		readlinkOnly: []string{"app/loop2"},
		walkKinds:    []string{"missing"},
	},
	"link to a parent directory": {
		files: map[string]string{
			"app/kustomization.yaml":    "resources:\n- up/shared\n- up\n",
			"shared/kustomization.yaml": "resources:\n- cm.yaml\n",
			"shared/cm.yaml":            cm,
		},
		links:  map[string]string{"app/up": ".."},
		roots:  []string{"app"},
		inputs: map[string][]string{"app": {"app/up", "shared/cm.yaml"}},
		diags: []string{
			`app/kustomization.yaml:3:3: resources "up" is ".", a parent directory of this kustomization; kustomize refuses it as a cycle [cycle]`,
		},
		fails: []string{"app"},
	},
	"link out of the repository": {
		files: map[string]string{
			"app/kustomization.yaml": "resources:\n- base\n",
		},
		links:  map[string]string{"app/base": "$OUT/base"},
		roots:  []string{"app"},
		inputs: map[string][]string{"app": {"app/base"}},
		diags: []string{
			`app/kustomization.yaml:2:3: resources "base" leaves the repository through the symbolic link "app/base": only a change git records (in the git repository around a manifest repository in a subdirectory) marks this target [escape]`,
		},
	},
	"file link out of the repository, rootOnly": {
		files: map[string]string{
			"app/kustomization.yaml": "resources:\n- cm.yaml\npatches:\n- path: p.yaml\n",
			"app/cm.yaml":            cm,
		},
		links:  map[string]string{"app/p.yaml": "$OUT/p.yaml"},
		roots:  []string{"app"},
		inputs: map[string][]string{"app": {"app/p.yaml"}},
		diags: []string{
			`app/kustomization.yaml:4:9: patches "p.yaml" is a symbolic link to "$OUT/p.yaml", outside "app"; kustomize's load restrictor rootOnly rejects it (set kustomize.loadRestrictor: none to allow it) [load-restrictor]`,
		},
		fails: []string{"app"},
	},
	"file link out of the repository, none": {
		files: map[string]string{
			"app/kustomization.yaml": "resources:\n- cm.yaml\npatches:\n- path: p.yaml\n",
			"app/cm.yaml":            cm,
			".kustomatrix.yaml":      noRestrict,
		},
		links:  map[string]string{"app/p.yaml": "$OUT/p.yaml"},
		roots:  []string{"app"},
		inputs: map[string][]string{"app": {"app/p.yaml"}},
		diags: []string{
			`app/kustomization.yaml:4:9: patches "p.yaml" leaves the repository through the symbolic link "app/p.yaml": only a change git records (in the git repository around a manifest repository in a subdirectory) marks this target [escape]`,
		},
	},
	"kustomization file link out of the repository, rootOnly": {
		files:  map[string]string{"app/cm.yaml": cm},
		links:  map[string]string{"app/kustomization.yaml": "$OUT/base/kustomization.yaml"},
		roots:  []string{"app"},
		inputs: map[string][]string{"app": {"app/kustomization.yaml", "app/cm.yaml"}},
		diags: []string{
			`app/kustomization.yaml: kustomization file is a symbolic link to "$OUT/base/kustomization.yaml", outside "app"; kustomize's load restrictor rootOnly rejects it and finds no kustomization here (set kustomize.loadRestrictor: none to allow it) [load-restrictor]`,
		},
		fails: []string{"app"},
	},
	"kustomization file link out of the repository, none": {
		files:  map[string]string{"app/cm.yaml": cm, ".kustomatrix.yaml": noRestrict},
		links:  map[string]string{"app/kustomization.yaml": "$OUT/base/kustomization.yaml"},
		roots:  []string{"app"},
		inputs: map[string][]string{"app": {"app/kustomization.yaml", "app/cm.yaml"}},
		diags: []string{
			`app/kustomization.yaml: kustomization file is a symbolic link out of the repository: its changes cannot be tracked [escape]`,
		},
	},
	// Not a link, but the shape a link to a parent directory takes.
	"parent directory, without a link": {
		files: map[string]string{
			"app/kustomization.yaml":     "resources:\n- cm.yaml\n",
			"app/cm.yaml":                cm,
			"app/sub/kustomization.yaml": "resources:\n- ..\n",
		},
		roots: []string{"app/sub"},
		diags: []string{
			`app/sub/kustomization.yaml:2:3: resources ".." is "app", a parent directory of this kustomization; kustomize refuses it as a cycle [cycle]`,
		},
		fails: []string{"app/sub"},
	},
	// The walk does not descend links: a link to a directory of roots
	// does not make them roots twice.
	"link to a directory of roots": {
		files: map[string]string{
			"apps/a/kustomization.yaml": "resources:\n- cm.yaml\n",
			"apps/a/cm.yaml":            cm,
		},
		links: map[string]string{"mirror": "apps"},
		roots: []string{"apps/a"},
	},
}

// symlinkFS are the file systems a scan meets links through: the disk
// (walked with os.ReadDir, links read with os.Readlink), and file systems
// walked with Walk, which say where a link points (as internal/gitfs may)
// or leave it to CleanedAbs.
var symlinkFS = map[string]func() filesys.FileSystem{
	"disk":          filesys.MakeFsOnDisk,
	"walk readlink": func() filesys.FileSystem { return readlinkFS{walkFS{filesys.MakeFsOnDisk()}} },
	"walk":          func() filesys.FileSystem { return walkFS{filesys.MakeFsOnDisk()} },
}

// walkFS is the disk under another type, which Scan walks with Walk.
type walkFS struct{ filesys.FileSystem }

type readlinkFS struct{ walkFS }

func (readlinkFS) Readlink(name string) (string, error) { return os.Readlink(name) }

// TestSymlinks scans each symlink shape on disk and holds the result to
// kustomize's: the roots, the diagnostics, which roots fail to build, and
// every file krusty reads is in the root's closure.
func TestSymlinks(t *testing.T) {
	for name, c := range symlinkCases {
		for fsName, mk := range symlinkFS {
			t.Run(name+"/"+fsName, func(t *testing.T) {
				dir := writeLinkedRepo(t, c)
				cfg, err := generator.LoadConfig(generator.ConfigFile, []byte(c.files[generator.ConfigFile]))
				if err != nil {
					t.Fatal(err)
				}
				repo, err := generator.Scan(mk(), dir, cfg)
				if err != nil {
					t.Fatal(err)
				}
				var roots, diags, fails []string
				for _, tg := range repo.Targets {
					roots = append(roots, tg.Path)
					if krustyBuild(dir, tg.Path, cfg) != nil {
						fails = append(fails, tg.Path)
					}
					for _, p := range buildRecording(t, dir, tg.Path, cfg) {
						if !covered(tg.Inputs, p) {
							t.Errorf("%s: kustomize read %q, which is not in the closure %q", tg.Path, p, tg.Inputs)
						}
					}
					for _, p := range c.inputs[tg.Path] {
						if fsName == "walk" && slices.Contains(c.readlinkOnly, p) {
							continue
						}
						if !covered(tg.Inputs, p) {
							t.Errorf("%s: %q is not in the closure %q", tg.Path, p, tg.Inputs)
						}
					}
				}
				for _, d := range repo.Diagnostics {
					diags = append(diags, d.String())
				}
				sort.Strings(roots)
				if diff := cmp.Diff(c.roots, roots); diff != "" {
					t.Errorf("roots (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(c.fails, fails); diff != "" {
					t.Errorf("roots kustomize fails to build (-want +got):\n%s", diff)
				}
				var want []string
				for _, d := range c.diags {
					want = append(want, strings.ReplaceAll(d, "$OUT", filepath.Join(filepath.Dir(dir), "out")))
				}
				if fsName == "walk" {
					// CleanedAbs says a link leads nowhere, not why: the
					// messages differ, not the places and kinds.
					want, diags = placesAndKinds(want, c.walkKinds), placesAndKinds(diags, nil)
				}
				if diff := cmp.Diff(want, diags); diff != "" {
					t.Errorf("diagnostics (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// writeLinkedRepo writes a case's files and links into a new directory and
// returns its path, with the directory's own links followed, as kustomize
// reports paths.
func writeLinkedRepo(t *testing.T, c symlinkCase) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	repo := filepath.Join(dir, "repo")
	for p, content := range c.files {
		full := filepath.Join(repo, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Outside the repository: a base and a patch a link may lead to.
	if err := os.MkdirAll(filepath.Join(out, "base"), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, content := range map[string]string{"base/kustomization.yaml": "resources:\n- cm.yaml\n", "base/cm.yaml": cm, "p.yaml": cmPatch} {
		if err := os.WriteFile(filepath.Join(out, filepath.FromSlash(p)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for p, target := range c.links {
		target = strings.Replace(target, "$REPO/", repo+"/", 1)
		target = strings.Replace(target, "$OUT/", out+"/", 1)
		full := filepath.Join(repo, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.FromSlash(target), full); err != nil {
			t.Skipf("symbolic links: %v", err)
		}
	}
	return repo
}

// krustyBuild builds one root as the CLI's kustomize would.
func krustyBuild(repoDir, root string, cfg *generator.Config) error {
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	if cfg.Kustomize.LoadRestrictor == generator.LoadRestrictorNone {
		opts.LoadRestrictions = types.LoadRestrictionsNone
	}
	_, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), filepath.Join(repoDir, filepath.FromSlash(root)))
	return err
}

var diagParts = regexp.MustCompile(`^([^:]+(?::\d+:\d+)?): .* \[([a-z-]+)\]$`)

// placesAndKinds keeps the place and kind of each diagnostic, the kinds
// replaced by kinds if given.
func placesAndKinds(diags, kinds []string) []string {
	var out []string
	for i, d := range diags {
		m := diagParts.FindStringSubmatch(d)
		if m == nil {
			out = append(out, d)
			continue
		}
		if i < len(kinds) {
			if kinds[i] == "-" {
				continue // not seen without readlink
			}
			m[2] = kinds[i]
		}
		out = append(out, m[1]+" ["+m[2]+"]")
	}
	return out
}
