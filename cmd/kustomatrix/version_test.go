package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildVersion(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.99.1",
		Deps: []*debug.Module{
			{Path: "github.com/spf13/cobra", Version: "v1.0.0"},
			{Path: kustomizeAPI, Version: "v0.21.2"},
		},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}},
	}
	dirty := &debug.BuildInfo{GoVersion: "go1.99.1", Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}}
	replaced := &debug.BuildInfo{Deps: []*debug.Module{{Path: kustomizeAPI, Version: "v0.1.0", Replace: &debug.Module{Path: "../api", Version: "v0.2.0"}}}}
	for name, tc := range map[string]struct {
		version, commit string
		bi              *debug.BuildInfo
		ok              bool
		want            versionInfo
	}{
		"unstamped": {bi: bi, ok: true, want: versionInfo{"devel", "abc123", "go1.99.1", "v0.21.2"}},
		"stamped":   {version: "v1.2.3", commit: "feed", bi: bi, ok: true, want: versionInfo{"v1.2.3", "feed", "go1.99.1", "v0.21.2"}},
		"dirty":     {bi: dirty, ok: true, want: versionInfo{"devel", "abc123-dirty", "go1.99.1", "unknown"}},
		"replaced":  {bi: replaced, ok: true, want: versionInfo{"devel", "unknown", "", "v0.2.0"}},
		"no info":   {ok: false, want: versionInfo{"devel", "unknown", "", "unknown"}},
	} {
		t.Run(name, func(t *testing.T) {
			version, commit = tc.version, tc.commit
			t.Cleanup(func() { version, commit = "", "" })
			got := buildVersion(tc.bi, tc.ok)
			if tc.want.GoVersion == "" {
				tc.want.GoVersion = got.GoVersion // runtime.Version()
				if !strings.HasPrefix(got.GoVersion, "go") {
					t.Errorf("GoVersion %q", got.GoVersion)
				}
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestVersionStamped builds the command as the release does and reads
// what it prints, in both formats.
func TestVersionStamped(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "kustomatrix")
	build := exec.Command("go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-X main.version=v9.8.7 -X main.commit=0123abcd", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	want := []string{"version: v9.8.7", "commit: 0123abcd", "go: go", "kustomize-api: v0."}
	if len(lines) != len(want) {
		t.Fatalf("version printed %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], w)
		}
	}
	out, err = exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var v versionInfo
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if v.Version != "v9.8.7" || v.Commit != "0123abcd" || !strings.HasPrefix(v.KustomizeAPI, "v0.") {
		t.Fatalf("--json: %+v", v)
	}
	if _, err := exec.Command(bin, "version", "extra").Output(); err == nil {
		t.Fatal("version with an argument succeeded")
	}
}
