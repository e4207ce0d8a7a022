package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/kustomatrix/kustomatrix/generator"
	"github.com/kustomatrix/kustomatrix/internal/ghapi"
	"github.com/kustomatrix/kustomatrix/internal/release"
)

// toolPinTimeout bounds the GitHub lookup of a build's release commit.
const toolPinTimeout = 30 * time.Second

// settleToolPin makes sure the files are never rendered, unsaid, with a
// compiled default pin that is not this build's release. A binary cannot
// carry its own release commit (that commit holds the binary's SHA-256), so
// the DefaultToolUses of a release commit's source is the release before
// it, whose kustomatrix would render other files in the plan job's check.
// When the pin comes from neither the configuration nor the generated files
// (Config.KeepRecordedTool) and this is a release binary (stamped version)
// or a build of a release commit's source (generator.DefaultIsThisRelease
// false), the pin is this build's own commit:
//
//   - a release binary: the commit GitHub's tag of its version names, whose
//     hack/release/VERSION is that version and whose hack/release/SHA256SUMS
//     lists this binary's SHA-256 — or, offline, an error saying what to
//     write in the configuration;
//   - a build from a clean checkout (the pre-commit hook's go install): the
//     commit the go command stamped (vcs.revision), offline;
//   - go install ...@vX.Y.Z (module version, no VCS stamp): the commit the
//     tag names, checked against its VERSION — or, offline, an error;
//   - any other build (go run, a test binary, a dirty tree): the default,
//     with a warning.
//
// GITHUB_API_URL and GITHUB_TOKEN are used when set; no token is needed.
func settleToolPin(s *streams, cfg *generator.Config) error {
	if cfg.ToolSource() != generator.ToolFromDefault || (version == "" && defaultIsThisRelease()) {
		return nil
	}
	bi, _ := readBuildInfo()
	src := buildSource(bi)
	var tool generator.Tool
	switch {
	case version == "" && src.revision != "":
		tool = generator.Tool{Uses: generator.ToolRepository() + "@" + src.revision, Version: generator.SourceVersion}
		fmt.Fprintf(s.err, "kustomatrix: pinned the workflows to %s # %s, the commit this kustomatrix was built from\n", tool.Uses, tool.Version)
	case version == "" && src.module == "":
		fmt.Fprintf(s.err, "kustomatrix: warning: this build of the %s source cannot tell which commit it is (no version, no VCS stamp): "+
			"the workflows get %s # %s, the release before it, whose check may render other files; set tool: in %s\n",
			generator.SourceVersion, generator.DefaultToolUses, generator.DefaultToolVersion, generator.ConfigFile)
		return nil
	default:
		tag := version
		if tag == "" {
			tag = src.module
		}
		ctx, cancel := context.WithTimeout(context.Background(), toolPinTimeout)
		defer cancel()
		var err error
		if tool, err = releaseTool(ctx, tag); err != nil {
			return usageError("kustomatrix %s cannot name its own release commit offline (that commit holds the release's SHA-256 sums), "+
				"the generated files carry no pin, and %s names no tool:; looking it up on GitHub failed: %v\nset\n"+
				"  tool:\n    uses: %s@<the commit tagged %s>\n    version: %s\nin %s (the README's \"Releases\" table lists each release's commit)",
				tag, generator.ConfigFile, err, generator.ToolRepository(), tag, tag, generator.ConfigFile)
		}
		fmt.Fprintf(s.err, "kustomatrix: pinned the workflows to %s # %s, the commit %s's tag %s names\n", tool.Uses, tool.Version, generator.ToolRepository(), tag)
	}
	cfg.UseReleaseTool(tool)
	return nil
}

// Seams for the tests, which run in a build of main's source.
var (
	defaultIsThisRelease = generator.DefaultIsThisRelease
	readBuildInfo        = debug.ReadBuildInfo
)

// builtFrom is what the go command recorded of a build's source: the
// commit of a clean checkout, or the module version of go install @vX.
type builtFrom struct {
	revision string // vcs.revision when vcs.modified is false
	module   string // the main module's version when it is a release (vX.Y.Z)
}

var releaseVersion = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+$`)

func buildSource(bi *debug.BuildInfo) builtFrom {
	var b builtFrom
	if bi == nil {
		return b
	}
	if releaseVersion.MatchString(bi.Main.Version) {
		b.module = bi.Main.Version
	}
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
		b.revision = rev
	}
	return b
}

// releaseTool finds the release commit of tag in generator.ToolRepository
// and checks it: its hack/release/VERSION is tag, and for a release binary
// its hack/release/SHA256SUMS lists this executable's SHA-256.
func releaseTool(ctx context.Context, tag string) (generator.Tool, error) {
	owner, repo, _ := strings.Cut(generator.ToolRepository(), "/")
	client, err := ghapi.New(os.Getenv("GITHUB_API_URL"), os.Getenv("GITHUB_TOKEN"), owner, repo, &http.Client{Timeout: toolPinTimeout})
	if err != nil {
		return generator.Tool{}, err
	}
	commit, err := client.CommitOf(ctx, tag)
	if err != nil {
		return generator.Tool{}, err
	}
	v, err := client.FileAt(ctx, release.VersionFile, commit)
	if err != nil {
		return generator.Tool{}, err
	}
	if got := strings.TrimSpace(string(v)); got != tag {
		return generator.Tool{}, fmt.Errorf("tag %s names %s, whose %s says %q: not the release commit", tag, commit, release.VersionFile, got)
	}
	if version != "" {
		data, err := client.FileAt(ctx, release.SumsFile, commit)
		if err != nil {
			return generator.Tool{}, err
		}
		sums, err := release.ParseSums(data)
		if err != nil {
			return generator.Tool{}, fmt.Errorf("%s at %s: %w", release.SumsFile, commit, err)
		}
		self, err := os.Executable()
		if err != nil {
			return generator.Tool{}, err
		}
		got, err := release.FileSum(self)
		if err != nil {
			return generator.Tool{}, err
		}
		if want := sums[release.HostAsset()]; got != want {
			return generator.Tool{}, fmt.Errorf("%s at %s records %q for %s, this binary's SHA-256 is %s: not that release's binary", release.SumsFile, commit, want, release.HostAsset(), got)
		}
	}
	return generator.Tool{Uses: generator.ToolRepository() + "@" + commit, Version: tag}, nil
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
	generator.ToolFromRelease: "this build's release commit",
}
