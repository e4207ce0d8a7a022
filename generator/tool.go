package generator

// DefaultToolUses pins the root composite action of kustomatrix that the
// generated workflows call to run the tool, by commit SHA like every other
// action: a commit of this repository whose action.yml and CLI provide what
// the generated workflows use (affected, diff, apply, prune, target, sync).
// The release process moves it forward; a repository can pin its own with
// tool.uses and tool.version in the configuration.
const (
	DefaultToolUses    = "kustomatrix/kustomatrix@192c0a7ae4e2d82c81e55724747ac4d5cf4f88b8"
	DefaultToolVersion = "v0.3.0"
)
