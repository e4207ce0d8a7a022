package generator

// DefaultToolUses pins the root composite action of kustomatrix that the
// generated workflows call to run the tool, by commit SHA like every other
// action. The release process moves it forward; a repository can pin its
// own with tool.uses and tool.version in the configuration.
const (
	DefaultToolUses    = "kustomatrix/kustomatrix@0000000000000000000000000000000000000000"
	DefaultToolVersion = "v0.1.0"
)
