package generator

import (
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
		"userinfo does not fool the host": {"https://github.com@evil.io/myorg/deploy//b?ref=" + pinned, "no pattern"},
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
	k := Kustomize{RemoteResources: []string{"github.com/myorg/*", "*.example.com"}}
	f.Fuzz(func(t *testing.T, v string) {
		why := k.RemoteRefused(v)
		lower := strings.ToLower(v)
		if why == "" && (strings.Contains(lower, "file://") || strings.HasPrefix(lower, "http://")) {
			t.Errorf("RemoteRefused(%q) allows it", v)
		}
	})
}
