package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"sigs.k8s.io/kustomize/kyaml/filesys"

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
// install), else the commit the root action says it runs as. Only a build
// whose own pin matters says it — a release binary, or a build of a release
// commit's source —: a build of main's source pins and vouches for releases
// only, never for whatever commit it was built from.
func ownCommit() string {
	if version == "" && defaultIsThisRelease() {
		return ""
	}
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

// resolveToolPin settles the tool pin the files are rendered with, for the
// commands that render them (generate, check, sync): unless keepRecorded is
// false (generate --update-tool), the pin the generated files carry when
// this build vouches for it (Config.KeepRecordedTool), then settleToolPin.
// Commands that render nothing never read the caller workflow for it.
func resolveToolPin(s *streams, cfg *generator.Config, dir string, keepRecorded bool) error {
	if keepRecorded {
		cfg.KeepRecordedTool(filesys.MakeFsOnDisk(), dir, ownCommit())
	}
	return settleToolPin(s, cfg)
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
		return usageError("kustomatrix %s cannot tell which commit it is: a release binary cannot carry its own release commit, "+
			"and no VCS stamp of a clean checkout says it (go install ...@%s and builds with -buildvcs=false have none; "+
			"the pre-commit hook and the root action know theirs); the generated files carry no pin it can vouch for, and %s names no tool:. Set\n"+
			"  tool:\n    uses: %s@<the commit of release %s>\n    version: %s\n"+
			"in %s: the \"Releases\" table of https://github.com/%s#releases lists each release's commit",
			thisRelease(), thisRelease(), generator.ConfigFile, generator.ToolRepository(), thisRelease(), thisRelease(), generator.ConfigFile, generator.ToolRepository())
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

// warnUnvouchedTool says, when the generated files carry a pin this build
// did not keep (generator.Config.UnvouchedTool), which pin it replaces and
// why: a newer release than this kustomatrix knows (update it, or the
// hook's rev), or a pin nobody vouches for (a pull request may have set it).
func warnUnvouchedTool(s *streams, cfg *generator.Config) {
	t, ok := cfg.UnvouchedTool()
	if !ok {
		return
	}
	fmt.Fprintf(s.err, "kustomatrix: warning: the generated files pin %s # %s, which this kustomatrix (%s) cannot vouch for (no release it knows, "+
		"not the commit it runs as): it renders %s # %s instead. If that pin is a newer release, update this kustomatrix (or the hook's rev); "+
		"if you did not set it, a change to the generated files did\n", t.Uses, t.Version, thisRelease(), cfg.Tool.Uses, cfg.Tool.Version)
}
