package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kustomatrix/kustomatrix/generator"
)

// actVersion is the only version of nektos/act the module proxy serves;
// hack/test.sh installs it.
const actVersion = "v0.2.89"

// setupGoPin is the actions/setup-go the root action uses; the stub stands
// in for it (Go is on the host).
const setupGoPin = "actions/setup-go@d35c59abb061a4a6fb18e82ac0862c26744d6ab5"

// The artifact actions the generated workflows use (the pull request
// comment's reports travel between jobs as artifacts). Offline there is no
// artifact service; their stand-ins keep a run's artifacts as directories
// of one folder, with the real actions' rules that matter here: a name is
// used once per run, and download merges what a pattern matches.
const (
	uploadArtifactPin   = "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02"
	downloadArtifactPin = "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093"
)

const uploadArtifactStub = `name: upload-artifact stand-in
description: Keeps the artifact as a directory of the run's artifact folder.
inputs:
  name:
    description: the artifact name, unique in the run
    required: true
  path:
    description: the directory to upload
    required: true
  if-no-files-found:
    description: warn, error or ignore
    required: false
    default: warn
  retention-days:
    description: ignored
    required: false
runs:
  using: composite
  steps:
    - shell: bash
      env:
        NAME: ${{ inputs.name }}
        SRC: ${{ inputs.path }}
        MISSING: ${{ inputs.if-no-files-found }}
      run: |
        dest="ARTIFACTS/$NAME"
        if [ -e "$dest" ]; then
          echo "::error::Conflict: an artifact with this name already exists on the workflow run: $NAME"
          exit 1
        fi
        if [ -z "$(ls -A "$SRC" 2>/dev/null)" ]; then
          echo "no files found at $SRC"
          [ "$MISSING" != error ]
          exit
        fi
        mkdir -p "$dest"
        cp -R "$SRC"/. "$dest"/
        echo "uploaded artifact $NAME"
`

const downloadArtifactStub = `name: download-artifact stand-in
description: Copies the run's artifact of a name, or those whose names match a pattern.
inputs:
  name:
    description: one artifact, which must exist
    required: false
    default: ""
  pattern:
    description: a glob of artifact names
    required: false
    default: ""
  path:
    description: where to put them
    required: true
  merge-multiple:
    description: true to merge them into path
    required: false
    default: "false"
runs:
  using: composite
  steps:
    - shell: bash
      env:
        NAME: ${{ inputs.name }}
        PATTERN: ${{ inputs.pattern }}
        DEST: ${{ inputs.path }}
        MERGE: ${{ inputs.merge-multiple }}
      run: |
        if [ -n "$NAME" ]; then
          if [ ! -d "ARTIFACTS/$NAME" ]; then
            echo "::error::Unable to download artifact(s): Artifact not found for name: $NAME"
            exit 1
          fi
          mkdir -p "$DEST"
          cp -R "ARTIFACTS/$NAME"/. "$DEST"/
          exit 0
        fi
        shopt -s nullglob
        n=0
        for d in ARTIFACTS/$PATTERN; do
          to="$DEST"
          if [ "$MERGE" != true ]; then to="$DEST/$(basename "$d")"; fi
          mkdir -p "$to"
          cp -R "$d"/. "$to"/
          n=$((n + 1))
        done
        echo "Found $n artifact(s)"
`

// actBinary finds act at the pinned version.
func actBinary(t *testing.T) string {
	t.Helper()
	gopath, _ := exec.Command("go", "env", "GOPATH").Output()
	candidates := []string{filepath.Join(strings.TrimSpace(string(gopath)), "bin", "act")}
	if p, err := exec.LookPath("act"); err == nil {
		candidates = append([]string{p}, candidates...)
	}
	for _, c := range candidates {
		out, err := exec.Command(c, "--version").Output()
		if err == nil && strings.Contains(string(out), strings.TrimPrefix(actVersion, "v")) {
			return c
		}
	}
	t.Fatalf("nektos/act %s not found (hack/test.sh installs it: go install github.com/nektos/act@%s)", actVersion, actVersion)
	return ""
}

// jobResult is one finished job (or matrix leg) as act reports it.
type jobResult struct {
	Job         string // act's name: caller job / called workflow / job name
	JobID       string
	Environment string // matrix.target.environment, for deploy legs
	Index       int    // matrix.index, for chunk legs (matrix layout); -1 otherwise
	Result      string // success, failure
}

// actRun is what one act invocation did.
type actRun struct {
	Code    int
	Results []jobResult
	Lines   []map[string]any
	Raw     string
}

