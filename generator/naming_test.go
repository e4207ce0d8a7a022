package generator

import (
	"errors"
	"strings"
	"testing"
)

func TestNameProblem(t *testing.T) {
	for name, want := range map[string]string{
		"cart":                         "",
		"prod-eu":                      "",
		"team_a.cart":                  "",
		"日本":                           "",
		"саrt":                         "", // a look-alike is a valid name; the comment shows its code points
		"":                             "is empty",
		"a\nb":                         "control or invisible character U+000A",
		"x\r::add-mask::y":             "U+000D",
		"cart\n\n<!--":                 "U+000A",
		"evil\u202etxt":                "U+202E",
		"iso\u2066late\u2069":          "U+2066",
		"ca\u200brt":                   "U+200B",
		"bom\ufeff":                    "U+FEFF",
		"sep\u2028":                    "U+2028",
		"hangul\u3164":                 "U+3164",
		"${{ github.token }}":          `"${{"`,
		"a${{b":                        `"${{"`,
		"c#":                           `"#"`,
		"key: value":                   `": "`,
		"trailing:":                    `": "`,
		" lead":                        "starts or ends with a space",
		"trail\u00a0":                  "starts or ends with a space",
		"bad\xffutf8":                  "not valid UTF-8",
		strings.Repeat("a", 101):       "longer than 100",
		strings.Repeat("a", 100):       "",
		strings.Repeat("é", 100):       "",
		"::notice title=x::forged":     "", // no YAML or expression syntax; logs are guarded where printed
		"</details><!-- -->":           "", // Markdown is escaped where shown
		"a: b # c ${{ x }}\n":          "U+000A",
		"under_score-and.dot":          "",
		"with space inside":            "",
		"colon:inside":                 "",
		"x\u0085":                      "U+0085",
		"zero\u2060width":              "U+2060",
		"soft\u00adhyphen":             "U+00AD",
		"tag\U000E0041":                "U+E0041",
		"variation\ufe0f":              "U+FE0F",
		"braille\u2800blank":           "",
		"\u0661\u0662":                 "",
		"ǅ":                            "",
		"emoji😀":                       "",
		"dollar$brace{":                "",
		"expr-like ${ not }":           "",
		"almost ${ { x }}":             "",
		"mixed ${{":                    `"${{"`,
		"tab\there":                    "U+0009",
		"nul\x00":                      "U+0000",
		"del\x7f":                      "U+007F",
		"c1\u0080":                     "U+0080",
		"lrm\u200e":                    "U+200E",
		"alm\u061c":                    "U+061C",
		"mvs\u180e":                    "U+180E",
		"invisible-plus\u2064":         "U+2064",
		"interlinear\ufff9":            "U+FFF9",
		"lineseparator\u2029":          "U+2029",
		"ideographic space\u3000":      "starts or ends with a space",
		"\u3000ideographic space lead": "starts or ends with a space",
	} {
		got := NameProblem(name)
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("NameProblem(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestScanRejectsHostileDirectoryNames: the service and environment names
// discovery takes from directory names are held to the same rules as
// configured ones; a bad one is a *ConfigError (exit 2) that names the
// root's path, quoted when it does not print as itself, and says what to
// do. Each of these used to be accepted.
func TestScanRejectsHostileDirectoryNames(t *testing.T) {
	for name, tc := range map[string]struct {
		root, wantPath, want string
	}{
		"newline and an HTML comment in the service": {root: "apps/cart\n\n<!--/overlays/prod",
			wantPath: `"apps/cart\n\n<!--/overlays/prod"`, want: "control or invisible character"},
		"an expression in the service": {root: "apps/${{ github.token }}/overlays/prod",
			wantPath: "apps/${{ github.token }}/overlays/prod", want: `service name "${{ github.token }}", taken from a directory name, contains "${{"`},
		"a comment in the environment": {root: "apps/cart/overlays/prod#eu",
			wantPath: "apps/cart/overlays/prod#eu", want: `environment name "prod#eu", taken from a directory name, contains "#"`},
		"a key in the environment": {root: "apps/cart/overlays/prod: eu",
			wantPath: "apps/cart/overlays/prod: eu", want: `environment name "prod: eu"`},
		"a bidi override in the path": {root: "apps/ca\u202ert/overlays/prod",
			wantPath: `"apps/ca\u202ert/overlays/prod"`, want: "control or invisible character"},
		"a leading space": {root: "apps/ cart/overlays/prod",
			wantPath: "apps/ cart/overlays/prod", want: "starts or ends with a space"},
		"too long": {root: "apps/" + strings.Repeat("x", 120) + "/overlays/prod",
			wantPath: "apps/" + strings.Repeat("x", 120) + "/overlays/prod", want: "longer than 100 characters"},
	} {
		t.Run(name, func(t *testing.T) {
			s := newDiskScenario(t) // the in-memory file system refuses such names
			s.write("apps/good/overlays/prod/kustomization.yaml", "resources: []\n")
			s.write(tc.root+"/kustomization.yaml", "resources: []\n")
			_, err := s.scanErr(nil)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Scan: %v; want a *ConfigError", err)
			}
			if len(ce.Problems) != 1 {
				t.Fatalf("problems %q; want one", ce.Problems)
			}
			p := ce.Problems[0]
			if p.Path != tc.wantPath || p.Kind != "naming" || !strings.Contains(p.Message, tc.want) {
				t.Errorf("problem %q (path %q); want path %q and a message with %q", p, p.Path, tc.wantPath, tc.want)
			}
			if strings.ContainsAny(p.String(), "\n\r\u202e") {
				t.Errorf("the diagnostic is not one printable line: %q", p)
			}
		})
	}
}

func TestScanRejectsBadOverrideNames(t *testing.T) {
	s := newScenario(t)
	s.write("x/kustomization.yaml", "resources: []\n")
	_, err := s.scanErr(s.config("discovery:\n  overrides:\n    - path: x\n      service: \"a: b\"\n      environment: prod\n"))
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(ce.Error(), `x: service name "a: b", set in discovery.overrides, contains ": "`) {
		t.Fatalf("Scan: %v; want the override's service refused", err)
	}
}

// FuzzNameProblem: a name NameProblem accepts is one line of printable
// text without expression or YAML syntax, and its job id is valid.
func FuzzNameProblem(f *testing.F) {
	for _, s := range []string{"cart", "a\nb", "${{ x }}", "c#", "a: b", "\u202e", "саrt", " x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if NameProblem(s) != "" {
			return
		}
		if strings.ContainsAny(s, "\n\r#") || strings.Contains(s, "${{") || strings.Contains(s, ": ") {
			t.Fatalf("NameProblem accepts %q", s)
		}
		if id := JobID(s); !jobIDRe.MatchString(id) {
			t.Fatalf("JobID(%q) = %q", s, id)
		}
	})
}
