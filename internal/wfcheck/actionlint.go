package wfcheck

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/rhysd/actionlint"
)

// runActionlint lints the workflow files with actionlint and converts its errors to findings.
//
// It builds the Project explicitly instead of calling LintRepository, because LintRepository only
// recognises a project when the directory also contains ".git", which generated test repositories
// usually lack. The project root must be the repository so that actionlint can validate calls to
// local reusable workflows and the inputs of local composite actions. WorkingDir is the root too,
// so actionlint reports repository-relative paths; absolute paths inside messages (e.g. of a
// broken local action) are made relative too, so findings are stable in golden files. Its printed
// output goes to io.Discard: the returned errors are the findings.
func runActionlint(root string, workflows []string, shellcheck string) ([]Finding, error) {
	if len(workflows) == 0 {
		return nil, nil
	}
	linter, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{
		Shellcheck: shellcheck,
		WorkingDir: root,
		Oneline:    true, // skip rendering source snippets nobody reads
		LogWriter:  io.Discard,
	})
	if err != nil {
		return nil, fmt.Errorf("wfcheck: creating actionlint linter: %w", err)
	}
	project, err := actionlint.NewProject(root)
	if err != nil {
		return nil, fmt.Errorf("wfcheck: loading actionlint project at %q: %w", root, err)
	}
	errs, err := linter.LintFiles(workflows, project)
	if err != nil {
		return nil, fmt.Errorf("wfcheck: running actionlint in %q: %w", root, err)
	}
	out := make([]Finding, 0, len(errs))
	for _, e := range errs {
		out = append(out, Finding{
			Path:    relPath(root, e.Filepath),
			Line:    e.Line,
			Col:     e.Column,
			Message: strings.ReplaceAll(e.Message, root+string(filepath.Separator), ""),
			Kind:    e.Kind,
		})
	}
	return out, nil
}
