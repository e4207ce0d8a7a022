package generator

import (
	"path/filepath"
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
	DefaultToolUses    = "kustomatrix/kustomatrix@ffeb459674db72d1cdf10c768c63266d9ac6dfd8"
	DefaultToolVersion = "v0.7.0"
)

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
// fsys under root) when the configuration names no tool: ToolSource says
// which pin it is. The pin is the repository's state, like a lock file:
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
	if t, ok := RecordedTool(data); ok {
		c.Tool = t
		c.toolSource = ToolRecorded
	}
}

// Where the tool pin of a configuration comes from (Config.ToolSource).
const (
	ToolFromConfig  = "config"   // tool: in the configuration file
	ToolFromDefault = "default"  // DefaultToolUses, compiled in
	ToolRecorded    = "recorded" // the pin the generated files already carry
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
