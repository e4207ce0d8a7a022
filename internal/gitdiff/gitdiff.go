// Package gitdiff asks git which files a change touched, the way kustomatrix
// needs it: against the merge base, both sides of renames, deletions
// included, and with a reason instead of an error when the history needed is
// not there (a shallow clone, a force push).
package gitdiff

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// Unavailable means the change cannot be computed from this clone; Reason
// says why, for the "all: true" fallback.
type Unavailable struct{ Reason string }

func (u *Unavailable) Error() string { return u.Reason }

// BadRevision is a revision that names nothing in the repository and is
// not a commit id either: a mistake to report, not missing history.
type BadRevision struct{ Rev string }

func (b *BadRevision) Error() string {
	return fmt.Sprintf("%q names no commit of this repository (a commit id, branch, tag or expression like HEAD~1)", b.Rev)
}

// commitID matches what may be a commit id, abbreviated or full (SHA-1 or
// SHA-256).
var commitID = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)

// Repo runs git in one working tree.
type Repo struct {
	Dir string
	// Fetch lets Resolve fetch from origin what a shallow clone lacks: the
	// base commit (depth 1) and, for a merge base, history deepened step by
	// step. Token authenticates it (see FetchCommit). Off, a missing commit
	// is *Unavailable.
	Fetch bool
	Token string
}

