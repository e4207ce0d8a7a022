package main

import (
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/kio"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestIdentityDiffInput: bad input exits 2 with a message naming the flag
// and what is wrong, and prints nothing on stdout.
func TestIdentityDiffInput(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no subject":                 {nil, "exactly one of --user, --group and --service-account"},
		"two subjects":               {[]string{"--user", "ci", "--group", "ci"}, "exactly one of"},
		"empty user":                 {[]string{"--user", ""}, "exactly one of"},
		"sa without namespace":       {[]string{"--service-account", "diff"}, "want NAMESPACE/NAME"},
		"sa bad namespace":           {[]string{"--service-account", "Kustomatrix/diff"}, `namespace "Kustomatrix" is not a valid namespace name`},
		"sa namespace dot":           {[]string{"--service-account", "a.b/diff"}, `namespace "a.b"`},
		"sa long namespace":          {[]string{"--service-account", strings.Repeat("a", 64) + "/diff"}, "not a valid namespace name"},
		"sa empty name":              {[]string{"--service-account", "ns/"}, `"" is not a valid ServiceAccount name`},
		"sa name slash":              {[]string{"--service-account", "ns/a/b"}, `"a/b" is not a valid ServiceAccount name`},
		"sa name upper":              {[]string{"--service-account", "ns/Diff"}, "not a valid ServiceAccount name"},
		"sa name trailing dash":      {[]string{"--service-account", "ns/diff-"}, "not a valid ServiceAccount name"},
		"user quote":                 {[]string{"--user", "ci' || true || '"}, "holds only letters"},
		"user newline":               {[]string{"--user", "ci\nkind: x"}, "holds only letters"},
		"user expression":            {[]string{"--user", "${{ github.actor }}"}, "holds only letters"},
		"user space":                 {[]string{"--user", "ci bot"}, "holds only letters"},
		"user leading dash":          {[]string{"--user", "-ci"}, "starts with a letter or digit"},
		"user bidi":                  {[]string{"--user", "ci\u202ebot"}, "holds only letters"},
		"user lookalike":             {[]string{"--user", "сi"}, "holds only letters"}, // Cyrillic es
		"user too long":              {[]string{"--user", strings.Repeat("a", 254)}, "longer than 253"},
		"group system":               {[]string{"--group", "system:authenticated"}, `"system:" are Kubernetes' own`},
		"group masters":              {[]string{"--group", "System:Masters"}, `"system:"`},
		"user system sa":             {[]string{"--user", "system:serviceaccount:kube-system:default"}, "use --service-account"},
		"api group no dot":           {[]string{"--user", "ci", "--api-group", "monitoring"}, "with a dot"},
		"api group wildcard":         {[]string{"--user", "ci", "--api-group", "*"}, `--api-group "*"`},
		"api group core":             {[]string{"--user", "ci", "--api-group", ""}, `--api-group ""`},
		"api group admission":        {[]string{"--user", "ci", "--api-group", "admissionregistration.k8s.io"}, "remove its own policy"},
		"positional argument":        {[]string{"ci"}, "takes no arguments"},
		"identity without diff":      {[]string{"identity"}, "needs a subcommand: diff"},
		"unknown flag":               {[]string{"--namespace", "x"}, "unknown flag"},
		"api group upper":            {[]string{"--group", "ci", "--api-group", "Cert-Manager.io"}, "custom resource API group"},
		"sa name too long":           {[]string{"--service-account", "ns/" + strings.Repeat("a", 254)}, "not a valid ServiceAccount name"},
		"user with yaml comment":     {[]string{"--user", "ci #x"}, "holds only letters"},
		"group with cel operator":    {[]string{"--group", "a' in ['a"}, "holds only letters"},
		"user backslash":             {[]string{"--user", `https://issuer#a\'b`}, "holds only letters"},
		"user double quote":          {[]string{"--user", `ci"bot`}, "holds only letters"},
		"user tab":                   {[]string{"--user", "ci\tbot"}, "holds only letters"},
		"user zero width":            {[]string{"--user", "ci\u200bbot"}, "holds only letters"},
		"user expression no space":   {[]string{"--user", "ci${{github.actor}}"}, "holds only letters"},
		"sa kube-system":             {[]string{"--service-account", "kube-system/diff"}, `namespace "kube-system" is Kubernetes' own`},
		"sa kube-public":             {[]string{"--service-account", "kube-public/diff"}, `namespace "kube-public" is Kubernetes' own`},
		"sa kube-node-lease":         {[]string{"--service-account", "kube-node-lease/diff"}, `namespace "kube-node-lease" is Kubernetes' own`},
		"sa default name":            {[]string{"--service-account", "kustomatrix/default"}, `ServiceAccount "default" is every pod's`},
		"sa default/default":         {[]string{"--service-account", "default/default"}, `ServiceAccount "default" is every pod's`},
		"api group authentication":   {[]string{"--user", "ci", "--api-group", "authentication.k8s.io"}, "built-in API group"},
		"api group authorization":    {[]string{"--user", "ci", "--api-group", "authorization.k8s.io"}, "built-in API group"},
		"api group certificates":     {[]string{"--user", "ci", "--api-group", "certificates.k8s.io"}, "built-in API group"},
		"api group metrics":          {[]string{"--user", "ci", "--api-group", "metrics.k8s.io"}, "aggregated API"},
		"api group custom metrics":   {[]string{"--user", "ci", "--api-group", "custom.metrics.k8s.io"}, "aggregated API"},
		"api group external metrics": {[]string{"--user", "ci", "--api-group", "external.metrics.k8s.io"}, "aggregated API"},
	} {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"identity", "diff"}, tc.args...)
			if len(tc.args) > 0 && tc.args[0] == "identity" {
				args = tc.args
			}
			out, errOut, code := captureRun(args...)
			if code != exitUsage || !strings.Contains(errOut, tc.want) || out != "" {
				t.Errorf("kustomatrix %q: exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", args, code, exitUsage, tc.want, out, errOut)
			}
		})
	}
}