// runnerSeconds adds up how long each job of the run (each matrix leg
// apart) held its runner, from its first log line to its last, as act
// timestamps them (to the second): what the run costs in runner time.
func (r *actRun) runnerSeconds() (jobs int, seconds int) {
	type span struct{ first, last time.Time }
	spans := map[string]*span{}
	for _, l := range r.Lines {
		job, _ := l["job"].(string)
		ts, _ := l["time"].(string)
		t, err := time.Parse(time.RFC3339, ts)
		if job == "" || err != nil {
			continue
		}
		m, _ := json.Marshal(l["matrix"])
		key := job + string(m)
		if s, ok := spans[key]; ok {
			if t.Before(s.first) {
				s.first = t
			}
			if t.After(s.last) {
				s.last = t
			}
		} else {
			spans[key] = &span{t, t}
		}
	}
	for _, s := range spans {
		seconds += int(s.last.Sub(s.first).Seconds())
	}
	return len(spans), seconds
}

// ran lists the deploy legs that finished, as "service/environment=result".
func (r *actRun) deployLegs() []string {
	var out []string
	for _, j := range r.Results {
		if j.Environment == "" {
			continue
		}
		svc := strings.SplitN(j.Job, "/", 2)[0]
		out = append(out, svc+"/"+j.Environment+"="+j.Result)
	}
	sort.Strings(out)
	return out
}

// chunkLegs lists the chunk legs (matrix layout) that finished, as
// "index=result", by target index.
func (r *actRun) chunkLegs() map[int]string {
	out := map[int]string{}
	for _, j := range r.Results {
		if j.Index >= 0 {
			out[j.Index] = j.Result
		}
	}
	return out
}

// result returns the result of a top-level job of the caller workflow.
func (r *actRun) result(jobID string) string {
	for _, j := range r.Results {
		if j.JobID == jobID && j.Environment == "" {
			return j.Result
		}
	}
	return ""
}

