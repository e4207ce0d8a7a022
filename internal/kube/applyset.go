package kube

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// The labels and annotations of a kubectl ApplySet (KEP-3659). The parent
// records the set; each member carries PartOfLabel = the parent's id.
const (
	PartOfLabel          = "applyset.kubernetes.io/part-of"
	ParentIDLabel        = "applyset.kubernetes.io/id"
	GroupKindsAnnotation = "applyset.kubernetes.io/contains-group-kinds"
	// groupResourcesAnnotation is the form kubectl 1.26 wrote before
	// contains-group-kinds ("deployments.apps"); still read.
	groupResourcesAnnotation       = "applyset.kubernetes.io/contains-group-resources"
	AdditionalNamespacesAnnotation = "applyset.kubernetes.io/additional-namespaces"
)

// ApplySetID is the id kubectl gives the ApplySet whose parent is the
// ConfigMap parent in namespace (KEP-3659: "applyset-" +
// base64url(sha256(name.namespace.kind.group)) + "-v1"): the value of the
// part-of label on its members.
func ApplySetID(parent, namespace string) string {
	sum := sha256.Sum256([]byte(parent + "." + namespace + ".ConfigMap."))
	return "applyset-" + base64.RawURLEncoding.EncodeToString(sum[:]) + "-v1"
}

// GroupKind names a kind of object.
type GroupKind struct{ Group, Kind string }

func (gk GroupKind) String() string {
	if gk.Group == "" {
		return gk.Kind
	}
	return gk.Kind + "." + gk.Group
}

// ApplySet is what an ApplySet's parent ConfigMap records.
type ApplySet struct {
	Parent, ID string
	// Namespaces are the parent's namespace, then the additional ones.
	Namespaces []string
	// GroupKinds are the kinds its members may have (contains-group-kinds).
	GroupKinds []GroupKind
	// GroupResources are "resource.group" entries of the older annotation.
	GroupResources []string
}

