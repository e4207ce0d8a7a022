package workflowcmd

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// hostileLog is what a diff of a pull request's manifests can print.
const hostileLog = `--- /tmp/LIVE/v1.ConfigMap.shop.x
+++ /tmp/MERGED/v1.ConfigMap.shop.x
@@ -1,4 +1,4 @@
 data:
   script: |
     ::add-mask::hunter2
     ::error file=README.md,line=1::forged
-    ::set-output name=x::y
+    ::notice title=x::y
   note: "##[warning]legacy form"
   ::stop-commands::guess
   ::guess::
`

// runner models how the Actions runner reads a step's log
// (ActionCommandManager.TryProcessCommand): a line is a command when,
// after leading spaces, it starts with "::name", or holds "##[name"; while
// stopped, only "::TOKEN::" is, and it resumes. It returns the commands it
// would run.
func runner(log string) []string {
	name := regexp.MustCompile(`^::([A-Za-z0-9_.-]+)(?:[ :]|$)`)
	legacy := regexp.MustCompile(`##\[([A-Za-z0-9_.-]+)`)
	var ran []string
	stopped, token := false, ""
	for _, line := range strings.FieldsFunc(log, func(r rune) bool { return r == '\n' || r == '\r' }) {
		var cmd string
		if m := name.FindStringSubmatch(strings.TrimLeft(line, " \t")); m != nil {
			cmd = m[1]
		} else if m := legacy.FindStringSubmatch(line); m != nil {
			cmd = m[1]
		}
		switch {
		case cmd == "":
		case stopped && strings.EqualFold(cmd, token):
			stopped = false
		case stopped:
		case cmd == "stop-commands":
			stopped, token = true, strings.SplitN(strings.TrimSpace(line), "::", 3)[2]
		default:
			ran = append(ran, cmd)
		}
	}
	return ran
}

func TestRunnerModel(t *testing.T) {
	if got := runner(hostileLog); len(got) == 0 {
		t.Fatal("the model runs no command of the unwrapped log; it does not model the runner")
	}
}

func TestWrapStopsCommands(t *testing.T) {
	var b bytes.Buffer
	w, done := Wrap(&b)
	fmt.Fprint(w, hostileLog)
	done()
	done() // twice is once
	fmt.Fprint(w, "::notice::after the region\n")
	log := b.String()
	if got := runner(log); len(got) != 1 || got[0] != "notice" {
		t.Fatalf("commands run: %q; want only the one written after the region:\n%s", got, log)
	}
	lines := strings.Split(log, "\n")
	token := strings.TrimPrefix(lines[0], "::stop-commands::")
	if !strings.HasPrefix(token, "kustomatrix-") || len(token) != len("kustomatrix-")+32 {
		t.Fatalf("first line %q; want ::stop-commands:: and a fresh token", lines[0])
	}
	if !strings.Contains(log, hostileLog+"::"+token+"::\n") {
		t.Errorf("the text is not kept whole, or the region does not end right after it:\n%s", log)
	}
}

func TestWrapTokensDiffer(t *testing.T) {
	if NewToken() == NewToken() {
		t.Fatal("two tokens are equal")
	}
}

func TestWrapNothingWritten(t *testing.T) {
	var b bytes.Buffer
	_, done := Wrap(&b)
	done()
	if b.Len() != 0 {
		t.Errorf("an empty region printed %q", b.String())
	}
}

func TestWrapEndsAPartialLine(t *testing.T) {
	var b bytes.Buffer
	w, done := Wrap(&b)
	fmt.Fprint(w, "no newline at the end")
	done()
	if !regexp.MustCompile(`\nno newline at the end\n::kustomatrix-[0-9a-f]{32}::\n$`).MatchString(b.String()) {
		t.Errorf("the resume token is not on a line of its own:\n%q", b.String())
	}
}

// TestStreams: stderr goes through the region on stdout, whole lines at a
// time, in the order written; a partial line is flushed at the end.
func TestStreams(t *testing.T) {
	var b bytes.Buffer
	out, errw, done := Streams(&b)
	fmt.Fprint(out, hostileLog)
	fmt.Fprint(errw, "configmap/x -n shop: changed\n::add-mask::from-stderr\n")
	fmt.Fprint(errw, "kustomatrix: kubectl diff failed: ")
	fmt.Fprint(out, "::warning::late stdout\n")
	fmt.Fprint(errw, "::error::no newline")
	done()
	log := b.String()
	if got := runner(log); len(got) != 0 {
		t.Fatalf("commands run: %q\n%s", got, log)
	}
	if !strings.Contains(log, "::add-mask::from-stderr\n::warning::late stdout\nkustomatrix: kubectl diff failed: ::error::no newline\n::kustomatrix-") {
		t.Errorf("lines are lost, reordered or mixed:\n%s", log)
	}
}

func TestStreamsConcurrent(t *testing.T) {
	var b bytes.Buffer
	out, errw, done := Streams(&b)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := out
			if i%2 == 1 {
				w = errw
			}
			for j := range 50 {
				fmt.Fprintf(w, "::add-mask::%d-%d\n", i, j)
			}
		}()
	}
	wg.Wait()
	done()
	if got := runner(b.String()); len(got) != 0 {
		t.Fatalf("commands run: %d", len(got))
	}
	if n := strings.Count(b.String(), "::add-mask::"); n != 1000 {
		t.Errorf("%d lines, want 1000", n)
	}
}

func TestEnabled(t *testing.T) {
	t.Setenv(EnvVar, "")
	if Enabled() {
		t.Error("enabled without the variable")
	}
	t.Setenv(EnvVar, "true")
	if !Enabled() {
		t.Error("not enabled with the variable")
	}
}
