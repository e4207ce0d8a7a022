package generator

import (
	"net/url"
	"strings"
	"testing"
)

const pinned = "0123456789abcdef0123456789abcdef01234567"

func TestRemoteRefused(t *testing.T) {
	k := Kustomize{RemoteResources: []string{"github.com/myorg/*", "*.example.com", "gitlab.com/team/deploy"}}
	for name, tc := range map[string]struct {
		ref  string
		want string // a part of the reason; "" when allowed
	}{
		"pinned https base":               {"https://github.com/myorg/deploy//base?ref=" + pinned, ""},
		"pinned host-prefixed base":       {"github.com/myorg/deploy/base?ref=" + pinned, ""},
		"pinned scp base":                 {"git@github.com:myorg/deploy.git//base?ref=" + pinned, ""},
		"pinned by version":               {"https://github.com/myorg/deploy//base?version=" + pinned, ""},
		"https file on a wildcard host":   {"https://raw.example.com/x/cm.yaml", ""},
		"exact repository pattern":        {"https://gitlab.com/team/deploy.git//x?ref=" + pinned, ""},
		"host case ignored":               {"https://GitHub.com/myorg/deploy//base?ref=" + pinned, ""},
		"branch":                          {"https://github.com/myorg/deploy//base?ref=main", "not pinned"},
		"tag":                             {"github.com/myorg/deploy/base?ref=v1.0.0", "not pinned"},
		"no ref":                          {"git@github.com:myorg/deploy.git//base", "not pinned"},
		"upper-case sha":                  {"https://github.com/myorg/deploy//base?ref=" + strings.ToUpper(pinned), "not pinned"},
		"another org":                     {"https://github.com/evil/deploy//base?ref=" + pinned, "no pattern"},
		"org prefix is no match":          {"https://github.com/myorg-evil/deploy//base?ref=" + pinned, "no pattern"},
		"host suffix is no match":         {"https://github.com.evil.io/myorg/deploy//b?ref=" + pinned, "no pattern"},
		"a sibling repository":            {"https://gitlab.com/team/deploy-other//x?ref=" + pinned, "no pattern"},
		"userinfo does not fool the host": {"https://github.com@evil.io/myorg/deploy//b?ref=" + pinned, "user"},
		"dot-dot leaves the org":          {"https://github.com/myorg/../evil/d//b?ref=" + pinned, "could lead past"},
		"encoded dot-dot":                 {"https://github.com/myorg/%2e%2e/evil/d//b?ref=" + pinned, "could lead past"},
		"plain http":                      {"http://github.com/myorg/deploy//base?ref=" + pinned, "plain http"},
		"file":                            {"file:///srv/repo//base?ref=" + pinned, "local transport"},
		"git::file":                       {"git::file:///srv/repo//base?ref=" + pinned, "local transport"},
		"upper-case FILE":                 {"FILE:///srv/repo//base?ref=" + pinned, "local transport"},
		"ssh to loopback":                 {"ssh://git@127.0.0.1/srv/repo//base?ref=" + pinned, "this machine"},
		"scp to localhost":                {"alice@localhost:srv/repo//base?ref=" + pinned, "this machine"},
		"https to ipv6 loopback":          {"https://[::1]:8443/x.yaml", "this machine"},
		"decimal loopback":                {"https://2130706433/x.yaml", "this machine"},
		"other scheme":                    {"s3://bucket/x.yaml", "not one kustomize fetches from"},
	} {
		t.Run(name, func(t *testing.T) {
			if !isRemote(tc.ref) {
				t.Fatalf("isRemote(%q) = false; the analysis would take it for a local path", tc.ref)
			}
			got := k.RemoteRefused(tc.ref)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("RemoteRefused(%q) = %q, want %q", tc.ref, got, tc.want)
			}
		})
	}
}

