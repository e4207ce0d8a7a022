package generator

import (
	"bytes"
	"path"
	"reflect"
	"testing"
)

// FuzzPathsFileRoundTrip: the paths file gives back every name it accepts
// exactly, byte for byte: a target's service and environment (NameProblem),
// its path and its inputs (PathProblem, escaped as globs the way
// closureGlobs writes them), and the global paths. Whatever it accepts is
// written one value to a line. Run with
//
//	go test ./generator -run '^$' -fuzz FuzzPathsFileRoundTrip -fuzztime 3m
func FuzzPathsFileRoundTrip(f *testing.F) {
	for _, s := range [][5]string{
		{"cart", "prod", "apps/cart/overlays/prod", "apps/cart/base/deployment.yaml", ".kustomatrix.yaml"},
		{"ünïcödé", "prod-eu", "apps/ünïcödé", "apps/ünïcödé/日本.yaml", ".github/**"},
		{"say \"hi\"", "a'b", `apps/say "hi"`, `back\slash/x.yaml`, `*star/**`},
		{"a<b>&c", "stage", "apps/a<b>&c", "[bracket].txt", "{brace}.txt"},
		{"x", "y", "release: notes", "a #b.txt", "#lead.txt"},
		{"-lead", "null", "-lead", "tab\there.txt", "two words.txt"},
		{"x", "y", "data\xfe", "data\xfe/cm.yaml", "g"},          // not UTF-8: refused
		{"x", "y", "two\nlines", "cr\rhere", "esc\x1b[31m"},      // control characters: refused
		{"x", "y", "rtl\u202eevil", "zero\u200bwidth", "\u2028"}, // invisible: refused
		{"x", "y", ".", "**", "~"},
		{"x", "y", "a/b", "\"quoted\"", "    paths:"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	f.Fuzz(func(t *testing.T, service, env, root, input, global string) {
		if NameProblem(service) != "" || NameProblem(env) != "" {
			return
		}
		if root == "" || path.Clean(root) != root || PathProblem(root) != "" || PathProblem(input) != "" || PathProblem(global) != "" {
			return
		}
		targets := []*Target{
			{Service: service, Environment: env, Path: root, Inputs: []string{escapeGlob(input), escapeGlob(input) + "/**"}},
			{Service: "other", Environment: env, Path: root, Inputs: []string{}},
		}
		data := pathsFile([]string{global}, targets)
		gotGlobal, got, err := parsePathsFile(data)
		if err != nil {
			t.Fatalf("parsePathsFile: %v\n%s", err, data)
		}
		if !reflect.DeepEqual(gotGlobal, []string{global}) {
			t.Fatalf("global: got %q, want %q", gotGlobal, global)
		}
		if len(got) != len(targets) {
			t.Fatalf("got %d targets, want %d", len(got), len(targets))
		}
		for i := range targets {
			want, g := targets[i], got[i]
			if len(want.Inputs) == 0 {
				want.Inputs = nil
			}
			if !reflect.DeepEqual(g, want) {
				t.Fatalf("target %d: got %#v, want %#v", i, g, want)
			}
		}
		// One value to a line: a value can never pass for a key.
		lines := bytes.Count(data, []byte{'\n'})
		if want := bytes.Count(pathsFile(nil, nil), []byte{'\n'}) + 1 + 2*4 + 2; lines != want {
			t.Fatalf("%d lines, want %d:\n%s", lines, want, data)
		}
	})
}