func (r Repo) git(args ...string) ([]byte, error) {
	cmd := exec.Command("git", append([]string{"-C", r.Dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out, fmt.Errorf("git %s: %s", strings.Join(args, " "), strings.TrimSpace(stderr.String()))
		}
		return out, fmt.Errorf("running git: %w", err)
	}
	return out, nil
}

// ResolveCommit returns the full hash of rev, or *Unavailable when the
// clone does not have it.
func (r Repo) ResolveCommit(rev string) (string, error) {
	out, err := r.git("rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil {
		if !r.isRepo() {
			return "", err
		}
		// A commit id this clone lacks is history it was not given (a
		// force push, a shallow clone): every target runs. Anything else
		// (a misspelt branch, HEAD~1 of the first commit) is a mistake.
		if !commitID.MatchString(rev) {
			return "", &BadRevision{Rev: rev}
		}
		reason := fmt.Sprintf("commit %q is not in this clone (force push, or a shallow clone: check out with fetch-depth: 0)", rev)
		return "", &Unavailable{Reason: reason}
	}
	return strings.TrimSpace(string(out)), nil
}

func (r Repo) isRepo() bool {
	_, err := r.git("rev-parse", "--git-dir")
	return err == nil
}

// Change is one file a change touched, with its blob and mode at the base
// and at the head ("" where the file does not exist there; Old or New is
// also "" for what is not a regular file, and New for a working-tree file).
type Change struct {
	Path             string
	Old, New         string
	OldMode, NewMode string // git's octal modes: 100644, 100755, 120000 (symlink), 160000 (gitlink), 040000
}

// Symlink reports whether either side of the change is a symbolic link.
func (c Change) Symlink() bool { return c.OldMode == modeSymlink || c.NewMode == modeSymlink }

// Gitlink reports whether either side of the change is a submodule.
func (c Change) Gitlink() bool { return c.OldMode == modeGitlink || c.NewMode == modeGitlink }

const (
	modeSymlink = "120000"
	modeGitlink = "160000"
)

// Range is a change between two commits, resolved to full hashes.
type Range struct {
	Base string // the base revision, resolved
	Head string // the head commit; HEAD's when the head is the working tree
	// From is the commit the change is taken from: the merge base of Base
	// and Head, or Base itself when the base is deployed state.
	From string
}

// Resolve resolves a change. head "" is the working tree (its commit is
// HEAD). A deployed base (what the cluster holds: the last deployed commit
// of a push) is diffed against the head directly, two dots, so that a
// force push reconciles everything that differs from it, including what
// only the discarded commits changed. Otherwise the change is taken from
// the merge base, three dots: what a pull request changes, not what
// happened on the base branch meanwhile. A base or merge base this clone
// does not have is *Unavailable.
func (r Repo) Resolve(base, head string, deployed bool) (Range, error) {
	b, err := r.ResolveCommit(base)
	var missing *Unavailable
	if errors.As(err, &missing) && r.Fetch && fullCommitID.MatchString(base) {
		// A shallow checkout: the base is one commit away on origin.
		if ferr := r.FetchCommit(base, r.Token); ferr == nil {
			b, err = r.ResolveCommit(base)
		}
	}
	if err != nil {
		return Range{}, err
	}
	rev := head
	if rev == "" {
		rev = "HEAD"
	}
	h, err := r.ResolveCommit(rev)
	var un *Unavailable
	if errors.As(err, &un) {
		// Unlike a lost base, a head that is not there is a mistake.
		return Range{}, fmt.Errorf("head %q is not a commit in this clone", rev)
	}
	if err != nil {
		return Range{}, err
	}
	if deployed {
		return Range{Base: b, Head: h, From: b}, nil
	}
	mb, err := r.git("merge-base", b, h)
	if err != nil && r.Fetch {
		mb, err = r.deepenForMergeBase(b, h)
	}
	if err != nil {
		shallow, _ := r.git("rev-parse", "--is-shallow-repository")
		if strings.TrimSpace(string(shallow)) == "true" {
			return Range{}, &Unavailable{Reason: fmt.Sprintf("no merge base of %s and %s in this shallow clone (check out with fetch-depth: 0)", Short(b), Short(h))}
		}
		return Range{}, &Unavailable{Reason: fmt.Sprintf("%s and %s have no merge base (unrelated histories or a force push)", Short(b), Short(h))}
	}
	return Range{Base: b, Head: h, From: strings.TrimSpace(string(mb))}, nil
}

// Changes lists the files that differ between the merge base of base and
// head, and head: what the change itself touched, not what happened on the
// base branch meanwhile. See Diff.
func (r Repo) Changes(base, head string) ([]Change, error) {
	rg, err := r.Resolve(base, head, false)
	if err != nil {
		return nil, err
	}
	return r.Diff(rg.From, rg.Head)
}

// Diff lists the files that differ between the commit from and head: a
// commit, or "" for the working tree (tracked files as they are on disk;
// not untracked files). Renames count on both sides.
// Each comes with the blob ids of both sides, which Objects reads without
// looking a path up in a tree again (in a tree of 10,000 directories, that
// lookup costs ms). Paths are relative to Dir, limited to it.
func (r Repo) Diff(from, head string) ([]Change, error) {
	// --relative: paths relative to Dir, limited to it, when the manifest
	// repository is a subdirectory of the git repository. --raw -z gives
	// ":oldmode newmode oldid newid status\0path\0" per file.
	// --ignore-submodules=none: a submodule bump is a change whatever
	// .gitmodules (ignore = all) or the user's diff.ignoreSubmodules say.
	// Paths come relative to the top of the work tree and are made relative
	// to Dir: a manifest repository in a subdirectory sees a change
	// outside it as "../path", as its kustomizations name such files.
	prefix, err := r.Prefix()
	if err != nil {
		return nil, err
	}
	args := []string{"diff", "--raw", "--no-abbrev", "--no-renames", "-z", "--ignore-submodules=none", from}
	if head != "" {
		args = append(args, head)
	}
	out, err := r.git(append(args, "--")...)
	if err != nil {
		return nil, err
	}
	var changes []Change
	fields := strings.Split(string(out), "\x00")
	for i := 0; i+1 < len(fields); i += 2 {
		meta := strings.Fields(fields[i])
		if len(meta) != 5 || !strings.HasPrefix(meta[0], ":") {
			return nil, fmt.Errorf("git diff --raw: unexpected %q", fields[i])
		}
		oldMode, newMode := presentMode(strings.TrimPrefix(meta[0], ":")), presentMode(meta[1])
		changes = append(changes, Change{Path: relativeTo(prefix, fields[i+1]), Old: blobID(oldMode, meta[2]), New: blobID(newMode, meta[3]),
			OldMode: oldMode, NewMode: newMode})
	}
	if head != "" {
		return changes, nil
	}
	// Untracked files are not listed (at 100,000 files, asking git for
	// them costs seconds): a new root among them is found by the scan of
	// the working tree, which sees it, and reported added.
	return changes, nil
}

// presentMode is mode, or "" for the zero mode of a side where the path is
// absent.
func presentMode(mode string) string {
	if strings.Trim(mode, "0") == "" {
		return ""
	}
	return mode
}

// blobID is id, or "" for the zero id (a side where the file is absent, or
// a working-tree file) and for what is not a regular file (a submodule, a
// symlink).
func blobID(mode, id string) string {
	if strings.Trim(id, "0") == "" || (mode != "100644" && mode != "100755") {
		return ""
	}
	return id
}

// TopLevel returns the root of the work tree.
func (r Repo) TopLevel() (string, error) {
	out, err := r.git("rev-parse", "--show-toplevel")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// MergeBase returns the merge base of base and head.
func (r Repo) MergeBase(base, head string) (string, error) {
	out, err := r.git("merge-base", base, head)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// Show returns the content of path (relative to Dir) at rev, and false when
// it does not exist there.
func (r Repo) Show(rev, path string) ([]byte, bool, error) {
	spec := rev + ":./" + path // ./ makes the path relative to Dir, not to the top
	out, err := r.git("cat-file", "-p", spec)
	if err != nil {
		if _, lerr := r.git("cat-file", "-e", spec); lerr != nil {
			return nil, false, nil
		}
		return nil, false, err
	}
	return out, true, nil
}

// Short abbreviates a full commit id to its first 12 digits, for messages
// and titles; any other revision (a branch, HEAD~1) is returned whole.
func Short(rev string) string {
	if fullCommitID.MatchString(rev) {
		return rev[:12]
	}
	return rev
}

// Objects returns the contents of blobs by id, read by one git process
// however many there are.
func (r Repo) Objects(ids []string) (map[string][]byte, error) {
	var in bytes.Buffer
	for _, id := range ids {
		in.WriteString(id + "\n")
	}
	cmd := exec.Command("git", "-C", r.Dir, "cat-file", "--batch")
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git cat-file --batch: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	// Each answer is "<id> <type> <size>\n<content>\n", or "<id> missing\n".
	objs := make(map[string][]byte, len(ids))
	for _, id := range ids {
		line, rest, ok := bytes.Cut(out, []byte{'\n'})
		if !ok {
			return nil, fmt.Errorf("git cat-file --batch: answer for %s cut short", id)
		}
		out = rest
		f := strings.Fields(string(line))
		if len(f) != 3 {
			return nil, fmt.Errorf("git cat-file --batch: %s", line)
		}
		size, err := strconv.Atoi(f[2])
		if err != nil || size+1 > len(out) {
			return nil, fmt.Errorf("git cat-file --batch: bad answer %q for %s", line, id)
		}
		objs[id] = out[:size]
		out = out[size+1:]
	}
	return objs, nil
}

// Prefix returns Dir relative to the top of the work tree, slash-separated,
// "" at the top: where the manifest repository is inside a commit.
func (r Repo) Prefix() (string, error) {
	out, err := r.git("rev-parse", "--show-prefix")
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSuffix(string(out), "\n"), "/"), nil
}

// KustomizationLinks lists the symbolic links named like a kustomization
// file (kustomization.yaml, kustomization.yml, Kustomization) under Dir, at
// commit rev ("" for the index, which is the working tree's), as paths
// relative to Dir: such a link makes another file, under another name, a
// kustomization, whose edits change the dependency graph.
func (r Repo) KustomizationLinks(rev string) ([]string, error) {
	var out []byte
	var err error
	if rev == "" {
		out, err = r.git("ls-files", "-s", "-z", "--", "*kustomization.yaml", "*kustomization.yml", "*Kustomization")
	} else {
		out, err = r.git("ls-tree", "-r", "-z", "--full-name", rev, "--", ".")
	}
	if err != nil {
		return nil, err
	}
	prefix, err := r.Prefix()
	if err != nil {
		return nil, err
	}
	var links []string
	for _, rec := range strings.Split(string(out), "\x00") {
		meta, p, ok := strings.Cut(rec, "\t")
		if !ok || !strings.HasPrefix(meta, modeSymlink+" ") {
			continue
		}
		if rev != "" { // ls-tree --full-name: relative to the top
			if prefix != "" && !strings.HasPrefix(p, prefix+"/") {
				continue
			}
			p = strings.TrimPrefix(p, prefix+"/")
		}
		switch name := p[strings.LastIndexByte(p, '/')+1:]; name {
		case "kustomization.yaml", "kustomization.yml", "Kustomization":
			links = append(links, p)
		}
	}
	return links, nil
}

// Sparse reports whether the working tree is a sparse checkout (some
// tracked paths are deliberately absent from disk).
func (r Repo) Sparse() bool {
	out, err := r.git("config", "--bool", "core.sparseCheckout")
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// relativeTo makes p, relative to the top of the work tree, relative to
// the directory prefix ("" for the top): "../x" for what is outside it.
func relativeTo(prefix, p string) string {
	if prefix == "" {
		return p
	}
	if strings.HasPrefix(p, prefix+"/") {
		return p[len(prefix)+1:]
	}
	up := strings.Repeat("../", strings.Count(prefix, "/")+1)
	return up + p
}
