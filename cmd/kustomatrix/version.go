package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version and commit are stamped by the release build (hack/release.sh):
//
//	-ldflags "-X main.version=v0.7.0 -X main.commit=<sha>"
//
// An unstamped build says "devel" and takes the commit from the VCS
// information the go command embeds (absent under -buildvcs=false), with
// "-dirty" when the work tree had changes.
var (
	version = ""
	commit  = ""
)

// kustomizeAPI is the module whose version says which kustomize renders.
const kustomizeAPI = "sigs.k8s.io/kustomize/api"

// versionInfo is what kustomatrix version prints.
type versionInfo struct {
	Version      string `json:"version"`
	Commit       string `json:"commit"`
	GoVersion    string `json:"goVersion"`
	KustomizeAPI string `json:"kustomizeAPI"`
}

// buildVersion reads the stamped values and the binary's build information.
func buildVersion(bi *debug.BuildInfo, ok bool) versionInfo {
	v := versionInfo{Version: version, Commit: commit, GoVersion: runtime.Version(), KustomizeAPI: "unknown"}
	if v.Version == "" {
		v.Version = "devel"
	}
	if !ok {
		if v.Commit == "" {
			v.Commit = "unknown"
		}
		return v
	}
	if bi.GoVersion != "" {
		v.GoVersion = bi.GoVersion
	}
	for _, d := range bi.Deps {
		if d.Path != kustomizeAPI {
			continue
		}
		v.KustomizeAPI = d.Version
		if d.Replace != nil {
			v.KustomizeAPI = d.Replace.Version
		}
	}
	if v.Commit == "" {
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if v.Commit != "" && modified {
			v.Commit += "-dirty" // built from a work tree with changes
		}
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

func newVersionCommand(s *streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go version and kustomize API version",
		Args:  noArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			v := buildVersion(debug.ReadBuildInfo())
			if asJSON {
				b, err := json.MarshalIndent(v, "", "  ")
				if err != nil {
					return &exitError{code: exitFailure, err: err}
				}
				_, err = fmt.Fprintf(s.out, "%s\n", b)
				return err
			}
			_, err := fmt.Fprintf(s.out, "version: %s\ncommit: %s\ngo: %s\nkustomize-api: %s\n",
				v.Version, v.Commit, v.GoVersion, v.KustomizeAPI)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the fields as a JSON object")
	return cmd
}
