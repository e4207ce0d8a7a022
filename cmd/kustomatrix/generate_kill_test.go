package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// asMainEnv makes the test binary run kustomatrix's main instead of the
// tests: the tests below start it as a process they can kill.
const asMainEnv = "KUSTOMATRIX_TEST_RUN_MAIN"

func init() {
	if os.Getenv(asMainEnv) == "1" {
		main() // exits
	}
}

// kustomatrixCmd is the kustomatrix command, run in its own process.
func kustomatrixCmd(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), asMainEnv+"=1", "GIT_CONFIG_NOSYSTEM=1")
	return cmd
}

// killRepo writes a repository of n services into dir, with a .git
// directory (where the lock lives) and the pipeline named name.
func killRepo(t *testing.T, dir string, n int) {
	t.Helper()
	write := func(p, s string) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		svc := fmt.Sprintf("apps/svc%03d", i)
		write(svc+"/base/kustomization.yaml", "resources:\n  - deployment.yaml\n")
		write(svc+"/base/deployment.yaml", fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: svc%03d\n", i))
		for _, env := range []string{"dev", "prod"} {
			write(svc+"/overlays/"+env+"/kustomization.yaml", "resources:\n  - ../../base\n")
		}
	}
}

// snapshot reads every regular file under .github.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	root := filepath.Join(dir, ".github")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func isTemp(p string) bool { return strings.Contains(filepath.Base(p), ".tmp-") }

func setName(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, ".kustomatrix.yaml"), []byte("name: "+name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGenerateKilled kills generate at random moments (kill -9, for up to
// 30 runs or 20 seconds), alternating between two configurations whose
// every generated file differs (a renamed pipeline: new files, orphans
// to remove). After each kill every file under .github is whole: the
// version of one configuration or the other. The next complete run
// removes every temporary file a killed run left and leaves the tree that
// check accepts.
func TestGenerateKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes for up to 20 s")
	}
	dir := t.TempDir()
	killRepo(t, dir, 120)
	want := map[string][]byte{}
	var took time.Duration // of the last whole run, caches warm
	for _, name := range []string{"alpha", "beta"} {
		setName(t, dir, name)
		start := time.Now()
		if out, err := kustomatrixCmd(t, dir, "generate").CombinedOutput(); err != nil {
			t.Fatalf("generate: %v\n%s", err, out)
		}
		took = time.Since(start)
		for p, data := range snapshot(t, dir) {
			want[p] = data
		}
	}
	t.Logf("a whole run takes %v", took)
	deadline := time.Now().Add(20 * time.Second)
	runs, killedMidway := 0, 0
	for ; runs < 30 && time.Now().Before(deadline); runs++ {
		setName(t, dir, []string{"alpha", "beta"}[runs%2])
		cmd := kustomatrixCmd(t, dir, "generate")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Mostly while it writes, near the end; sometimes after.
		time.Sleep(took/4 + time.Duration(rand.Int64N(int64(took))))
		cmd.Process.Kill()
		if err := cmd.Wait(); err != nil {
			killedMidway++
		}
		for p, data := range snapshot(t, dir) {
			if isTemp(p) {
				continue
			}
			if w, ok := want[p]; !ok || !bytes.Equal(data, w) {
				t.Fatalf("run %d: %s is not a whole generated file (%d bytes):\n%.300s", runs, p, len(data), data)
			}
		}
	}
	t.Logf("%d runs, %d killed before they finished", runs, killedMidway)
	if killedMidway == 0 {
		t.Error("no run was killed before it finished: the test tests nothing")
	}
	// The window in which a kill leaves a temporary file is short: plant
	// one as a killed run leaves it, for the next run to remove.
	planted := filepath.Join(dir, ".github", "workflows", ".alpha.yml.tmp-2771")
	if err := os.WriteFile(planted, want[".github/workflows/alpha.yml"][:100], 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := kustomatrixCmd(t, dir, "generate").CombinedOutput(); err != nil {
		t.Fatalf("generate after the kills: %v\n%s", err, out)
	}
	for p := range snapshot(t, dir) {
		if isTemp(p) {
			t.Errorf("%s is left after a complete run", p)
		}
	}
	if out, err := kustomatrixCmd(t, dir, "check").CombinedOutput(); err != nil {
		t.Fatalf("check after the kills: %v\n%s", err, out)
	}
}

// TestGenerateConcurrent runs generate three at a time, on a pipeline
// renamed between rounds (files to write, orphans to remove): every run
// succeeds, one after the other, and the result is what check accepts.
func TestGenerateConcurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs generate 9 times")
	}
	dir := t.TempDir()
	killRepo(t, dir, 60)
	for round, name := range []string{"alpha", "beta", "alpha"} {
		setName(t, dir, name)
		var wg sync.WaitGroup
		errs := make([]string, 3)
		for i := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if out, err := kustomatrixCmd(t, dir, "generate").CombinedOutput(); err != nil {
					errs[i] = fmt.Sprintf("%v\n%s", err, out)
				}
			}()
		}
		wg.Wait()
		for i, e := range errs {
			if e != "" {
				t.Errorf("round %d, run %d: %s", round, i, e)
			}
		}
		if out, err := kustomatrixCmd(t, dir, "check").CombinedOutput(); err != nil {
			t.Fatalf("round %d: check: %v\n%s", round, err, out)
		}
		for p := range snapshot(t, dir) {
			if isTemp(p) {
				t.Errorf("round %d: %s is left", round, p)
			}
		}
	}
}

// TestGenerateLockHeld: a run that finds the lock held says which process
// holds it, waits, and fails (exit 3) after --lock-timeout.
func TestGenerateLockHeld(t *testing.T) {
	dir := t.TempDir()
	killRepo(t, dir, 2)
	// The test holds the lock itself, through a child that sleeps.
	holder := exec.Command("sh", "-c", `exec 9>>.git/kustomatrix.lock; flock 9; echo "pid $$" > .git/kustomatrix.lock; echo locked; sleep 30`)
	holder.Dir = dir
	out, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("no flock(1)")
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { holder.Process.Kill(); holder.Wait() }()
	buf := make([]byte, 7)
	if _, err := out.Read(buf); err != nil || string(buf) != "locked\n" {
		t.Fatalf("the holder did not lock: %q %v", buf, err)
	}
	start := time.Now()
	cmd := kustomatrixCmd(t, dir, "generate", "--lock-timeout", "300ms")
	got, err := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 3 {
		t.Fatalf("exit %d, want 3: %v\n%s", cmd.ProcessState.ExitCode(), err, got)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("gave up after %v, before the timeout", d)
	}
	for _, want := range []string{
		"kustomatrix: waiting up to 300ms for another kustomatrix generate (pid " + fmt.Sprint(holder.Process.Pid) + ")",
		"kustomatrix: another kustomatrix generate (pid " + fmt.Sprint(holder.Process.Pid) + ") holds the lock",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".github")); !os.IsNotExist(err) {
		t.Errorf("generate wrote without the lock: %v", err)
	}
}
