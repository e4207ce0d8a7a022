package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/kustomatrix/kustomatrix/generator"
)

// ActionCommitEnv is how the root action (action.yml) tells kustomatrix the
// commit it runs as: the last element of its GITHUB_ACTION_PATH, where the
// runner unpacks the pinned commit. The action runs a binary verified
// against that tree's sums, or built from it, so it is that commit's.
const ActionCommitEnv = "KUSTOMATRIX_ACTION_COMMIT"

// Seams for the tests, which run in a build of main's source.
var (
	defaultIsThisRelease = generator.DefaultIsThisRelease
	readBuildInfo        = debug.ReadBuildInfo
)

// ownCommit is the commit this build runs as, or "": the commit the go
// command stamped for a build of a clean checkout (the pre-commit hook's go
// install), else the commit the root action says it runs as.
func ownCommit() string {
	if bi, ok := readBuildInfo(); ok {
		var rev string
		modified := true
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				rev = kv.Value
			case "vcs.modified":
				modified = kv.Value != "false"
			}
		}
		if !modified && generator.IsCommitSHA(rev) {
			return rev
		}
	}
	if c := os.Getenv(ActionCommitEnv); generator.IsCommitSHA(c) {
		return c
	}
	return ""
}

// settleToolPin makes sure the files are never rendered with a compiled
// default pin that is not this build's own release. A binary cannot carry
// its own release commit (that commit holds the binary's SHA-256), so the
// DefaultToolUses of a release commit's source is the release before it,
// whose kustomatrix would render other files in the plan job's check. When
// the pin comes from neither the configuration nor the generated files
// (Config.KeepRecordedTool) and this is a release binary (stamped version)
// or a build of a release commit's source (generator.DefaultIsThisRelease
// false), the pin is the commit this build runs as (ownCommit); when that is
// unknown (a release binary outside the action, go install @vX.Y.Z, a dirty
// tree) it fails, saying what to write in the configuration.
func settleToolPin(s *streams, cfg *generator.Config) error {
	if cfg.ToolSource() != generator.ToolFromDefault || (version == "" && defaultIsThisRelease()) {
		return nil
	}
	own := ownCommit()
	if own == "" {
		known := "none yet"
		if n := len(generator.Releases); n > 0 {
			known = fmt.Sprintf("the last this build knows: %s # %s", generator.Releases[n-1].Uses, generator.Releases[n-1].Version)
		}
		return usageError("kustomatrix %s cannot tell which commit it is (a release binary cannot carry its own release commit, "+
			"and no VCS stamp of a clean checkout says it), the generated files carry no pin it can vouch for, and %s names no tool:; set\n"+
			"  tool:\n    uses: %s@<the commit of release %s>\n    version: %s\n"+
			"in %s (the README's \"Releases\" table lists each release's commit; %s)",
			thisRelease(), generator.ConfigFile, generator.ToolRepository(), thisRelease(), thisRelease(), generator.ConfigFile, known)
	}
	cfg.UseOwnTool(own)
	fmt.Fprintf(s.err, "kustomatrix: pinned the workflows to %s # %s, the commit this kustomatrix runs as\n", cfg.Tool.Uses, cfg.Tool.Version)
	return nil
}

// thisRelease is the release this build is: its stamped version, or the
// version of its source.
func thisRelease() string {
	if version != "" {
		return version
	}
	return generator.SourceVersion
}

// toolOrigin says where a tool pin came from, for messages.
var toolOrigin = map[string]string{
	generator.ToolFromConfig:  "from " + generator.ConfigFile,
	generator.ToolFromDefault: "this build's default",
	generator.ToolRecorded:    "the pin the generated files carry",
	generator.ToolFromBuild:   "the commit this build runs as",
}
