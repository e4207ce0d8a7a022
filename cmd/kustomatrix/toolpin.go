package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/kustomatrix/kustomatrix/generator"
	"github.com/kustomatrix/kustomatrix/internal/ghapi"
	"github.com/kustomatrix/kustomatrix/internal/release"
)

// toolPinTimeout bounds the GitHub lookup of a build's release commit.
const toolPinTimeout = 30 * time.Second

// settleToolPin makes sure the files are never rendered with a compiled
// default pin that is not this build's release. A binary cannot carry its
// own release commit (that commit holds the binary's SHA-256), so the
// DefaultToolUses of a release commit's source is the release before it,
// whose kustomatrix would render other files in the plan job's check. When
// the pin comes from neither the configuration nor the generated files
// (Config.KeepRecordedTool) and this is such a build — a release binary
// (stamped version), or any build of a release commit's source
// (generator.DefaultIsThisRelease) — the release commit is looked up on
// GitHub: the commit the release's tag names, whose hack/release/VERSION is
// that release and, for a release binary, whose hack/release/SHA256SUMS
// lists this binary's SHA-256. Without it (offline, say), it fails saying
// what to write in the configuration. GITHUB_API_URL and GITHUB_TOKEN are
// used when set (the lookup works without a token).
func settleToolPin(s *streams, cfg *generator.Config) error {
	if cfg.ToolSource() != generator.ToolFromDefault || (version == "" && generator.DefaultIsThisRelease()) {
		return nil
	}
	tag := version
	if tag == "" {
		tag = generator.SourceVersion
	}
	ctx, cancel := context.WithTimeout(context.Background(), toolPinTimeout)
	defer cancel()
	tool, err := releaseTool(ctx, tag)
	if err != nil {
		return usageError("kustomatrix %s cannot name its own release commit offline (that commit holds the release's SHA-256 sums), "+
			"the generated files carry no pin, and %s names no tool:; looking it up on GitHub failed: %v\nset\n"+
			"  tool:\n    uses: %s@<the commit tagged %s>\n    version: %s\nin %s (the README's \"Releases\" table lists each release's commit)",
			tag, generator.ConfigFile, err, generator.ToolRepository(), tag, tag, generator.ConfigFile)
	}
	cfg.UseReleaseTool(tool)
	fmt.Fprintf(s.err, "kustomatrix: pinned the workflows to %s # %s, the commit %s's tag %s names\n", tool.Uses, tool.Version, generator.ToolRepository(), tag)
	return nil
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