// output concatenates the step output lines of the jobs whose act name
// starts with prefix.
func (r *actRun) output(prefix string) string {
	var b strings.Builder
	for _, l := range r.Lines {
		job, _ := l["job"].(string)
		msg, _ := l["msg"].(string)
		if strings.HasPrefix(job, prefix) {
			b.WriteString(msg)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// actEnv holds what every act run of a scenario shares.
type actEnv struct {
	cfg       *generator.Config // the configuration the pipeline was generated with
	act       string
	stubs     string
	artifacts string // the current run's artifacts (the stand-ins' folder)
	secrets   string
	// forkSecrets is the secrets file of a fork's pull request: GitHub
	// gives it no secret but the read-only GITHUB_TOKEN.
	forkSecrets string
	path        string // PATH of the runs (no kubectl: the action installs the pinned one)
	apiURL      string // GITHUB_API_URL of the steps: the fake GitHub, when set
	// release is the release copy the pinned root action maps onto; the
	// URLs are where its install steps download kustomatrix and kubectl.
	release                *testRelease
	releaseURL, kubectlURL string
}

func newActEnv(t *testing.T, cfg *generator.Config, kubectlDir string, secrets map[string]string) *actEnv {
	t.Helper()
	e := &actEnv{cfg: cfg, act: actBinary(t), stubs: t.TempDir()}
	writeFile(t, filepath.Join(e.stubs, "setup-go", "action.yml"), `name: setup-go stand-in
description: Go is on the host already; the real action would install it.
inputs:
  go-version-file:
    description: ignored
    required: false
  cache:
    description: ignored
    required: false
runs:
  using: composite
  steps:
    - shell: bash
      run: go version
`)
	e.artifacts = filepath.Join(e.stubs, "artifacts")
	writeFile(t, filepath.Join(e.stubs, "upload-artifact", "action.yml"), strings.ReplaceAll(uploadArtifactStub, "ARTIFACTS", e.artifacts))
	writeFile(t, filepath.Join(e.stubs, "download-artifact", "action.yml"), strings.ReplaceAll(downloadArtifactStub, "ARTIFACTS", e.artifacts))
	// github.token of the runs; the fake GitHub takes any token.
	secrets["GITHUB_TOKEN"] = "e2e-token"
	var lines []string
	for k, v := range secrets {
		// act reads a dotenv file; single quotes keep the JSON literal.
		lines = append(lines, fmt.Sprintf("%s='%s'", k, v))
	}
	sort.Strings(lines)
	e.secrets = filepath.Join(e.stubs, "secrets.env")
	writeFile(t, e.secrets, strings.Join(lines, "\n")+"\n")
	e.forkSecrets = filepath.Join(e.stubs, "fork-secrets.env")
	writeFile(t, e.forkSecrets, "GITHUB_TOKEN='e2e-token'\n")
	// kubectl is left off PATH: the root action downloads the pinned one
	// (the test's kubectl, served from loopback) and verifies it.
	e.path = os.Getenv("PATH")
	e.useRelease(t, filepath.Join(kubectlDir, "kubectl"))
	return e
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs the generated caller workflow of repo for one event. Every
// runs-on label is mapped to the host; the project's root action is mapped
// onto a release copy of this working tree (so the real install path, a
// verified download of the release binary and of kubectl from a loopback
// server, is what runs); setup-go is the stand-in.
func (e *actEnv) run(t *testing.T, repo *scratchRepo, event string, payload map[string]any) *actRun {
	t.Helper()
	cfg := e.cfg
	ev := filepath.Join(t.TempDir(), "event.json")
	b, _ := json.Marshal(payload)
	writeFile(t, ev, string(b))
	secrets := e.secrets
	if fromFork(payload) {
		secrets = e.forkSecrets
	}
	// The pin the generated files carry (generate keeps a recorded one).
	tool, ok := generator.RecordedTool([]byte(repo.read(".github/workflows/" + cfg.Name + ".yml")))
	if !ok {
		t.Fatalf("the generated workflow carries no tool pin")
	}
	args := []string{event, "-e", ev, "-W", ".github/workflows/" + cfg.Name + ".yml",
		"--no-cache-server", "--json", "--secret-file", secrets,
		"--local-repository", tool.Uses + "=" + e.release.dir,
		"--env", "KUSTOMATRIX_RELEASE_URL=" + e.releaseURL, "--env", "KUSTOMATRIX_KUBECTL_URL=" + e.kubectlURL,
		"--local-repository", setupGoPin + "=" + filepath.Join(e.stubs, "setup-go"),
		"--local-repository", uploadArtifactPin + "=" + filepath.Join(e.stubs, "upload-artifact"),
		"--local-repository", downloadArtifactPin + "=" + filepath.Join(e.stubs, "download-artifact")}
	if e.apiURL != "" {
		args = append(args, "--env", "GITHUB_API_URL="+e.apiURL)
	}
	// Artifacts live as long as their run.
	if err := os.RemoveAll(e.artifacts); err != nil {
		t.Fatal(err)
	}
	for _, label := range append([]string{"ubuntu-latest"}, cfg.RunsOn...) {
		args = append(args, "-P", label+"=-self-hosted")
	}
	cmd := exec.Command(e.act, args...)
	cmd.Dir = repo.Dir
	cmd.Stdin = nil
	gocache, _ := exec.Command("go", "env", "GOCACHE").Output()
	gomodcache, _ := exec.Command("go", "env", "GOMODCACHE").Output()
	cmd.Env = append(gitEnv(), "PATH="+e.path,
		"GOCACHE="+strings.TrimSpace(string(gocache)), "GOMODCACHE="+strings.TrimSpace(string(gomodcache)))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	run := &actRun{Raw: out.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		run.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	run.parse()
	if dir := os.Getenv("KUSTOMATRIX_E2E_LOGS"); dir != "" {
		// Keep act's whole log for a human to read.
		name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + "-" + event + ".jsonl"
		_ = os.WriteFile(filepath.Join(dir, name), out.Bytes(), 0o644)
	}
	if strings.Contains(run.Raw, "Skipping unsupported platform") {
		t.Fatalf("act skipped a job for an unmapped runs-on label:\n%s", tail(run.Raw, 40))
	}
	// The pinned action is a release copy: every job must take the
	// download path, never fall back to a build from source.
	if i := strings.Index(run.Raw, ": building from source"); i >= 0 {
		t.Fatalf("a job built kustomatrix from source instead of installing the release:\n%s", run.Raw[max(0, i-400):min(len(run.Raw), i+100)])
	}
	jobs, seconds := run.runnerSeconds()
	t.Logf("act %s: exit %d, legs %v, %d jobs, %d runner-seconds", event, run.Code, run.deployLegs(), jobs, seconds)
	return run
}

// fromFork reports a pull_request payload whose head is in another
// repository: act hands every run the secrets file, GitHub gives a fork's
// pull request none.
func fromFork(payload map[string]any) bool {
	pr, _ := payload["pull_request"].(map[string]any)
	head, _ := pr["head"].(map[string]any)
	headRepo, _ := head["repo"].(map[string]any)
	repo, _ := payload["repository"].(map[string]any)
	return headRepo != nil && repo != nil && headRepo["full_name"] != repo["full_name"]
}

func (r *actRun) parse() {
	sc := bufio.NewScanner(strings.NewReader(r.Raw))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var l map[string]any
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		r.Lines = append(r.Lines, l)
		res, _ := l["jobResult"].(string)
		if res == "" {
			continue
		}
		j := jobResult{Result: res, Index: -1}
		j.Job, _ = l["job"].(string)
		j.JobID, _ = l["jobID"].(string)
		if m, ok := l["matrix"].(map[string]any); ok {
			if tg, ok := m["target"].(map[string]any); ok {
				j.Environment, _ = tg["environment"].(string)
			}
			if i, ok := m["index"].(float64); ok {
				j.Index = int(i)
			}
		}
		r.Results = append(r.Results, j)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
