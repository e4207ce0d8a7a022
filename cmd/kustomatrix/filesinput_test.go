package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestFileListClean: every spelling of a path names the file the path
// filters match, and every path that names nothing or leaves the work
// tree is said.
func TestFileListClean(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "k8s") // --repo below the top of the work tree
	for _, p := range []string{"apps/a/x.yaml", "apps/a/sub/y.yaml", "apps/café.yaml", "apps/a/.git/HEAD"} {
		full := filepath.Join(dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		os.WriteFile(full, nil, 0o644)
	}
	os.WriteFile(filepath.Join(top, "shared.yaml"), nil, 0o644)
	os.Mkdir(filepath.Join(top, ".git"), 0o755)
	for name, tc := range map[string]struct {
		nul       bool
		input     string
		want      []string
		stderr    string // a substring
		wantError string // a substring
	}{
		"plain":           {input: "apps/a/x.yaml\n", want: []string{"apps/a/x.yaml"}},
		"dot slash":       {input: "./apps/a/x.yaml\n", want: []string{"apps/a/x.yaml"}},
		"dot dot":         {input: "apps/b/../a/x.yaml\n", want: []string{"apps/a/x.yaml"}},
		"double slash":    {input: "apps//a///x.yaml\n", want: []string{"apps/a/x.yaml"}},
		"absolute":        {input: filepath.Join(dir, "apps/a/x.yaml") + "\n", want: []string{"apps/a/x.yaml"}},
		"crlf and blanks": {input: "\r\napps/a/x.yaml\r\n\n", want: []string{"apps/a/x.yaml"}},
		// A space belongs to the name: "x.yaml " is another file.
		"spaces kept": {input: "apps/a/x.yaml \n", want: []string{"apps/a/x.yaml "}, stderr: "matches no file"},
		// Lines read with -z: one "path" with a line break is refused.
		"lines read with -z": {nul: true, input: "apps/a/x.yaml\napps/a/sub/y.yaml\n", wantError: "holds a control character (U+000A)"},
		"unterminated quote": {input: `"apps/caf\303\251.yaml` + "\n", wantError: "is not a path as git quotes it"},
		"quoted":             {input: `"apps/caf\303\251.yaml"` + "\n", want: []string{"apps/café.yaml"}},
		"bad quoting":        {input: `"apps/\q"` + "\n", wantError: "is not a path as git quotes it"},
		"nul":                {nul: true, input: "apps/a/x.yaml\x00apps/café.yaml\x00", want: []string{"apps/a/x.yaml", "apps/café.yaml"}},
		"nul keeps quotes":   {nul: true, input: `"q".yaml` + "\x00", want: []string{`"q".yaml`}, stderr: "matches no file"},
		"directory":          {input: "apps/a\n", want: []string{"apps/a/sub/y.yaml", "apps/a/x.yaml"}},
		"the repository":     {input: ".\n", want: []string{"apps/a/sub/y.yaml", "apps/a/x.yaml", "apps/café.yaml"}},
		"duplicates":         {input: "apps/a/x.yaml\n./apps/a/x.yaml\napps/a\n", want: []string{"apps/a/x.yaml", "apps/a/sub/y.yaml"}},
		"deleted":            {input: "apps/gone.yaml\n", want: []string{"apps/gone.yaml"}, stderr: `"apps/gone.yaml" matches no file`},
		"rest of the tree":   {input: "../shared.yaml\n", want: []string{"../shared.yaml"}},
		"outside":            {input: "../../x\n/etc/hosts\n", wantError: `"../../x" is outside the repository, "/etc/hosts" is outside`},
	} {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			got, err := fileList{dir: dir, top: workTreeTop(dir), nul: tc.nul}.clean([]byte(tc.input), &stderr)
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("error %v, want one with %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if tc.stderr == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.stderr)
			}
		})
	}
}