// TestIdentityDiffOutput: each kind of subject renders valid YAML whose
// binding and policy name it, with the rights the comments promise.
func TestIdentityDiffOutput(t *testing.T) {
	for name, tc := range map[string]struct {
		args    []string
		subject string // the binding's subject, as YAML
		match   string // the policy's match condition
	}{
		"user": {[]string{"--user", "arn:aws:iam::123456789012:role/kustomatrix-diff"},
			"- kind: User\n  name: \"arn:aws:iam::123456789012:role/kustomatrix-diff\"\n  apiGroup: rbac.authorization.k8s.io\n",
			`request.userInfo.username == 'arn:aws:iam::123456789012:role/kustomatrix-diff'`},
		"group": {[]string{"--group", "ci@example.com"},
			"- kind: Group\n  name: \"ci@example.com\"\n  apiGroup: rbac.authorization.k8s.io\n",
			`has(request.userInfo.groups) && 'ci@example.com' in request.userInfo.groups`},
		// Kubernetes' default OIDC username: issuer#sub.
		"oidc user": {[]string{"--user", "https://token.actions.githubusercontent.com#repo:o/r:pull_request"},
			"- kind: User\n  name: \"https://token.actions.githubusercontent.com#repo:o/r:pull_request\"\n  apiGroup: rbac.authorization.k8s.io\n",
			`request.userInfo.username == 'https://token.actions.githubusercontent.com#repo:o/r:pull_request'`},
		"service account": {[]string{"--service-account", "kustomatrix/diff.ci"},
			"- kind: ServiceAccount\n  name: \"diff.ci\"\n  namespace: \"kustomatrix\"\n",
			`request.userInfo.username == 'system:serviceaccount:kustomatrix:diff.ci'`},
	} {
		t.Run(name, func(t *testing.T) {
			out, errOut, code := captureRun(append([]string{"identity", "diff"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, errOut)
			}
			if !strings.Contains(out, tc.subject) {
				t.Errorf("the binding's subject is not\n%s\nin:\n%s", tc.subject, out)
			}
			if !strings.HasPrefix(out, "# Code generated by kustomatrix identity diff. DO NOT EDIT.\n# Regenerate with: kustomatrix identity diff "+strings.Join(tc.args, " ")+"\n") {
				t.Errorf("header:\n%s", out[:200])
			}
			objs := identityDocs(t, out)
			kinds := map[string]*kyaml.RNode{}
			for _, o := range objs {
				kinds[o.GetKind()] = o
				if !strings.HasPrefix(o.GetName(), "kustomatrix-diff") && o.GetKind() != "ServiceAccount" {
					t.Errorf("%s %q is not named kustomatrix-diff...", o.GetKind(), o.GetName())
				}
			}
			if _, ok := kinds["ServiceAccount"]; ok != (name == "service account") {
				t.Errorf("ServiceAccount rendered: %v", ok)
			}
			if got := identityField(t, kinds["ValidatingAdmissionPolicy"], "spec", "matchConditions", "[name=kustomatrix-diff-identity]", "expression"); got != tc.match {
				t.Errorf("match condition %q, want %q", got, tc.match)
			}
			if got := identityField(t, kinds["ValidatingAdmissionPolicy"], "spec", "validations", "[expression=request.dryRun]", "reason"); got != "Forbidden" {
				t.Errorf("the policy's validation is not request.dryRun with reason Forbidden")
			}
			if got := identityField(t, kinds["ValidatingAdmissionPolicyBinding"], "spec", "policyName"); got != diffPolicyName {
				t.Errorf("binding names policy %q", got)
			}
			checkIdentityRules(t, kinds["ClusterRole"])
		})
	}
}

// TestIdentityDiffOptions: --no-secrets drops Secrets from every rule;
// --api-group adds the group once, sorted; the command line is recorded.
func TestIdentityDiffOptions(t *testing.T) {
	out, errOut, code := captureRun("identity", "diff", "--user", "ci", "--no-secrets",
		"--api-group", "monitoring.coreos.com", "--api-group", "cert-manager.io", "--api-group", "monitoring.coreos.com")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out, "# Regenerate with: kustomatrix identity diff --user ci --no-secrets --api-group cert-manager.io --api-group monitoring.coreos.com\n") {
		t.Errorf("header does not record the command:\n%s", out)
	}
	objs := identityDocs(t, out)
	for _, o := range objs {
		if o.GetKind() != "ClusterRole" {
			continue
		}
		s := o.MustString()
		if strings.Contains(s, "secrets") {
			t.Errorf("--no-secrets: the ClusterRole still names secrets:\n%s", s)
		}
		if !strings.Contains(s, "  - storage.k8s.io\n  - \"cert-manager.io\"\n  - \"monitoring.coreos.com\"\n  resources:") {
			t.Errorf("--api-group: groups missing, repeated or unsorted:\n%s", s)
		}
	}
	out, _, _ = captureRun("identity", "diff", "--user", "ci")
	if !strings.Contains(out, "  - secrets\n") {
		t.Errorf("without --no-secrets, the ClusterRole does not grant secrets")
	}
}