// GetApplySet reads the ApplySet whose parent is the ConfigMap parent in
// namespace: nil when there is no such ConfigMap (nothing was ever applied
// as that set, or it was pruned already). A ConfigMap of that name whose id
// label is not the one kubectl gives that parent is an error: whatever it
// is, it is not a record of ours.
func (k Kubectl) GetApplySet(ctx context.Context, namespace, parent string) (*ApplySet, error) {
	// A raw GET: no discovery first, whose retries would multiply the
	// request timeout before an unresponsive server is reported.
	var cm struct {
		Metadata struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	found, err := k.getRaw(ctx, "/api/v1/namespaces/"+url.PathEscape(namespace)+"/configmaps/"+url.PathEscape(parent), &cm)
	if err != nil {
		return nil, fmt.Errorf("reading the ApplySet parent configmap %s/%s: %w", namespace, parent, err)
	}
	if !found {
		return nil, nil
	}
	id := ApplySetID(parent, namespace)
	if got := cm.Metadata.Labels[ParentIDLabel]; got != id {
		return nil, fmt.Errorf("configmap %s/%s is not the ApplySet parent kustomatrix creates: label %s is %q, want %q", namespace, parent, ParentIDLabel, got, id)
	}
	set := &ApplySet{Parent: parent, ID: id, Namespaces: []string{namespace}}
	ann := cm.Metadata.Annotations
	for _, ns := range splitList(ann[AdditionalNamespacesAnnotation]) {
		if ns != namespace {
			set.Namespaces = append(set.Namespaces, ns)
		}
	}
	for _, e := range splitList(ann[GroupKindsAnnotation]) {
		kind, group, _ := strings.Cut(e, ".")
		set.GroupKinds = append(set.GroupKinds, GroupKind{Group: group, Kind: kind})
	}
	set.GroupResources = splitList(ann[groupResourcesAnnotation])
	return set, nil
}

func splitList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// Object is a live object, as a listing found it.
type Object struct {
	Group, Version, Kind string
	Resource             string // the plural resource name, for its URL
	Namespace, Name      string
	UID, ResourceVersion string
	Labels               map[string]string
}

// ID names the object as render.Object.ID does (kind.group/name -n ns),
// so that live and rendered objects read alike in reports.
func (o Object) ID() string {
	kind := strings.ToLower(o.Kind)
	if o.Group != "" {
		kind += "." + o.Group
	}
	return kind + "/" + o.Name + " -n " + o.Namespace
}

// path is the object's URL path on the API server.
func (o Object) path() string {
	return resourcePath(o.Group, o.Version) + "/namespaces/" + url.PathEscape(o.Namespace) + "/" + o.Resource + "/" + url.PathEscape(o.Name)
}

func resourcePath(group, version string) string {
	if group == "" {
		return "/api/" + version
	}
	return "/apis/" + group + "/" + version
}

// apiResource is a namespaced resource the server serves.
type apiResource struct{ group, version, resource, kind string }

// discovery resolves kinds and resources through the API server's
// discovery documents, each group read once.
type discovery struct {
	k      Kubectl
	groups map[string][]apiResource // group -> its preferred version's resources; nil: not served
}

func (d *discovery) resources(ctx context.Context, group string) ([]apiResource, error) {
	if rs, ok := d.groups[group]; ok {
		return rs, nil
	}
	version := "v1"
	if group != "" {
		var g struct {
			PreferredVersion struct{ Version string } `json:"preferredVersion"`
		}
		found, err := d.k.getRaw(ctx, "/apis/"+group, &g)
		if err != nil {
			return nil, err
		}
		if !found || g.PreferredVersion.Version == "" {
			d.groups[group] = nil // no such group (a CRD removed): no such objects either
			return nil, nil
		}
		version = g.PreferredVersion.Version
	}
	var list struct {
		Resources []struct {
			Name       string `json:"name"`
			Kind       string `json:"kind"`
			Namespaced bool   `json:"namespaced"`
		} `json:"resources"`
	}
	if _, err := d.k.getRaw(ctx, resourcePath(group, version), &list); err != nil {
		return nil, err
	}
	var rs []apiResource
	for _, r := range list.Resources {
		// Subresources (deployments/scale) are not objects; cluster-scoped
		// kinds are never pruned.
		if r.Namespaced && !strings.Contains(r.Name, "/") {
			rs = append(rs, apiResource{group: group, version: version, resource: r.Name, kind: r.Kind})
		}
	}
	d.groups[group] = rs
	return rs, nil
}

// getRaw GETs a path and decodes the JSON; found is false on 404.
func (k Kubectl) getRaw(ctx context.Context, path string, v any) (found bool, err error) {
	res, err := k.run(ctx, nil, "get", "--raw", path)
	if err != nil {
		return false, err
	}
	if res.Code != 0 {
		if strings.Contains(string(res.Stderr), "(NotFound)") {
			return false, nil
		}
		return false, fmt.Errorf("kubectl get --raw %s: %s", path, strings.TrimSpace(string(res.Stderr)))
	}
	if err := json.Unmarshal(res.Stdout, v); err != nil {
		return false, fmt.Errorf("kubectl get --raw %s: %w", path, err)
	}
	return true, nil
}

// Members lists the objects that carry the set's part-of label, in the
// set's namespaces, of every kind its parent records plus extra (kinds
// about to be applied). Only the label makes an object a member: a name
// never does. Cluster-scoped kinds and kinds the server no longer serves
// are skipped. Sorted by ID.
func (k Kubectl) Members(ctx context.Context, set *ApplySet, extra []GroupKind) ([]Object, error) {
	d := &discovery{k: k, groups: map[string][]apiResource{}}
	seen := map[apiResource]bool{}
	var kinds []apiResource
	add := func(group string, match func(apiResource) bool) error {
		rs, err := d.resources(ctx, group)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if match(r) && !seen[r] {
				seen[r] = true
				kinds = append(kinds, r)
			}
		}
		return nil
	}
	for _, gk := range append(append([]GroupKind{}, set.GroupKinds...), extra...) {
		if err := add(gk.Group, func(r apiResource) bool { return r.kind == gk.Kind }); err != nil {
			return nil, err
		}
	}
	for _, gr := range set.GroupResources {
		resource, group, _ := strings.Cut(gr, ".")
		if err := add(group, func(r apiResource) bool { return r.resource == resource }); err != nil {
			return nil, err
		}
	}
	selector := url.Values{"labelSelector": {PartOfLabel + "=" + set.ID}}.Encode()
	var out []Object
	for _, r := range kinds {
		for _, ns := range set.Namespaces {
			var list struct {
				Items []struct {
					Metadata struct {
						Name, Namespace, UID, ResourceVersion string
						Labels                                map[string]string
					} `json:"metadata"`
				} `json:"items"`
			}
			path := resourcePath(r.group, r.version) + "/namespaces/" + url.PathEscape(ns) + "/" + r.resource + "?" + selector
			if _, err := k.getRaw(ctx, path, &list); err != nil {
				return nil, err
			}
			for _, it := range list.Items {
				m := it.Metadata
				if m.Labels[PartOfLabel] != set.ID { // the server filtered; never trust a listing blindly
					continue
				}
				out = append(out, Object{Group: r.group, Version: r.version, Kind: r.kind, Resource: r.resource,
					Namespace: m.Namespace, Name: m.Name, UID: m.UID, ResourceVersion: m.ResourceVersion, Labels: m.Labels})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out, nil
}

// refresh reads a member again; found is false when it is gone.
func (k Kubectl) refresh(ctx context.Context, o Object) (Object, bool, error) {
	var obj struct {
		Metadata struct {
			UID, ResourceVersion string
			Labels               map[string]string
		} `json:"metadata"`
	}
	found, err := k.getRaw(ctx, o.path(), &obj)
	if err != nil || !found {
		return o, found, err
	}
	o.UID, o.ResourceVersion, o.Labels = obj.Metadata.UID, obj.Metadata.ResourceVersion, obj.Metadata.Labels
	return o, true, nil
}

// DeleteMember deletes a member of the ApplySet id only while it still is
// one: the delete carries the listed uid and resourceVersion as
// preconditions, and when the object changed since (a controller updated
// its status, or another target's apply took it over), it is read again
// and deleted only if it still carries the label. It returns false when
// the object was gone or is no longer a member (left alone).
func (k Kubectl) DeleteMember(ctx context.Context, o Object, id string) (bool, error) {
	for attempt := 0; attempt < 5; attempt++ {
		if o.Labels[PartOfLabel] != id {
			return false, nil
		}
		body, err := json.Marshal(map[string]any{
			"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background",
			"preconditions": map[string]string{"uid": o.UID, "resourceVersion": o.ResourceVersion},
		})
		if err != nil {
			return false, err
		}
		res, err := k.run(ctx, body, "delete", "--raw", o.path(), "-f", "-")
		if err != nil {
			return false, err
		}
		stderr := string(res.Stderr)
		switch {
		case res.Code == 0:
			return true, nil
		case strings.Contains(stderr, "(NotFound)"):
			return false, nil
		case !strings.Contains(stderr, "(Conflict)"):
			return false, fmt.Errorf("deleting %s: %s", o.ID(), strings.TrimSpace(stderr))
		}
		var found bool
		if o, found, err = k.refresh(ctx, o); err != nil || !found {
			return false, err
		}
	}
	return false, fmt.Errorf("deleting %s: it kept changing while being deleted; try again", o.ID())
}

// ReleaseMember removes the part-of label from a member of the ApplySet id
// — only while it still has that value (a JSON patch test), so an object
// another set has taken over keeps its new label — so that no prune of
// this set deletes it: the object is handed over, not deleted.
func (k Kubectl) ReleaseMember(ctx context.Context, o Object, id string) error {
	label := "/metadata/labels/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(PartOfLabel)
	patch, err := json.Marshal([]map[string]string{{"op": "test", "path": label, "value": id}, {"op": "remove", "path": label}})
	if err != nil {
		return err
	}
	kind := o.Resource + "." + o.Version + "." + o.Group // fully qualified: never another group's resource
	res, err := k.run(ctx, nil, "patch", kind, o.Name, "--namespace="+o.Namespace, "--type=json", "--field-manager="+FieldManager, "-p", string(patch))
	if err != nil {
		return err
	}
	if res.Code == 0 {
		return nil
	}
	// The server says only "the request is invalid" when the test fails:
	// read the object again to tell that from a real failure.
	now, found, err := k.refresh(ctx, o)
	if err != nil || !found || now.Labels[PartOfLabel] != id {
		return err
	}
	return fmt.Errorf("releasing %s from its ApplySet: %s", o.ID(), strings.TrimSpace(string(res.Stderr)))
}
