// Package wfcheck lints the GitHub Actions files that kustomatrix generates into a repository,
// so that tests can prove every generated workflow and composite action is lint-clean.
//
// It combines four checks, because no single tool covers everything GitHub rejects or misruns:
//
//   - actionlint (used as a library, with shellcheck enabled) on every workflow;
//   - SchemaStore's github-workflow.json schema on every workflow;
//   - SchemaStore's github-action.json schema on every action metadata file;
//   - shellcheck on every bash/sh `run:` of composite actions, plus a check that every composite
//     `run:` step has a `shell:`, because actionlint never looks inside action.yml files.
//
// It is a normal (non-test) package so that tests of other packages can import it.
package wfcheck

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
)

// Finding kinds produced by wfcheck itself. Findings from actionlint carry actionlint's own rule
// kind instead (for example "expression", "job-needs", "syntax-check", "shellcheck").
const (
	// KindSchema marks a violation of SchemaStore's github-workflow.json or github-action.json.
	KindSchema = "schema"
	// KindYAML marks a file that wfcheck could not decode as YAML (or that has duplicate keys),
	// so that a broken action.yml is reported even though actionlint never reads it.
	KindYAML = "yaml"
	// KindShellcheck marks a shellcheck problem in a composite action `run:` script. It is the
	// same kind actionlint uses for workflow scripts, so callers can treat both alike.
	KindShellcheck = "shellcheck"
	// KindCompositeShell marks a composite action `run:` step without `shell:`, which GitHub
	// refuses to run.
	KindCompositeShell = "composite-shell"
)

// Finding is one problem found in a file. String prints it as
//
//	path:line:col: message [kind]
type Finding struct {
	// Path is the file's path relative to the repository directory given to Check, with forward
	// slashes, so that findings read the same on every machine and in golden files.
	Path string
	// Line and Col are 1-based; 0 means the position is unknown.
	Line, Col int
	// Message describes the problem.
	Message string
	// Kind names the check that found the problem (an actionlint rule kind or a Kind* constant),
	// so that callers can tell tools apart without parsing messages.
	Kind string
}

// String formats the finding like compilers and actionlint do, so that editors can jump to it.
func (f Finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s [%s]", f.Path, f.Line, f.Col, f.Message, f.Kind)
}

// Options configures Check. The zero value is ready to use.
type Options struct {
	// Shellcheck is the path to the shellcheck binary. Empty means look up "shellcheck" on PATH.
	// If it cannot be found, Check returns an error rather than silently skipping shellcheck,
	// because a skipped check would let broken scripts pass the tests.
	Shellcheck string
}

// Check lints the repository at repoDir and returns all findings sorted by path, line, column and
// message. It checks:
//
//   - every .github/workflows/*.yml|*.yaml with actionlint (with shellcheck) and against the
//     github-workflow.json schema;
//   - every .github/actions/*/action.yml|action.yaml and a root action.yml|action.yaml against the
//     github-action.json schema;
//   - every composite action `run:` step: it must have `shell:`, and bash/sh scripts are shellchecked.
//
// An error (as opposed to findings) means the check itself could not run: repoDir is missing,
// shellcheck is missing or failed, or no workflow or action file exists at all (which almost
// always means the caller pointed at the wrong directory, and must not pass as "clean").
func Check(repoDir string, opts Options) ([]Finding, error) {
	root, err := repoRoot(repoDir)
	if err != nil {
		return nil, err
	}
	shellcheck, err := resolveShellcheck(opts.Shellcheck)
	if err != nil {
		return nil, err
	}
	workflows, actions, err := discover(root)
	if err != nil {
		return nil, err
	}
	if len(workflows) == 0 && len(actions) == 0 {
		return nil, fmt.Errorf("wfcheck: no workflow or action file found in %q", root)
	}
	var all []Finding
	found, err := runActionlint(root, workflows, shellcheck)
	if err != nil {
		return nil, err
	}
	all = append(all, found...)
	for _, path := range workflows {
		found, err := checkWorkflowFile(root, path)
		if err != nil {
			return nil, err
		}
		all = append(all, found...)
	}
	for _, path := range actions {
		found, err := checkActionFile(root, path, shellcheck)
		if err != nil {
			return nil, err
		}
		all = append(all, found...)
	}
	sortFindings(all)
	return slices.Compact(all), nil
}

// repoRoot returns repoDir as a clean absolute path, because actionlint decides which files
// belong to a project by comparing absolute path prefixes.
func repoRoot(repoDir string) (string, error) {
	root, err := filepath.Abs(repoDir)
	if err != nil {
		return "", fmt.Errorf("wfcheck: resolving %q: %w", repoDir, err)
	}
	info, err := os.Stat(root)
	if err != nil {
		return "", fmt.Errorf("wfcheck: repository directory %q: %w", repoDir, err)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("wfcheck: repository path %q is not a directory", repoDir)
	}
	return root, nil
}

// resolveShellcheck finds the shellcheck binary up front: actionlint only logs (and then skips
// shellcheck) when the binary is missing, which would let tests pass without checking scripts.
func resolveShellcheck(name string) (string, error) {
	if name == "" {
		name = "shellcheck"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("wfcheck: shellcheck %q not found (install it or set Options.Shellcheck): %w", name, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("wfcheck: resolving shellcheck path %q: %w", path, err)
	}
	return abs, nil
}

// discover lists the files to check as absolute paths, in sorted order. Only the top level of
// .github/workflows is listed because GitHub ignores workflows in subdirectories.
func discover(root string) (workflows, actions []string, err error) {
	wfDir := filepath.Join(root, ".github", "workflows")
	entries, err := readDirIfExists(wfDir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if (ext == ".yml" || ext == ".yaml") && isRegular(filepath.Join(wfDir, e.Name())) {
			workflows = append(workflows, filepath.Join(wfDir, e.Name()))
		}
	}
	dirs := []string{root}
	actDir := filepath.Join(root, ".github", "actions")
	if entries, err = readDirIfExists(actDir); err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		dirs = append(dirs, filepath.Join(actDir, e.Name()))
	}
	for _, dir := range dirs {
		for _, name := range []string{"action.yml", "action.yaml"} {
			if p := filepath.Join(dir, name); isRegular(p) {
				actions = append(actions, p)
			}
		}
	}
	slices.Sort(workflows)
	slices.Sort(actions)
	return workflows, actions, nil
}

// readDirIfExists lists dir, treating a missing directory as empty because a repository may have
// workflows without local actions or the other way round.
func readDirIfExists(dir string) ([]os.DirEntry, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("wfcheck: listing %q: %w", dir, err)
	}
	return entries, nil
}

// isRegular reports whether path is a regular file (following symlinks), so that a directory
// that happens to be named "x.yml" is not treated as a workflow.
func isRegular(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

// relPath turns a file path into the repository-relative, slash-separated form used in Finding.
func relPath(root, path string) string {
	if filepath.IsAbs(path) {
		if rel, err := filepath.Rel(root, path); err == nil {
			path = rel
		}
	}
	return filepath.ToSlash(filepath.Clean(path))
}

// sortFindings orders findings by path, line, column, message and kind so output is stable.
func sortFindings(findings []Finding) {
	slices.SortFunc(findings, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col),
			cmp.Compare(a.Message, b.Message),
			cmp.Compare(a.Kind, b.Kind),
		)
	})
}