// checkIdentityRules: no wildcard API group (admissionregistration.k8s.io would
// let the identity remove its policy), no wildcard in the core group
// (serviceaccounts/token, nodes/proxy), no verb but reads, dry-runnable
// writes, and bind/escalate on roles; the admission group read-only.
func checkIdentityRules(t *testing.T, role *kyaml.RNode) {
	t.Helper()
	var rules []struct {
		APIGroups []string `yaml:"apiGroups"`
		Resources []string `yaml:"resources"`
		Verbs     []string `yaml:"verbs"`
	}
	rn, err := role.Pipe(kyaml.Lookup("rules"))
	if err != nil {
		t.Fatal(err)
	}
	if err := rn.Document().Decode(&rules); err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"get": true, "list": true, "create": true, "patch": true}
	for _, r := range rules {
		for _, g := range r.APIGroups {
			switch {
			case g == "*":
				t.Errorf("rule %v: wildcard API group", r)
			case g == "" && slices.Contains(r.Resources, "*"):
				t.Errorf("rule %v: wildcard core resources", r)
			case g == "admissionregistration.k8s.io" && !slices.Equal(r.Verbs, []string{"get", "list"}):
				t.Errorf("rule %v: the admission group is not read-only", r)
			}
		}
		for _, v := range r.Verbs {
			if !allowed[v] && !(slices.Equal(r.APIGroups, []string{"rbac.authorization.k8s.io"}) && (v == "bind" || v == "escalate")) {
				t.Errorf("rule %v: verb %q", r, v)
			}
		}
	}
}

func identityDocs(t *testing.T, out string) []*kyaml.RNode {
	t.Helper()
	nodes, err := (&kio.ByteReader{Reader: strings.NewReader(out), OmitReaderAnnotations: true}).Read()
	if err != nil {
		t.Fatalf("the output is not YAML: %v\n%s", err, out)
	}
	return nodes
}

func identityField(t *testing.T, n *kyaml.RNode, path ...string) string {
	t.Helper()
	if n == nil {
		t.Fatalf("object missing")
	}
	v, err := n.Pipe(kyaml.Lookup(path...))
	if err != nil || v == nil {
		t.Fatalf("%v not found: %v", path, err)
	}
	return v.YNode().Value
}

// TestIdentityDiffOrder: the policy and its binding come first, before any
// RBAC, and the header says the apply must succeed entirely and how to
// check it. kubectl apply goes on past an object it cannot create: on a
// cluster that does not serve ValidatingAdmissionPolicy v1, RBAC printed
// first would leave an identity that can write.
func TestIdentityDiffOrder(t *testing.T) {
	for name, args := range map[string][]string{
		"user":            {"--user", "ci"},
		"service account": {"--service-account", "kustomatrix/diff"},
	} {
		t.Run(name, func(t *testing.T) {
			out := identityYAML(t, args...)
			var kinds []string
			for _, o := range identityDocs(t, out) {
				kinds = append(kinds, o.GetKind())
			}
			want := []string{"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ClusterRole", "ClusterRoleBinding"}
			if name == "service account" {
				want = []string{"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"}
			}
			if !slices.Equal(kinds, want) {
				t.Errorf("objects in the order %v, want %v", kinds, want)
			}
			header, _, _ := strings.Cut(out, "\n---\n")
			for _, w := range []string{
				"MUST SUCCEED ENTIRELY",
				"kubectl get validatingadmissionpolicy kustomatrix-diff-dry-run-only",
				"kubectl get validatingadmissionpolicybinding kustomatrix-diff-dry-run-only",
				"kubectl delete clusterrolebinding kustomatrix-diff",
				"replaces the subject",
			} {
				if !strings.Contains(header, w) {
					t.Errorf("the header does not say %q:\n%s", w, header)
				}
			}
		})
	}
}
