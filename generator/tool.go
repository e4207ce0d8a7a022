package generator

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