// remoteTricks are references whose host, read as kustomize's repospec
// used to read it (after the last "@" of the first segment), is an allowed
// one, while git, curl and Go's URL parser send the request elsewhere: "#"
// starts a fragment, a backslash or space ends the authority for some
// parsers and not others, and what precedes "@" is userinfo.
var remoteTricks = map[string]string{
	"fragment before userinfo, file":      "https://127.0.0.1:18443#@raw.githubusercontent.com/myorg/x.yaml",
	"fragment before userinfo, git":       "https://attacker.example#@github.com/myorg/repo//deploy?ref=" + pinned,
	"backslash before userinfo":           `https://attacker.example:443\@github.com/myorg/repo//deploy?ref=` + pinned,
	"git:: fragment before userinfo":      "git::https://attacker.example#@github.com/myorg/repo//deploy?ref=" + pinned,
	"ssh fragment before userinfo":        "ssh://attacker.example#@github.com/myorg/repo//deploy?ref=" + pinned,
	"scp fragment":                        "git@attacker.example#@github.com:myorg/repo.git//x?ref=" + pinned,
	"host-prefixed fragment":              "github.com/myorg/repo/deploy?ref=" + pinned + "#@x",
	"fragment after the path":             "https://github.com/myorg/repo//deploy?ref=" + pinned + "#x",
	"token in the url":                    "https://x-access-token:ghp_x@github.com/myorg/repo//deploy?ref=" + pinned,
	"user in an https url":                "https://git@github.com/myorg/repo//deploy?ref=" + pinned,
	"port-looking userinfo":               "https://github.com:443@attacker.example/myorg/repo//deploy?ref=" + pinned,
	"bracketed userinfo":                  "https://[::1]@github.com/myorg/repo//deploy?ref=" + pinned,
	"ssh password":                        "ssh://git:pw@github.com/myorg/repo//deploy?ref=" + pinned,
	"ssh two users":                       "ssh://git@attacker.example@github.com/myorg/repo//deploy?ref=" + pinned,
	"scp two users":                       "git@attacker.example@github.com:myorg/repo.git//x?ref=" + pinned,
	"space":                               "https://attacker.example @github.com/myorg/repo//deploy?ref=" + pinned,
	"tab":                                 "https://github.com/myorg/repo//deploy\t?ref=" + pinned,
	"newline":                             "https://github.com/myorg/repo//deploy?ref=" + pinned + "\nx",
	"delete character":                    "https://github.com\x7f/myorg/repo//deploy?ref=" + pinned,
	"invisible character":                 "https://github.com/myorg\u200b/repo//deploy?ref=" + pinned,
	"percent-encoded at in the authority": "https://attacker.example%40github.com/myorg/repo//deploy?ref=" + pinned,
}

func TestRemoteRefusedAuthorityTricks(t *testing.T) {
	k := Kustomize{RemoteResources: []string{"github.com/myorg/*", "raw.githubusercontent.com/myorg/*"}}
	for name, ref := range remoteTricks {
		t.Run(name, func(t *testing.T) {
			if !isRemote(ref) {
				t.Fatalf("isRemote(%q) = false", ref)
			}
			if got := k.RemoteRefused(ref); got == "" {
				t.Errorf("RemoteRefused(%q) allows it", ref)
			}
		})
	}
	// Near misses: the usual forms stay allowed.
	for _, ref := range []string{
		"https://github.com/myorg/repo//deploy?ref=" + pinned,
		"git::https://github.com/myorg/repo//deploy?ref=" + pinned,
		"git@github.com:myorg/repo.git//x?ref=" + pinned,
		"ssh://git@github.com/myorg/repo.git//x?ref=" + pinned,
		"github.com/myorg/repo/deploy?ref=" + pinned,
		"https://raw.githubusercontent.com/myorg/x/" + pinned + "/cm.yaml",
		"https://github.com:443/myorg/repo//deploy?ref=" + pinned,
	} {
		if got := k.RemoteRefused(ref); got != "" && !strings.Contains(got, "no pattern") {
			t.Errorf("RemoteRefused(%q) = %q, want it allowed", ref, got)
		}
	}
	if got := k.RemoteRefused("https://github.com:443/myorg/repo//deploy?ref=" + pinned); !strings.Contains(got, "no pattern") {
		// A port is part of the host a pattern names: github.com/myorg/*
		// does not match github.com:443, as before.
		t.Logf("with a port: %q", got)
	}
}

