// Package release holds the Go side of kustomatrix's release process: the
// digest of a source tree (the question "is this pinned tree a release
// tree?", the same answer as hack/release/tree-digest.sh, which the root
// action runs), the sums file format, and helpers that tests and benchmarks
// use to make a release copy of the project and serve it.
package release

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
)

// SumsFile is where a release commit records the sums, relative to the
// tree; TreeLine is the pseudo file name of the source tree digest in it.
const (
	SumsFile       = "hack/release/SHA256SUMS"
	VersionFile    = "hack/release/VERSION"
	KubectlSums    = "hack/release/KUBECTL_SHA256SUMS"
	KubectlVersion = "hack/release/KUBECTL_VERSION"
	TreeLine       = "source-tree"
)

// Asset is the release asset name of the binary for a platform.
func Asset(goos, goarch string) string { return "kustomatrix_" + goos + "_" + goarch }

// HostAsset is the asset of the platform this runs on.
func HostAsset() string { return Asset(runtime.GOOS, runtime.GOARCH) }

// TreeDigest is the digest of the tree at root: the SHA-256 of the
// sha256sum lines ("<hex>  ./<path>\n") of every regular file except .git/,
// dist/ and the sums file, sorted bytewise by path. A symbolic link is an
// error (the digest would not cover its target), and so is a name that
// sha256sum would escape.
func TreeDigest(root string) (string, error) {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".":
			return nil
		case d.IsDir() && (rel == ".git" || rel == "dist"):
			return filepath.SkipDir
		case rel == SumsFile || rel == ".git" || rel == "dist":
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			return fmt.Errorf("tree digest: %q is a symbolic link", rel)
		case d.IsDir() || !d.Type().IsRegular():
			return nil
		case strings.ContainsAny(rel, "\\\n"):
			return fmt.Errorf("tree digest: unsupported file name %q", rel)
		}
		paths = append(paths, "./"+rel)
		return nil
	})
	if err != nil {
		return "", err
	}
	if len(paths) == 0 {
		return "", fmt.Errorf("tree digest: no files in %q", root)
	}
	sort.Strings(paths)
	outer := sha256.New()
	for _, p := range paths {
		sum, err := FileSum(filepath.Join(root, filepath.FromSlash(p[2:])))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(outer, "%s  %s\n", sum, p)
	}
	return hex.EncodeToString(outer.Sum(nil)), nil
}

// FileSum is the hex SHA-256 of a file.
func FileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

var sumLine = regexp.MustCompile(`^([0-9a-f]{64})  ([A-Za-z0-9_.-]+)$`)

// ParseSums reads a sums file: sha256sum lines, name to hex sum.
func ParseSums(data []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		m := sumLine.FindStringSubmatch(sc.Text())
		if m == nil {
			return nil, fmt.Errorf("sums line %d: %q is not \"<sha256>  <name>\"", n, sc.Text())
		}
		if _, dup := out[m[2]]; dup {
			return nil, fmt.Errorf("sums line %d: %q twice", n, m[2])
		}
		out[m[2]] = m[1]
	}
	return out, sc.Err()
}

// CopyTree copies the project tree at src (a git work tree) to dst as a
// commit of it would hold it: tracked and untracked files that are not
// ignored, with their working contents; deleted files are left out.
func CopyTree(src, dst string) error {
	out, err := exec.Command("git", "-C", src, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		return fmt.Errorf("listing %q: %w", src, err)
	}
	seen := map[string]bool{}
	for _, rel := range strings.Split(string(out), "\x00") {
		if rel == "" || seen[rel] {
			continue
		}
		seen[rel] = true
		from := filepath.Join(src, filepath.FromSlash(rel))
		fi, err := os.Lstat(from)
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			return err
		}
		data, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(to, data, fi.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

// BuildReleaseTree builds the release of the tree at root for the given
// platforms (Build) and records their sums in root's SumsFile, making root
// a release tree for those platforms: what tests and benchmarks serve in
// place of a published release. (hack/release.sh itself records sums only
// when it built all four platforms.)
func BuildReleaseTree(root string, env []string, platforms ...string) (string, error) {
	out, err := Build(root, env, platforms...)
	if err != nil {
		return out, err
	}
	sums, err := os.ReadFile(filepath.Join(root, "dist", "SHA256SUMS"))
	if err != nil {
		return out, err
	}
	return out, os.WriteFile(filepath.Join(root, filepath.FromSlash(SumsFile)), sums, 0o644)
}

// LastReleaseCommit is the newest commit of the git repository at repo
// that changed SumsFile and still holds it: the release commit the tree's
// sums come from (the commits after it move the pin, or change the source
// and are not release trees). It returns "" with no error when no commit
// holds sums.
func LastReleaseCommit(repo string) (string, error) {
	out, err := exec.Command("git", "-C", repo, "log", "-1", "--format=%H", "--", SumsFile).Output()
	if err != nil {
		return "", fmt.Errorf("git log %s in %q: %w", SumsFile, repo, err)
	}
	commit := strings.TrimSpace(string(out))
	if commit == "" || exec.Command("git", "-C", repo, "cat-file", "-e", commit+":"+SumsFile).Run() != nil {
		return "", nil
	}
	return commit, nil
}

// ExtractCommit writes the tree of commit (as `git archive` gives it: what
// a pinned action's checkout holds) to the empty or missing directory dst.
func ExtractCommit(repo, commit, dst string) error {
	cmd := exec.Command("git", "-C", repo, "archive", "--format=tar", commit)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	tr := tar.NewReader(stdout)
	var extractErr error
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			extractErr = err
			break
		}
		to := filepath.Join(dst, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(to, filepath.Clean(dst)+string(filepath.Separator)) {
			extractErr = fmt.Errorf("git archive %s: entry %q leaves %s", commit, h.Name, dst)
			break
		}
		switch h.Typeflag {
		case tar.TypeDir:
			extractErr = os.MkdirAll(to, 0o755)
		case tar.TypeReg:
			if extractErr = os.MkdirAll(filepath.Dir(to), 0o755); extractErr == nil {
				var data []byte
				if data, extractErr = io.ReadAll(tr); extractErr == nil {
					extractErr = os.WriteFile(to, data, os.FileMode(h.Mode).Perm())
				}
			}
		case tar.TypeXGlobalHeader:
		default:
			extractErr = fmt.Errorf("git archive %s: %q is not a regular file or directory (type %q)", commit, h.Name, h.Typeflag)
		}
		if extractErr != nil {
			break
		}
	}
	io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git archive %s in %q: %w\n%s", commit, repo, err, stderr.Bytes())
	}
	return extractErr
}

// Build runs root's hack/release.sh for the given platforms ("linux/amd64";
// none means all) with extra environment, and returns its output.
func Build(root string, env []string, platforms ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{filepath.Join(root, "hack", "release.sh")}, platforms...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("hack/release.sh %s: %w\n%s", strings.Join(platforms, " "), err, out)
	}
	return string(out), nil
}
