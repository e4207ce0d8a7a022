package release

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeTool stands in for a release binary: install.sh only checks bytes.
const fakeTool = "#!/bin/sh\necho fake-tool-ran\n"

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// actionTree is a minimal action tree: the real install and digest
// scripts, a VERSION, kubectl pins for the fake tool, and sums recording
// the tree's digest and the fake tool for this platform.
func actionTree(t *testing.T, withSums bool) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"install.sh", "tree-digest.sh"} {
		b, err := os.ReadFile(filepath.Join(projectRoot(t), "hack", "release", f))
		if err != nil {
			t.Fatal(err)
		}
		write(t, dir, "hack/release/"+f, string(b))
	}
	write(t, dir, VersionFile, "v1.2.3\n")
	write(t, dir, KubectlVersion, "v1.32.13\n")
	write(t, dir, KubectlSums, fmt.Sprintf("%s  kubectl_%s_%s\n", hexSum([]byte(fakeTool)), runtime.GOOS, runtime.GOARCH))
	if withSums {
		write(t, dir, SumsFile, fmt.Sprintf("%s  %s\n%s  %s\n", hexSum([]byte(fakeTool)), HostAsset(), mustDigest(t, dir), TreeLine))
	}
	return dir
}

// server serves body at every path and counts the requests; a path
// ending in /missing is 404, /broken 502, and /cut sends half of body under
// a Content-Length of all of it and hangs up.
func server(t *testing.T, body string) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		switch {
		case strings.HasSuffix(r.URL.Path, "/missing"):
			http.NotFound(w, r)
			return
		case strings.HasSuffix(r.URL.Path, "/broken"):
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		case strings.HasSuffix(r.URL.Path, "/cut"):
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.WriteHeader(http.StatusOK)
			fmt.Fprint(w, body[:len(body)/2])
			panic(http.ErrAbortHandler)
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

type installRun struct {
	out, output string // combined output; what it wrote to GITHUB_OUTPUT
	code        int
	bindir      string
}

func install(t *testing.T, tree, tool, url, path string) installRun {
	t.Helper()
	return installIn(t, t.TempDir(), tree, tool, url, path)
}

// installIn runs install.sh with RUNNER_TEMP=tmp.
func installIn(t *testing.T, tmp, tree, tool, url, path string) installRun {
	t.Helper()
	ghOut := filepath.Join(tmp, "output")
	cmd := exec.Command("bash", filepath.Join(tree, "hack", "release", "install.sh"), tool)
	cmd.Env = []string{"PATH=" + path, "RUNNER_TEMP=" + tmp, "GITHUB_OUTPUT=" + ghOut, "GITHUB_PATH=" + filepath.Join(tmp, "path"),
		"KUSTOMATRIX_RELEASE_URL=" + url + "/releases/v1.2.3/", "KUSTOMATRIX_KUBECTL_URL=" + url + "/k8s"}
	b, err := cmd.CombinedOutput()
	r := installRun{out: string(b), bindir: filepath.Join(tmp, "kustomatrix-bin")}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	o, _ := os.ReadFile(ghOut)
	r.output = string(o)
	return r
}

// systemPath is a PATH with the tools install.sh needs and no kustomatrix
// or kubectl.
func systemPath(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, tool := range []string{"bash", "curl", "sha256sum", "awk", "cut", "tr", "uname", "dirname", "mktemp", "chmod", "mv", "rm", "mkdir", "cat", "find", "sort", "xargs", "git", "cp"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestInstallKustomatrix(t *testing.T) {
	sys := systemPath(t)
	good, _ := server(t, fakeTool)
	tampered, _ := server(t, strings.Replace(fakeTool, "ran", "RAN", 1))
	truncated, _ := server(t, fakeTool[:10])

	t.Run("verified download", func(t *testing.T) {
		r := install(t, actionTree(t, true), "kustomatrix", good.URL, sys)
		bin := filepath.Join(r.bindir, "kustomatrix")
		if r.code != 0 || r.output != "bin="+bin+"\n" || !strings.Contains(r.out, "verified SHA-256") {
			t.Fatalf("exit %d, output %q\n%s", r.code, r.output, r.out)
		}
		if out, err := exec.Command(bin).Output(); err != nil || string(out) != "fake-tool-ran\n" {
			t.Fatalf("the installed binary: %v %q", err, out)
		}
	})
	for name, srv := range map[string]*httptest.Server{"tampered": tampered, "truncated": truncated} {
		t.Run(name+" download fails", func(t *testing.T) {
			r := install(t, actionTree(t, true), "kustomatrix", srv.URL, sys)
			if r.code == 0 || r.output != "" || !strings.Contains(r.out, "::error::kustomatrix: ") || !strings.Contains(r.out, "refusing to run it") {
				t.Fatalf("exit %d, output %q\n%s", r.code, r.output, r.out)
			}
			if entries, _ := os.ReadDir(r.bindir); len(entries) != 0 {
				t.Fatalf("an unverified download was left in %s: %v", r.bindir, entries)
			}
		})
	}
	t.Run("an unpublished asset builds from source", func(t *testing.T) {
		r := install(t, actionTree(t, true), "kustomatrix", good.URL+"/missing?", sys)
		if r.code != 0 || r.output != "" || !strings.Contains(r.out, "::warning::kustomatrix: release v1.2.3 has no "+HostAsset()) ||
			!strings.Contains(r.out, "release v1.2.3 is not published: building from source") {
			t.Fatalf("exit %d, output %q\n%s", r.code, r.output, r.out)
		}
		if entries, _ := os.ReadDir(r.bindir); len(entries) != 0 {
			t.Fatalf("the 404 page was left in %s: %v", r.bindir, entries)
		}
	})
	for name, suffix := range map[string]string{"a server error": "/broken?", "a transfer cut short": "/cut?"} {
		t.Run(name+" fails", func(t *testing.T) {
			r := install(t, actionTree(t, true), "kustomatrix", good.URL+suffix, sys)
			if r.code == 0 || r.output != "" || !strings.Contains(r.out, "::error::kustomatrix: downloading") {
				t.Fatalf("exit %d, output %q\n%s", r.code, r.output, r.out)
			}
			if entries, _ := os.ReadDir(r.bindir); len(entries) != 0 {
				t.Fatalf("a failed download was left in %s: %v", r.bindir, entries)
			}
		})
	}
	t.Run("no sums builds from source", func(t *testing.T) {
		r := install(t, actionTree(t, false), "kustomatrix", good.URL, sys)
		if r.code != 0 || r.output != "" || !strings.Contains(r.out, "no release sums in the action's tree (hack/release/SHA256SUMS): building from source") {
			t.Fatalf("exit %d, output %q\n%s", r.code, r.output, r.out)
		}
	})
	t.Run("a build of this tree earlier in the job is reused", func(t *testing.T) {
		tree := actionTree(t, false)
		for digest, reused := range map[string]bool{mustDigest(t, tree): true, strings.Repeat("0", 64): false} {
			tmp := t.TempDir()
			write(t, tmp, "kustomatrix-bin/kustomatrix", fakeTool)
			os.Chmod(filepath.Join(tmp, "kustomatrix-bin", "kustomatrix"), 0o755)
			write(t, tmp, "kustomatrix-bin/kustomatrix.tree", digest+"\n")
			r := installIn(t, tmp, tree, "kustomatrix", good.URL, sys)
			if got := r.output != ""; r.code != 0 || got != reused {
				t.Fatalf("recorded digest %s: exit %d, output %q (want reuse %t)\n%s", digest, r.code, r.output, reused, r.out)
			}
		}
	})
	t.Run("a tree that is not the release tree builds from source", func(t *testing.T) {
		tree := actionTree(t, true)
		write(t, tree, "cmd/kustomatrix/main.go", "package main // changed after the release\n")
		r := install(t, tree, "kustomatrix", good.URL, sys)
		if r.code != 0 || r.output != "" || !strings.Contains(r.out, "is not the tree release v1.2.3 was built from") {
			t.Fatalf("exit %d, output %q\n%s", r.code, r.output, r.out)
		}
	})
	t.Run("no asset for the platform builds from source", func(t *testing.T) {
		tree := actionTree(t, true)
		sums := fmt.Sprintf("%s  kustomatrix_plan9_mips\n%s  %s\n", hexSum([]byte(fakeTool)), mustDigest(t, tree), TreeLine)
		write(t, tree, SumsFile, sums)
		r := install(t, tree, "kustomatrix", good.URL, sys)
		if r.code != 0 || r.output != "" || !strings.Contains(r.out, "has no asset for "+runtime.GOOS+"/"+runtime.GOARCH+": building from source") {
			t.Fatalf("exit %d, output %q\n%s", r.code, r.output, r.out)
		}
	})
	t.Run("a matching binary on PATH is used", func(t *testing.T) {
		onPath := t.TempDir()
		write(t, onPath, "kustomatrix", fakeTool)
		srv, n := server(t, fakeTool)
		tmp := t.TempDir()
		r := installIn(t, tmp, actionTree(t, true), "kustomatrix", srv.URL, onPath+":"+sys)
		if r.code != 0 || r.output != "bin="+filepath.Join(r.bindir, "kustomatrix")+"\n" || n.Load() != 0 {
			t.Fatalf("exit %d, output %q, %d downloads\n%s", r.code, r.output, n.Load(), r.out)
		}
		// A verified copy: only the action's own directory goes on PATH,
		// not the one the binary was found in.
		if b, err := os.ReadFile(filepath.Join(r.bindir, "kustomatrix")); err != nil || string(b) != fakeTool {
			t.Fatalf("the copy: %v %q", err, b)
		}
		if p, _ := os.ReadFile(filepath.Join(tmp, "path")); string(p) != r.bindir+"\n" {
			t.Fatalf("GITHUB_PATH got %q, want only %s", p, r.bindir)
		}
	})
	t.Run("a download is never reused as a source build of another tree", func(t *testing.T) {
		// Steps of one job: a source build of tree X (marker), then release
		// R downloaded over it, then X again must build, not reuse R's binary.
		tmp := t.TempDir()
		other := actionTree(t, false)
		write(t, tmp, "kustomatrix-bin/kustomatrix", "#!/bin/sh\necho build-of-x\n")
		os.Chmod(filepath.Join(tmp, "kustomatrix-bin", "kustomatrix"), 0o755)
		write(t, tmp, "kustomatrix-bin/kustomatrix.tree", mustDigest(t, other)+"\n")
		if r := installIn(t, tmp, actionTree(t, true), "kustomatrix", good.URL, sys); r.code != 0 || r.output == "" {
			t.Fatalf("release download: exit %d, output %q\n%s", r.code, r.output, r.out)
		}
		os.Remove(filepath.Join(tmp, "output"))
		if r := installIn(t, tmp, other, "kustomatrix", good.URL, sys); r.code != 0 || r.output != "" || strings.Contains(r.out, "reusing") {
			t.Fatalf("tree X after the download: exit %d, output %q (want a build from source)\n%s", r.code, r.output, r.out)
		}
	})
	t.Run("another binary on PATH is ignored", func(t *testing.T) {
		onPath := t.TempDir()
		write(t, onPath, "kustomatrix", "#!/bin/sh\necho other\n")
		r := install(t, actionTree(t, true), "kustomatrix", good.URL, onPath+":"+sys)
		if r.code != 0 || r.output != "bin="+filepath.Join(r.bindir, "kustomatrix")+"\n" || !strings.Contains(r.out, "::notice::kustomatrix: ignoring "+filepath.Join(onPath, "kustomatrix")) {
			t.Fatalf("exit %d, output %q\n%s", r.code, r.output, r.out)
		}
	})
}

func TestInstallKubectl(t *testing.T) {
	sys := systemPath(t)
	var paths []string
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		fmt.Fprint(w, fakeTool)
	}))
	t.Cleanup(good.Close)
	tampered, _ := server(t, fakeTool+"#")

	r := install(t, actionTree(t, false), "kubectl", good.URL, sys)
	want := fmt.Sprintf("/k8s/v1.32.13/bin/%s/%s/kubectl", runtime.GOOS, runtime.GOARCH)
	if r.code != 0 || r.output != "bin="+filepath.Join(r.bindir, "kubectl")+"\n" || len(paths) != 1 || paths[0] != want {
		t.Fatalf("exit %d, output %q, requests %v (want %s)\n%s", r.code, r.output, paths, want, r.out)
	}
	r = install(t, actionTree(t, false), "kubectl", tampered.URL, sys)
	if r.code == 0 || r.output != "" || !strings.Contains(r.out, "::error::kubectl: ") {
		t.Fatalf("tampered kubectl: exit %d, output %q\n%s", r.code, r.output, r.out)
	}
	// kubectl has no source build to fall back on: a 404 fails too.
	r = install(t, actionTree(t, false), "kubectl", tampered.URL+"/missing?", sys)
	if r.code == 0 || r.output != "" || !strings.Contains(r.out, "::error::kubectl: ") || !strings.Contains(r.out, "HTTP 404") {
		t.Fatalf("kubectl not found: exit %d, output %q\n%s", r.code, r.output, r.out)
	}
	onPath := t.TempDir()
	write(t, onPath, "kubectl", fakeTool)
	r = install(t, actionTree(t, false), "kubectl", tampered.URL, onPath+":"+sys)
	if r.code != 0 || r.output != "bin="+filepath.Join(r.bindir, "kubectl")+"\n" {
		t.Fatalf("pinned kubectl on PATH: exit %d, output %q\n%s", r.code, r.output, r.out)
	}
	write(t, onPath, "kubectl", "#!/bin/sh\n")
	r = install(t, actionTree(t, false), "kubectl", tampered.URL, onPath+":"+sys)
	if r.code == 0 || !strings.Contains(r.out, "::notice::kubectl: ignoring") || !strings.Contains(r.out, "::error::kubectl: ") {
		t.Fatalf("other kubectl on PATH, tampered download: exit %d\n%s", r.code, r.out)
	}
}
