// Package report is what a diff or apply job leaves for the pull request
// comment: one small JSON file per target, written by the matrix job that
// handled it and read back by the one job that comments, plus the Markdown
// of that comment (Render).
//
// The files travel between jobs as artifacts, so everything a comment
// shows comes from files: diff text never passes through a command line
// or an environment variable, where it would be size-limited and
// shell-quoted.
package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Status is what happened to one target.
type Status string

// The statuses a target can have.
const (
	StatusChanges   Status = "changes"    // applying would change (or changed) the cluster
	StatusNoChanges Status = "no changes" // the cluster already matches
	StatusError     Status = "error"      // the diff or apply failed; Diff holds the error output
	StatusSkipped   Status = "skipped"    // the job did not run for this target
)

// Valid says whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusChanges, StatusNoChanges, StatusError, StatusSkipped:
		return true
	}
	return false
}

// Report is the result of one target in one run.
type Report struct {
	Service     string `json:"service"`
	Environment string `json:"environment"`
	Path        string `json:"path"`
	Status      Status `json:"status"`
	// Diff is the diff text for StatusChanges, or the error output for
	// StatusError; empty otherwise.
	Diff string `json:"diff,omitempty"`
	// RunURL links to the run (or the job) that produced the report.
	RunURL string `json:"runUrl,omitempty"`
	// RenderedFrom is the commit the target was rendered at and compared
	// with, for a diff made without cluster credentials (a fork's pull
	// request); empty when the diff was compared with the cluster.
	RenderedFrom string `json:"renderedFrom,omitempty"`
	// Removal is set on the report of a target the change removes
	// (kustomatrix prune --dry-run): what merging it deletes. Status is
	// then StatusChanges when it deletes something.
	Removal *Removal `json:"removal,omitempty"`
}

// Removal is what merging a change deletes for one removed target.
type Removal struct {
	// Pruned says whether prune: in the configuration covers the target;
	// without it nothing is deleted.
	Pruned bool `json:"pruned"`
	// Source says where Deletes come from: SourceCluster or SourceRendering.
	Source string `json:"source,omitempty"`
	// Deletes are the objects the merge deletes, as kubectl names them.
	Deletes []string `json:"deletes,omitempty"`
	// Kept are objects of the target that a target at the head renders:
	// never deleted.
	Kept []Kept `json:"kept,omitempty"`
	// Note says why nothing is listed, when that needs saying.
	Note string `json:"note,omitempty"`
}

// Where the deletions of a Removal come from.
const (
	// SourceCluster: the members of the target's ApplySet, listed in the
	// cluster — exactly what the merge deletes, as the cluster is now.
	SourceCluster = "cluster"
	// SourceRendering: the target rendered at the base, without access to
	// the cluster; the merge deletes those of them that carry the target's
	// ApplySet label, and nothing else.
	SourceRendering = "rendering"
)

// Kept is an object a removed target had that is not deleted, because a
// target at the head renders it.
type Kept struct {
	ID         string `json:"id"`
	RenderedBy string `json:"renderedBy"`
}

// Validate reports the first problem of a report, if any.
func (r Report) Validate() error {
	switch {
	case r.Service == "":
		return errors.New("service is empty")
	case r.Environment == "":
		return errors.New("environment is empty")
	case r.Path == "":
		return errors.New("path is empty")
	case !r.Status.Valid():
		return fmt.Errorf("status %q is not one of %q, %q, %q, %q", r.Status, StatusChanges, StatusNoChanges, StatusError, StatusSkipped)
	case r.Removal != nil && r.Removal.Source != "" && r.Removal.Source != SourceCluster && r.Removal.Source != SourceRendering:
		return fmt.Errorf("removal source %q is not one of %q, %q", r.Removal.Source, SourceCluster, SourceRendering)
	}
	return nil
}

// key tells reports apart: a removed target may share its service and
// environment with a target at the head (a directory moved).
func (r Report) key() [3]string {
	return [3]string{r.Service, r.Environment, fmt.Sprint(r.Removal != nil)}
}

// FileName is the name Write gives a report: readable (service and
// environment) and unique per target (a hash of the path), so the reports
// of all matrix jobs can be merged into one directory.
func FileName(r Report) string {
	sum := sha256.Sum256([]byte(r.Path))
	if r.Removal != nil {
		return safeName(r.Service) + "_" + safeName(r.Environment) + "_removed_" + hex.EncodeToString(sum[:4]) + ".json"
	}
	return safeName(r.Service) + "_" + safeName(r.Environment) + "_" + hex.EncodeToString(sum[:4]) + ".json"
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '-'
	}, s)
}

// Write stores r in dir (created when missing) under FileName(r), through
// a temporary file and a rename: a reader never sees half a report. It
// returns the file's path.
func Write(dir string, r Report) (string, error) {
	if err := r.Validate(); err != nil {
		return "", fmt.Errorf("report for %q: %w", r.Path, err)
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encoding the report for %q: %w", r.Path, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating the report directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".report-*.tmp")
	if err != nil {
		return "", fmt.Errorf("writing the report for %q: %w", r.Path, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return "", fmt.Errorf("writing the report for %q: %w", r.Path, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("writing the report for %q: %w", r.Path, err)
	}
	name := filepath.Join(dir, FileName(r))
	if err := os.Rename(tmp.Name(), name); err != nil {
		return "", fmt.Errorf("writing the report for %q: %w", r.Path, err)
	}
	return name, nil
}

// ReadFile reads and validates one report. Unknown fields are errors: a
// report is written by the same kustomatrix that reads it.
func ReadFile(name string) (Report, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return Report{}, fmt.Errorf("reading report: %w", err)
	}
	var r Report
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Report{}, fmt.Errorf("%s: not a kustomatrix report: %w", name, err)
	}
	if err := r.Validate(); err != nil {
		return Report{}, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

// Read reads every *.json file under dir, at any depth (artifacts
// downloaded without merging land in one subdirectory each), sorted by
// service, environment and path. Hidden files (the temporary files of
// Write) are skipped. Two reports for one service and environment are an
// error naming both files: the comment would have to pick one.
func Read(dir string) ([]Report, error) {
	var reports []Report
	from := map[[3]string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") || !strings.HasSuffix(d.Name(), ".json") {
			return nil
		}
		r, err := ReadFile(p)
		if err != nil {
			return err
		}
		key := r.key()
		if prev, ok := from[key]; ok {
			return fmt.Errorf("two reports for %s/%s: %s and %s", r.Service, r.Environment, prev, p)
		}
		from[key] = p
		reports = append(reports, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading reports from %s: %w", dir, err)
	}
	sort.Slice(reports, func(i, j int) bool {
		a, b := reports[i], reports[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Environment != b.Environment {
			return a.Environment < b.Environment
		}
		return a.Path < b.Path
	})
	return reports, nil
}
