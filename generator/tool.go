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
	DefaultToolUses    = "kustomatrix/kustomatrix@90042994a308264c1288b7aa76fe7b97656af85a"
	DefaultToolVersion = "v0.7.0"
)

// Releases are kustomatrix's releases, oldest first: the commits whose
// hack/release/SHA256SUMS hold the release binaries' sums (README
// "Releases"). Cutting a release adds it here with the pin move, after the
// release commit: the source of a release commit lists the releases before
// it, never itself. The last one is DefaultToolUses # DefaultToolVersion
// (TestReleasesEndWithTheDefault).
var Releases = []Tool{
	{Uses: "kustomatrix/kustomatrix@90042994a308264c1288b7aa76fe7b97656af85a", Version: "v0.7.0"},
}

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
// binaries, the pre-commit hook at that commit, go install @version — pin
// their own commit instead, when they know it.
func DefaultIsThisRelease() bool { return SourceVersion == DefaultToolVersion }

// KnownTool reports whether t is a pin this build can vouch for: a release
// in Releases (commit and version as released), or own — the commit this
// build runs as, "" when unknown — labelled SourceVersion.
func KnownTool(t Tool, own string) bool {
	for _, r := range Releases {
		if t == r {
			return true
		}
	}
	return own != "" && t == Tool{Uses: ToolRepository() + "@" + own, Version: SourceVersion}
}

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
// fsys under root) when the configuration names no tool: and that pin is
// one this build vouches for (KnownTool; own is the commit it runs as, ""
// when unknown). ToolSource then says ToolRecorded.
//
// The pin is the repository's state, like a lock file: whichever
// kustomatrix renders the files — a developer's, the pre-commit hook's, the
// pinned one in the plan job's check — keeps it, so a pin never drifts by
// itself. (A binary cannot carry its own release commit, which holds the
// binary's sums: the compiled DefaultToolUses of the kustomatrix at a pin is
// an older commit, and the plan job's check would otherwise always see the
// pin changed.) A pin it cannot vouch for — an unknown commit, a fork, a
// version comment that is not the release's — is not kept, so check shows
// it as drift and generate puts the build's own pin back: a pull request
// cannot slip a pin into generated lines past a trusted kustomatrix; other
// pins belong in the configuration. generate --update-tool skips this. A
// missing or unreadable workflow keeps the default.
func (c *Config) KeepRecordedTool(fsys filesys.FileSystem, root, own string) {
	if c.ToolSource() != ToolFromDefault {
		return
	}
	data, err := fsys.ReadFile(filepath.Join(root, filepath.FromSlash(c.workflowPath())))
	if err != nil {
		return
	}
	if t, ok := RecordedTool(data); ok && KnownTool(t, own) {
		c.Tool = t
		c.toolSource = ToolRecorded
	} else if ok && t != c.Tool {
		c.unvouched = &t
	}
}

// UnvouchedTool is the pin the generated files carry that KeepRecordedTool
// did not keep (it could not vouch for it), for a warning.
func (c *Config) UnvouchedTool() (Tool, bool) {
	if c.unvouched == nil {
		return Tool{}, false
	}
	return *c.unvouched, true
}

// UseOwnTool pins the tool to own, the commit this build runs as, labelled
// SourceVersion (ToolSource ToolFromBuild), unless the configuration or the
// generated files name a pin.
func (c *Config) UseOwnTool(own string) {
	if c.ToolSource() != ToolFromDefault {
		return
	}
	c.Tool = Tool{Uses: ToolRepository() + "@" + own, Version: SourceVersion}
	c.toolSource = ToolFromBuild
}

// Where the tool pin of a configuration comes from (Config.ToolSource).
const (
	ToolFromConfig  = "config"   // tool: in the configuration file
	ToolFromDefault = "default"  // DefaultToolUses, compiled in
	ToolRecorded    = "recorded" // the pin the generated files already carry
	ToolFromBuild   = "build"    // the commit this build runs as
)

// ToolSource says where c.Tool comes from: ToolFromConfig, ToolFromDefault,
// ToolRecorded or ToolFromBuild.
func (c *Config) ToolSource() string {
	if c.toolSource == "" {
		return ToolFromConfig
	}
	return c.toolSource
}
