package main

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite the cmp targets in testdata/script/*.txtar with the actual output")

// TestMain lets the test binary double as the kustomatrix command inside
// scripts. main calls os.Exit(run(...)) itself, so testscript.Main (not the
// deprecated RunMain) is the one that keeps its exit codes intact.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"kustomatrix": main})
}

// TestScripts runs the end-to-end scripts in testdata/script. Run with
// -update to refresh the expected files inside the archives.
func TestScripts(t *testing.T) {
	testdata, err := filepath.Abs(filepath.Join("..", "..", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join(testdata, "script"),
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			return setupEnv(env, testdata)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": cmdExitCode,
			"cpdir":    cmdCpdir,
		},
	})
}

// setupEnv gives every script a private HOME ($WORK/.home) and a git that
// works without the machine's configuration: an identity, no system config,
// and a global config whose default branch is main. Scripts keep their
// manifest repositories in a subdirectory ($WORK/repo): $WORK itself holds
// .home and .tmp, which "git add -A" must not pick up, and git does not look
// above $WORK for a repository. $TESTDATA is the repository's testdata
// directory, for cpdir.
func setupEnv(env *testscript.Env, testdata string) error {
	home := filepath.Join(env.WorkDir, ".home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	gitconfig := filepath.Join(home, ".gitconfig")
	const cfg = "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n[core]\n\tautocrlf = false\n"
	if err := os.WriteFile(gitconfig, []byte(cfg), 0o644); err != nil {
		return err
	}
	for k, v := range map[string]string{
		"HOME":                home,
		"GIT_CONFIG_GLOBAL":   gitconfig,
		"GIT_CONFIG_NOSYSTEM": "1",
		// Never find a repository above $WORK (a checkout holding the
		// temporary directory, say): "not a git repository" stays testable.
		"GIT_CEILING_DIRECTORIES": env.WorkDir,
		"GIT_AUTHOR_NAME":         "Kustomatrix Test",
		"GIT_AUTHOR_EMAIL":        "test@example.com",
		"GIT_COMMITTER_NAME":      "Kustomatrix Test",
		"GIT_COMMITTER_EMAIL":     "test@example.com",
		"TESTDATA":                testdata,
	} {
		env.Setenv(k, v)
	}
	return nil
}

// cmdExitCode runs a program like exec, keeping its stdout and stderr for
// the stdout and stderr commands, and fails unless it exits with exactly the
// given code. "! exec" accepts any non-zero code; the CLI's codes (1 drift,
// 2 usage, 3 failure) are a contract.
//
//	exitcode N program [args...]
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exitcode")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: bad code %q: %v", args[0], err)
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: running %s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// cmdCpdir copies a directory tree, such as a fixture under $TESTDATA, into
// the script's work directory. The destination must not exist.
//
//	cpdir SRC DST
func cmdCpdir(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! cpdir")
	}
	if len(args) != 2 {
		ts.Fatalf("usage: cpdir SRC DST")
	}
	src, dst := ts.MkAbs(args[0]), ts.MkAbs(args[1])
	if _, err := os.Stat(dst); err == nil {
		ts.Fatalf("cpdir: %s already exists", args[1])
	}
	ts.Check(os.CopyFS(dst, os.DirFS(src)))
}
