package main

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/kustomatrix/kustomatrix/templates"
)

const diffIdentityTemplate = "diff-identity.yaml.tmpl"

// diffIdentityTmpl is parsed alone: the generator's template set parses it
// too (it takes every *.tmpl), so it uses no functions of either.
var diffIdentityTmpl = template.Must(template.New(diffIdentityTemplate).Option("missingkey=error").ParseFS(templates.FS, diffIdentityTemplate))

func newIdentityCommand(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "identity",
		Short: "Print the RBAC and admission policy of a cluster identity for the pipeline",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError("%s needs a subcommand: diff", cmd.CommandPath())
		},
	}
	cmd.AddCommand(newIdentityDiffCommand(s))
	return cmd
}

// diffIdentityOptions are the flags of identity diff.
type diffIdentityOptions struct {
	user, group, serviceAccount string
	noSecrets                   bool
	apiGroups                   []string
}

func newIdentityDiffCommand(s *streams) *cobra.Command {
	var o diffIdentityOptions
	cmd := &cobra.Command{
		Use:   "diff (--user NAME | --group NAME | --service-account NAMESPACE/NAME) [--no-secrets] [--api-group GROUP]...",
		Short: "Print a diff-only identity: RBAC plus an admission policy that refuses real writes",
		Long: `Prints, as YAML for kubectl apply, the identity pull-request diffs should
use: a ClusterRole and ClusterRoleBinding that let the subject run what
"kustomatrix diff --server" runs (reads, and the dry-run server-side applies of
kubectl diff --server-side), and a ValidatingAdmissionPolicy with its binding
that refuses every request of the subject that is not a dry run. A server-side
diff needs patch rights, so RBAC alone would let the identity apply; the
policy makes every real create, update, patch and delete fail.

  kustomatrix identity diff --service-account kustomatrix/diff | kubectl apply --server-side -f -

The policy and its binding come first, and the apply must succeed entirely:
kubectl goes on past an object it cannot create, and RBAC without the policy
(Kubernetes 1.29 and older) lets the identity write. The YAML's header says
how to check. Everything is named kustomatrix-diff (the policy and its binding
kustomatrix-diff-dry-run-only): applying it for another subject replaces the
previous one. With --service-account the ServiceAccount is included; its
namespace must exist, and kube-* namespaces and the ServiceAccount default
are refused. The ClusterRole covers the built-in API
groups; name each custom resource group your targets render with --api-group.
With --no-secrets the identity cannot read Secrets, and targets that render a
Secret cannot be server-diffed with it. The YAML's comments say why each right
is or is not granted.`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			out, err := o.render()
			if err != nil {
				return err
			}
			_, err = s.out.Write(out)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.user, "user", "", "the user name the diff credentials authenticate as")
	f.StringVar(&o.group, "group", "", "a group the diff credentials' user is in")
	f.StringVar(&o.serviceAccount, "service-account", "", "a ServiceAccount, as NAMESPACE/NAME")
	f.BoolVar(&o.noSecrets, "no-secrets", false, "grant no access to Secrets (targets rendering Secrets then cannot be server-diffed)")
	f.StringArrayVar(&o.apiGroups, "api-group", nil, "a custom resource API group the targets render (repeatable)")
	return cmd
}

// diffIdentityData is what the template renders.
type diffIdentityData struct {
	Command   string
	Subject   string // User, Group or ServiceAccount
	Name      string
	Namespace string // ServiceAccount only
	Match     string // CEL: is the request the subject's?
	Secrets   bool
	APIGroups []string
}

func (o *diffIdentityOptions) render() ([]byte, error) {
	d, err := o.data()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := diffIdentityTmpl.Execute(&b, d); err != nil {
		return nil, &exitError{code: exitFailure, err: err}
	}
	return b.Bytes(), nil
}

// data validates the flags. Every name ends up in YAML and in a CEL string
// literal, so the characters allowed need no escaping in either.
func (o *diffIdentityOptions) data() (*diffIdentityData, error) {
	set := 0
	for _, v := range []string{o.user, o.group, o.serviceAccount} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return nil, usageError("identity diff: give exactly one of --user, --group and --service-account")
	}
	d := &diffIdentityData{Secrets: !o.noSecrets}
	args := []string{"kustomatrix", "identity", "diff"}
	switch {
	case o.user != "":
		if err := checkSubjectName("--user", o.user); err != nil {
			return nil, err
		}
		d.Subject, d.Name = "User", o.user
		d.Match = fmt.Sprintf("request.userInfo.username == '%s'", o.user)
		args = append(args, "--user", o.user)
	case o.group != "":
		if err := checkSubjectName("--group", o.group); err != nil {
			return nil, err
		}
		d.Subject, d.Name = "Group", o.group
		d.Match = fmt.Sprintf("has(request.userInfo.groups) && '%s' in request.userInfo.groups", o.group)
		args = append(args, "--group", o.group)
	default:
		ns, name, ok := strings.Cut(o.serviceAccount, "/")
		if !ok {
			return nil, usageError("--service-account %q: want NAMESPACE/NAME", o.serviceAccount)
		}
		if err := checkServiceAccount(o.serviceAccount, ns, name); err != nil {
			return nil, err
		}
		d.Subject, d.Name, d.Namespace = "ServiceAccount", name, ns
		d.Match = fmt.Sprintf("request.userInfo.username == 'system:serviceaccount:%s:%s'", ns, name)
		args = append(args, "--service-account", o.serviceAccount)
	}
	if o.noSecrets {
		args = append(args, "--no-secrets")
	}
	for _, g := range o.apiGroups {
		if err := checkAPIGroup(g); err != nil {
			return nil, err
		}
		if !slices.Contains(d.APIGroups, g) {
			d.APIGroups = append(d.APIGroups, g)
		}
	}
	slices.Sort(d.APIGroups)
	for _, g := range d.APIGroups {
		args = append(args, "--api-group", g)
	}
	d.Command = strings.Join(args, " ")
	return d, nil
}