// TestCheckRefusesAuthorityTricks: check (the scan's diagnostics) refuses
// every trick as [remote-refused], as builds do.
func TestCheckRefusesAuthorityTricks(t *testing.T) {
	th := newScenario(t)
	var b strings.Builder
	b.WriteString("resources:\n")
	want := 0
	for _, ref := range remoteTricks {
		if strings.ContainsAny(ref, "\n\t\x7f\u200b") {
			continue // YAML refuses the file; kustomize would too
		}
		want++
		b.WriteString("  - " + strconvQuote(ref) + "\n")
	}
	th.write("app/kustomization.yaml", b.String())
	r := th.scan(th.config("kustomize:\n  remoteResources: [github.com/myorg/*, raw.githubusercontent.com/myorg/*]\n"))
	refused := 0
	for _, d := range r.Diagnostics {
		if d.Kind == KindRemoteRefused {
			refused++
		} else if d.Kind == KindRemote {
			t.Errorf("allowed: %s", d)
		}
	}
	if refused != want {
		t.Errorf("%d [remote-refused] diagnostics, want %d:\n%s", refused, want, strings.Join(diagnosticList(r), "\n"))
	}
}

// strconvQuote quotes a reference as a YAML double-quoted scalar.
func strconvQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func TestRemoteRefusedWithoutPatterns(t *testing.T) {
	if got := (Kustomize{}).RemoteRefused("https://github.com/myorg/deploy//base?ref=" + pinned); !strings.Contains(got, "(none set)") {
		t.Errorf("without patterns: %q, want a refusal saying none are set", got)
	}
}

func TestRemoteProblems(t *testing.T) {
	k := Kustomize{RemoteResources: []string{"github.com/myorg/*"}}
	got := k.RemoteProblems("app/kustomization.yaml", []byte("resources:\n  - local.yaml\n  - https://github.com/myorg/d//b?ref="+pinned+"\ncomponents:\n  - https://github.com/myorg/d//c?ref=main\n"))
	if len(got) != 1 || got[0].Line != 5 || got[0].Col != 5 || got[0].Kind != KindRemoteRefused {
		t.Fatalf("RemoteProblems = %v, want one [remote-refused] at 5:5", got)
	}
}

func FuzzRemoteRefused(f *testing.F) {
	for _, s := range []string{"file:///x//y", "git::FILE:///x", "https://github.com/myorg/d//b?ref=" + pinned, "alice@127.1:x", "https://[::1]/x"} {
		f.Add(s)
	}
	for _, s := range remoteTricks {
		f.Add(s)
	}
	k := Kustomize{RemoteResources: []string{"github.com/myorg/*", "*.example.com"}}
	f.Fuzz(func(t *testing.T, v string) {
		why := k.RemoteRefused(v)
		lower := strings.ToLower(v)
		if why == "" && (strings.Contains(lower, "file://") || strings.HasPrefix(lower, "http://")) {
			t.Errorf("RemoteRefused(%q) allows it", v)
		}
		// What is allowed, Go's URL parser reads as this package does: the
		// host a request goes to is the host the pattern matched.
		if s, _ := cutPrefixFold(v, "git::"); why == "" && strings.HasPrefix(strings.ToLower(s), "https://") {
			r, _ := parseRemote(v)
			u, err := url.Parse(s)
			if err != nil || u.User != nil || u.Fragment != "" || strings.ToLower(u.Host) != r.host {
				t.Errorf("RemoteRefused(%q) allows it, host %q, but net/url reads %+v (%v)", v, r.host, u, err)
			}
		}
	})
}
