package generator

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultRemoteTimeout bounds a build that fetches allowed remote
// references, when kustomize.remoteTimeout is not set.
const DefaultRemoteTimeout = 2 * time.Minute

// remoteConfigHint is the fix a refused remote reference names;
// remoteVendorHint the only one when no configuration can allow it.
const (
	remoteConfigHint = "allow it with a host/org pattern in kustomize.remoteResources in " + ConfigFile + " and pin git references with ?ref=<40-hex commit SHA>, or vendor it into the repository"
	remoteVendorHint = "no kustomize.remoteResources pattern can allow it; vendor it into the repository"
)

var (
	gitUsername = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`) // kustomize's SCP-style user
)

// remoteRef is a remote reference as kustomize's repospec reads it.
type remoteRef struct {
	scheme string // "https://", "ssh://", ... or "" (SCP style, github.com/...)
	host   string // lower-cased, with its port if any
	path   string // the path after the host, without the query
	query  url.Values
	git    bool // kustomize clones it (rather than fetching one file over HTTP)
}

// parseRemote splits a reference isRemote recognises, as kustomize's
// git.NewRepoSpecFromURL and loader.IsRemoteFile do.
//
// Where kustomize and the programs it hands a reference to (git, ssh, Go's
// HTTP client) could read the host differently, the reference is refused:
// "#" (a fragment to git, curl and net/url, part of the text to a splitter),
// backslashes, spaces and control or invisible characters, and userinfo in
// an http(s) URL or anything but a plain user name in an ssh one. The host
// of a URL is then the one net/url reads.
func parseRemote(v string) (remoteRef, error) {
	var r remoteRef
	if i := strings.IndexFunc(v, ambiguousRune); i >= 0 {
		return r, fmt.Errorf("it holds %q, which URL parsers, git and kustomize read differently (the request could go to another host than the one matched)", string([]rune(v[i:])[0]))
	}
	s, forced := cutPrefixFold(v, "git::")
	r.git = forced
	s, q, hasQuery := strings.Cut(s, "?")
	r.query, _ = url.ParseQuery(q)
	if hasQuery && (r.query.Has("ref") || r.query.Has("version")) {
		r.git = true
	}
	for _, sc := range []string{"ssh://", "https://", "http://", "file://"} {
		if rest, ok := cutPrefixFold(s, sc); ok {
			r.scheme, s = sc, rest
			break
		}
	}
	if r.scheme == "" && strings.Contains(s, "://") {
		return r, fmt.Errorf("scheme %q is not one kustomize fetches from", s[:strings.Index(s, "://")+3])
	}
	if r.scheme == "file://" {
		return r, fmt.Errorf("file:// is a local transport: it reads a repository outside this one")
	}
	if r.scheme != "ssh://" && r.scheme != "" && strings.Contains(firstSegment(s), "@") {
		return r, fmt.Errorf("it names a user before the host (user@host): credentials never belong in a reference, and parsers disagree on where the host starts")
	}
	user := gitUsername.FindString(s)
	s = s[len(user):]
	sep := strings.IndexByte(s, '/')
	if r.scheme == "" {
		// SCP style (user@host:path) or a host-prefixed path
		// (github.com/org/repo): kustomize clones both.
		r.git = true
		if c := strings.IndexByte(s, ':'); c > 0 && (sep < 0 || c < sep) {
			sep = c
		}
	}
	if sep < 0 {
		sep = len(s)
	}
	r.host, r.path = strings.ToLower(s[:sep]), strings.TrimPrefix(s[sep:], ":")
	if strings.Contains(r.host, "@") {
		return r, fmt.Errorf("it names a user with a password, or more than one user, before the host: parsers disagree on where the host starts")
	}
	if r.scheme != "" {
		u, err := url.Parse(r.scheme + r.host + "/")
		if err != nil || u.User != nil || strings.ToLower(u.Host) != r.host {
			return r, fmt.Errorf("host %q is not one a URL parser reads as such", r.host)
		}
	}
	r.path = strings.TrimPrefix(r.path, "/")
	if r.scheme == "ssh://" || strings.Contains(r.path, "//") || strings.Contains(r.path, ".git") ||
		strings.Contains(r.path, "_git/") || r.host == "github.com" {
		r.git = true
	}
	if r.host == "" {
		return r, fmt.Errorf("it names no host")
	}
	if isLoopback(r.host) {
		return r, fmt.Errorf("host %q is this machine: a build never reaches local services", r.host)
	}
	return r, nil
}

// ambiguousRune reports the characters a remote reference may not hold:
// "#", a backslash, spaces, control characters and invisible ones
// (formatting characters such as zero-width spaces and bidi controls).
func ambiguousRune(c rune) bool {
	return c == '#' || c == '\\' || unicode.IsSpace(c) || unicode.IsControl(c) || unicode.Is(unicode.Cf, c) || c == utf8.RuneError
}

func firstSegment(s string) string {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i]
	}
	return s
}

// cutPrefixFold is strings.CutPrefix ignoring ASCII case, as kustomize
// matches schemes.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// isLoopback reports whether host (with an optional port) names this
// machine: localhost, a loopback or unspecified address.
func isLoopback(host string) bool {
	h := host
	if sh, _, err := net.SplitHostPort(host); err == nil {
		h = sh
	}
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	if ip := net.ParseIP(h); ip != nil {
		return ip.IsLoopback() || ip.IsUnspecified()
	}
	// Numeric forms the resolver also accepts (127.1, 0x7f.1, 2130706433)
	// are refused as if they were loopback: no one writes a real host so.
	return strings.Trim(h, "0123456789.") == "" || strings.HasPrefix(strings.ToLower(h), "0x")
}

// RemoteRefused says why a build may not fetch the remote reference v
// ("" when it may): file:// and other local transports and hosts on this
// machine always, plain http always, anything else unless a pattern of
// kustomize.remoteResources matches its host and leading path segments,
// and a git reference unless its ref is a full commit SHA.
func (k Kustomize) RemoteRefused(v string) string {
	why, _ := k.refusal(v)
	return why
}

// refusal is RemoteRefused, and whether a pattern or a pin could fix it.
func (k Kustomize) refusal(v string) (string, bool) {
	r, err := parseRemote(v)
	if err != nil {
		return err.Error(), false
	}
	for _, seg := range strings.Split(r.path, "/") {
		if seg == "." || seg == ".." || strings.Contains(seg, "%") || strings.Contains(seg, "\\") {
			return fmt.Sprintf("path segment %q could lead past the pattern that matches it", seg), false
		}
	}
	if r.scheme == "http://" {
		return "plain http can be tampered with on the way; use https", false
	}
	if !k.remoteMatches(r) {
		repo, _, _ := strings.Cut(r.path, "//")
		return fmt.Sprintf("no pattern of kustomize.remoteResources (%s) matches %q", patternList(k.RemoteResources), strings.TrimSuffix(r.host+"/"+repo, "/")), true
	}
	if r.git {
		ref := r.query.Get("ref")
		if ref == "" {
			ref = r.query.Get("version")
		}
		if !IsCommitSHA(ref) {
			return fmt.Sprintf("git ref %q is not pinned to a full 40-character commit SHA (?ref=<sha>): a branch or tag can move", ref), true
		}
	}
	return "", false
}

func patternList(ps []string) string {
	if len(ps) == 0 {
		return "none set"
	}
	return strings.Join(ps, ", ")
}

// remoteMatches reports whether a pattern matches the reference's host and
// as many of its path segments as the pattern has (the repository part,
// before kustomize's "//" marker).
func (k Kustomize) remoteMatches(r remoteRef) bool {
	repo, _, _ := strings.Cut(r.path, "//")
	segs := append([]string{r.host}, strings.Split(strings.Trim(repo, "/"), "/")...)
	for i, s := range segs {
		segs[i] = strings.TrimSuffix(s, ".git")
	}
	for _, p := range k.RemoteResources {
		n := strings.Count(p, "/") + 1
		if n > len(segs) {
			continue
		}
		if ok, err := path.Match(strings.ToLower(p), strings.ToLower(strings.Join(segs[:n], "/"))); err == nil && ok {
			return true
		}
	}
	return false
}

// validRemotePattern says what is wrong with a kustomize.remoteResources
// pattern ("" when nothing).
func validRemotePattern(p string) string {
	if strings.Contains(p, "://") || strings.ContainsAny(p, "?@ \t") {
		return fmt.Sprintf("pattern %q must be host[/org[/repo]] with no scheme, user or query (github.com/myorg/*)", p)
	}
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Sprintf("pattern %q is not a valid glob: %v", p, err)
	}
	host := firstSegment(p)
	if host == "" || strings.ContainsAny(strings.TrimPrefix(host, "*."), "*?[") {
		return fmt.Sprintf("pattern %q must name a host (a leading \"*.\" is allowed), not match every host", p)
	}
	if isLoopback(host) {
		return fmt.Sprintf("pattern %q names this machine, which a build never reaches", p)
	}
	return ""
}

// RemoteProblems parses a kustomization file (name as reported) and
// returns a diagnostic for every remote reference k refuses: what a build
// checks before kustomize reads it.
func (k Kustomize) RemoteProblems(name string, data []byte) []Diagnostic {
	kust := parseKustomization(".", name, data)
	var ds []Diagnostic
	for _, r := range kust.Refs {
		if !isRemote(r.Value) {
			continue
		}
		if msg := k.refusedMessage(r.Field, r.Value); msg != "" {
			line, col := kust.position(r)
			ds = append(ds, Diagnostic{Path: name, Line: line, Col: col, Kind: KindRemoteRefused, Message: msg})
		}
	}
	return sortDiagnostics(ds)
}

// PluginConfigs returns the local files a kustomization names as generator,
// transformer or validator configurations, relative to its directory:
// builtin plugins configured from a file fetch what it names, too.
func PluginConfigs(data []byte) []string {
	var out []string
	for _, r := range parseKustomization(".", "", data).Refs {
		switch r.Field {
		case "generators", "transformers", "validators":
			if !isRemote(r.Value) && !isInline(r.Value) {
				out = append(out, r.Value)
			}
		}
	}
	return out
}

// PluginRemoteProblems returns a diagnostic for every remote reference k
// refuses in a plugin configuration file (PluginConfigs).
func (k Kustomize) PluginRemoteProblems(name string, data []byte) []Diagnostic {
	var ds []Diagnostic
	var pos map[string][2]int
	for _, v := range pluginPaths(data) {
		if !isRemote(v) {
			continue
		}
		if msg := k.refusedMessage("plugin configuration", v); msg != "" {
			if pos == nil {
				pos = scalarPositions(data)
			}
			p := positionOf(pos, v)
			ds = append(ds, Diagnostic{Path: name, Line: p[0], Col: p[1], Kind: KindRemoteRefused, Message: msg})
		}
	}
	return sortDiagnostics(ds)
}

// refusedMessage is the message of a refused remote reference, "" when k
// allows it.
func (k Kustomize) refusedMessage(field, v string) string {
	why, fixable := k.refusal(v)
	if why == "" {
		return ""
	}
	hint := remoteVendorHint
	if fixable {
		hint = remoteConfigHint
	}
	return fmt.Sprintf("remote %s %q is refused: %s; %s", field, v, why, hint)
}
