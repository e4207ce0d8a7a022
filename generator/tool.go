package generator

import (
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// DefaultToolUses pins the root composite action of kustomatrix that the
// generated workflows call to run the tool, by commit SHA like every other
// action: a commit of this repository whose action.yml and CLI provide what
// the generated workflows use (affected, diff with report, apply, prune, target, sync, comment, deployment-start, deployment-finish).
// The release process moves it forward; a repository can pin its own with
// tool.uses and tool.version in the configuration.
const (
	DefaultToolUses    = "kustomatrix/kustomatrix@5aaf3e55f9630050a9c378a970d397f400ab7f6d"
	DefaultToolVersion = "v0.6.0"
)

// SourceVersion is the release this source is, or last was:
// hack/release/VERSION (TestSourceVersion keeps the two equal). Cutting a
// release raises it before the release commit exists, so the release
// commit's own DefaultToolVersion is always the release before it: while
// the two differ, this is a release commit's source, and no build of it
// renders the default pin (DefaultIsThisRelease).
const SourceVersion = "v0.7.0"

// DefaultIsThisRelease reports whether DefaultToolUses names the release
// of this very source (SourceVersion): true on main between releases,
// false in the source of a release commit, whose builds — the release
// binaries, the pre-commit hook at that commit, go install @version — must
// find their own release commit instead.
func DefaultIsThisRelease() bool { return SourceVersion == DefaultToolVersion }

// IsCommitSHA reports whether s is a full, lowercase SHA-1 commit id: the
// only ref that pins a commit (a tag or a short id can be moved or
// collide).
func IsCommitSHA(s string) bool { return commitSHA.MatchString(s) }

var commitSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// ToolRepository is the owner/repo of DefaultToolUses.
func ToolRepository() string {
	repo, _, _ := strings.Cut(DefaultToolUses, "@")
	return repo
}

// RecordedTool reads the tool pin a generated caller workflow carries: the
// uses: of the plan job's step that runs `command: check` (every generated
// caller has it), with its "# vX.Y.Z" comment as the version. ok is false
// when the workflow has no such step, or its uses: is not a full-SHA pin.
func RecordedTool(workflow []byte) (tool Tool, ok bool) {
	var doc yaml.Node
	if yaml.Unmarshal(workflow, &doc) != nil || len(doc.Content) != 1 {
		return Tool{}, false
	}
	jobs := mappingValue(doc.Content[0], "jobs")
	plan := mappingValue(jobs, "plan")
	steps := mappingValue(plan, "steps")
	if steps == nil || steps.Kind != yaml.SequenceNode {
		return Tool{}, false
	}
	for _, st := range steps.Content {
		with := mappingValue(st, "with")
		cmd := mappingValue(with, "command")
		uses := mappingValue(st, "uses")
		if cmd == nil || cmd.Value != "check" || uses == nil || !sha1Ref.MatchString(uses.Value) {
			continue
		}
		version := strings.TrimSpace(strings.TrimPrefix(uses.LineComment, "#"))
		if version == "" || strings.ContainsAny(version, " \t") {
			return Tool{}, false
		}
		return Tool{Uses: uses.Value, Version: version}, true
	}
	return Tool{}, false
}

// mappingValue is the value of key in the mapping node m, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// KeepRecordedTool makes the tool pin the one the repository's generated
// caller workflow already carries (RecordedTool of its workflowPath in
// fsys under root), when that is a pin of ToolRepository and the
// configuration names no tool: ToolSource says which pin it is. The pin is the repository's state, like a lock file:
// whichever kustomatrix renders the files — a developer's, the pre-commit
// hook's, or the one the pinned action itself runs in the plan job's check
// — renders the same pin, so a pin never drifts by itself. (A binary cannot
// carry its own release commit: the commit holds the binary's sums. So the
// compiled DefaultToolUses of the binary at a pin is an older commit, and
// the plan job's check would otherwise always see the pin changed.)
// generate --update-tool skips this. A missing or unreadable workflow keeps
// the default.
func (c *Config) KeepRecordedTool(fsys filesys.FileSystem, root string) {
	if c.ToolSource() != ToolFromDefault {
		return
	}
	data, err := fsys.ReadFile(filepath.Join(root, filepath.FromSlash(c.workflowPath())))
	if err != nil {
		return
	}
	// Only a pin of kustomatrix's own repository is kept: a fork (or any
	// other action) must be named in the configuration, where a change is
	// reviewed as one, not slipped into a generated line.
	if t, ok := RecordedTool(data); ok && strings.HasPrefix(t.Uses, ToolRepository()+"@") {
		c.Tool = t
		c.toolSource = ToolRecorded
	}
}

// UseReleaseTool sets the tool pin to t, the release commit of this build
// found on GitHub (ToolSource ToolFromRelease), unless the configuration or
// the generated files name one.
func (c *Config) UseReleaseTool(t Tool) {
	if c.ToolSource() != ToolFromDefault {
		return
	}
	c.Tool = t
	c.toolSource = ToolFromRelease
}

// Where the tool pin of a configuration comes from (Config.ToolSource).
const (
	ToolFromConfig  = "config"   // tool: in the configuration file
	ToolFromDefault = "default"  // DefaultToolUses, compiled in
	ToolRecorded    = "recorded" // the pin the generated files already carry
	ToolFromRelease = "release"  // this build's release commit, found on GitHub
)

// ToolSource says where c.Tool comes from: ToolFromConfig, ToolFromDefault
// or ToolRecorded.
func (c *Config) ToolSource() string {
	if c.toolSource == "" {
		return ToolFromConfig
	}
	return c.toolSource
}

// UseDefaultTool sets the tool pin back to the compiled default
// (DefaultToolUses) unless the configuration names one: generate
// --update-tool, to move a repository to this build's default pin.
func (c *Config) UseDefaultTool() {
	if c.ToolSource() == ToolFromConfig {
		return
	}
	c.Tool = Tool{Uses: DefaultToolUses, Version: DefaultToolVersion}
	c.toolSource = ToolFromDefault
}