// checkServiceAccount validates --service-account's namespace and name.
// Kubernetes' own namespaces hold its controllers, and a namespace's
// default ServiceAccount is every pod's that names none: the policy would
// refuse their writes and the role grant them all its reads.
func checkServiceAccount(v, ns, name string) error {
	switch {
	case !dns1123Label.MatchString(ns) || len(ns) > 63:
		return usageError("--service-account %q: namespace %q is not a valid namespace name (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)", v, ns)
	case !dns1123Subdomain.MatchString(name) || len(name) > 253:
		return usageError("--service-account %q: %q is not a valid ServiceAccount name (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters)", v, name)
	case strings.HasPrefix(ns, "kube-"):
		return usageError("--service-account %q: namespace %q is Kubernetes' own (its controllers run as ServiceAccounts there): create a ServiceAccount for the diffs in a namespace of yours", v, ns)
	case name == "default":
		return usageError("--service-account %q: ServiceAccount \"default\" is every pod's that names no other: create a ServiceAccount for the diffs", v)
	}
	return nil
}

var (
	dns1123Label     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	// subjectName is what a user or group name may hold here: what
	// identity providers and cloud mappings use (e-mail addresses, ARNs,
	// issuer URLs, Kubernetes' default OIDC username issuer#sub), nothing
	// that needs escaping in a YAML double-quoted scalar or a CEL
	// single-quoted string (no quote, backslash, space or control
	// character, nothing outside ASCII), nor "${{".
	subjectName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@:/+=#-]*$`)
)

// checkSubjectName validates a user or group name. Names in the system:
// namespace are refused: the policy would refuse the writes of every member
// (system:authenticated is every user, the cluster's admins included) and
// the role would grant them all read access.
func checkSubjectName(flag, name string) error {
	switch {
	case len(name) > 253:
		return usageError("%s: name longer than 253 characters", flag)
	case !subjectName.MatchString(name):
		return usageError("%s %q: a name starts with a letter or digit and holds only letters, digits and . _ @ : / + = # -", flag, name)
	case strings.HasPrefix(strings.ToLower(name), "system:"):
		return usageError("%s %q: names starting with \"system:\" are Kubernetes' own (system:authenticated is every user): give the diff credentials their own name, or use --service-account", flag, name)
	}
	return nil
}

// checkAPIGroup validates an --api-group: a custom resource group, which
// Kubernetes requires to be a DNS subdomain with a dot. The admission
// group is refused: policies do not apply to requests on policies.
func checkAPIGroup(g string) error {
	switch {
	case !dns1123Subdomain.MatchString(g) || len(g) > 253 || !strings.Contains(g, "."):
		return usageError("--api-group %q: want a custom resource API group, a DNS name with a dot such as cert-manager.io", g)
	case g == "admissionregistration.k8s.io":
		return usageError("--api-group %q: refused: admission policies do not apply to requests on admission policies, so write rights there would let the identity remove its own policy", g)
	case builtinGroups[g] != "":
		return usageError("--api-group %q: refused: %s; --api-group names custom resource groups", g, builtinGroups[g])
	}
	return nil
}

// builtinGroups are groups --api-group refuses, and why: write rights there
// are not what a diff needs, and the policy does not reach them all.
var builtinGroups = map[string]string{
	"authentication.k8s.io":   "a built-in API group of reviews that are answered, never stored, and that no target renders",
	"authorization.k8s.io":    "a built-in API group of reviews that are answered, never stored, and that no target renders",
	"certificates.k8s.io":     "a built-in API group of certificate signing requests, which a diff identity has no reason to write",
	"metrics.k8s.io":          "an aggregated API: another server admits its requests, out of the policy's reach",
	"custom.metrics.k8s.io":   "an aggregated API: another server admits its requests, out of the policy's reach",
	"external.metrics.k8s.io": "an aggregated API: another server admits its requests, out of the policy's reach",
}
