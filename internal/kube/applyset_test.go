package kube_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kustomatrix/kustomatrix/internal/kube"
	"github.com/kustomatrix/kustomatrix/internal/kubetest"
)

const members = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  a: "1"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart
  namespace: shop
spec:
  selector: {matchLabels: {app: cart}}
  template:
    metadata: {labels: {app: cart}}
    spec: {containers: [{name: c, image: "nginx:1.27"}]}
`

// TestApplySetMembers reads, lists, releases and deletes the members of an
// ApplySet that kubectl created, against a real API server: only the label
// makes a member, and a member that changed hands since it was listed is
// never deleted.
func TestApplySetMembers(t *testing.T) {
	c := kubetest.Start(t)
	t.Setenv("KUBECONFIG", c.Kubeconfig)
	t.Setenv("KUBECACHEDIR", filepath.Join(t.TempDir(), "cache"))
	k := kube.Kubectl{Path: c.KubectlPath}
	ctx := context.Background()
	must := func(args ...string) string {
		t.Helper()
		out, errOut, code := c.Kubectl(args...)
		if code != 0 {
			t.Fatalf("kubectl %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	must("create", "namespace", "shop")
	if out, err := k.ApplyPruned(ctx, []byte(members), "shop", "parent", kube.ApplyOptions{}); err != nil {
		t.Fatalf("ApplyPruned: %v\n%s", err, out)
	}
	id := kube.ApplySetID("parent", "shop")
	// Not members: no label, another set's label.
	must("create", "configmap", "stranger", "--namespace=shop")
	must("create", "configmap", "foreign", "--namespace=shop")
	must("label", "configmap", "foreign", "--namespace=shop", kube.PartOfLabel+"=applyset-other-v1")

	if set, err := k.GetApplySet(ctx, "shop", "nothing"); set != nil || err != nil {
		t.Fatalf("GetApplySet of a parent that does not exist: %v, %v", set, err)
	}
	if _, err := k.GetApplySet(ctx, "shop", "stranger"); err == nil || !strings.Contains(err.Error(), "is not the ApplySet parent kustomatrix creates") {
		t.Fatalf("GetApplySet of a ConfigMap without the id label: %v", err)
	}
	set, err := k.GetApplySet(ctx, "shop", "parent")
	if err != nil {
		t.Fatal(err)
	}
	if set.ID != id || !slices.Equal(set.Namespaces, []string{"shop"}) || len(set.GroupKinds) != 2 {
		t.Fatalf("ApplySet %+v", set)
	}
	list, err := k.Members(ctx, set, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range list {
		ids = append(ids, m.ID())
	}
	if want := []string{"configmap/settings -n shop", "deployment.apps/cart -n shop"}; !slices.Equal(ids, want) {
		t.Fatalf("members %q, want %q", ids, want)
	}
	settings, cart := list[0], list[1]

	// Released: the label goes, and another set's label is never removed.
	if err := k.ReleaseMember(ctx, settings, id); err != nil {
		t.Fatal(err)
	}
	if got := must("get", "configmap", "settings", "--namespace=shop", "-o", "jsonpath={.metadata.labels}"); strings.Contains(got, "part-of") {
		t.Fatalf("released ConfigMap still labelled: %s", got)
	}
	foreign := settings
	foreign.Name = "foreign"
	if err := k.ReleaseMember(ctx, foreign, id); err != nil {
		t.Fatalf("releasing another set's object: %v", err)
	}
	if got := must("get", "configmap", "foreign", "--namespace=shop", "-o", "jsonpath={.metadata.labels}"); !strings.Contains(got, "applyset-other-v1") {
		t.Fatalf("another set's label was removed: %s", got)
	}

	// Changed since listed, still a member: deleted (read again, then the
	// preconditions hold).
	must("annotate", "deployment", "cart", "--namespace=shop", "touched=yes")
	if deleted, err := k.DeleteMember(ctx, cart, id); !deleted || err != nil {
		t.Fatalf("DeleteMember of a member changed since listed: %v, %v", deleted, err)
	}
	if out, _, _ := c.Kubectl("get", "deployment", "cart", "--namespace=shop", "--ignore-not-found", "-o", "name"); out != "" {
		t.Fatalf("deployment still there: %q", out)
	}
	// Gone already: nothing to do.
	if deleted, err := k.DeleteMember(ctx, cart, id); deleted || err != nil {
		t.Fatalf("DeleteMember of a deleted object: %v, %v", deleted, err)
	}
	// Taken over by another set since listed (settings was listed as a
	// member, then relabelled): left alone.
	must("label", "--overwrite", "configmap", "settings", "--namespace=shop", kube.PartOfLabel+"=applyset-other-v1")
	if deleted, err := k.DeleteMember(ctx, settings, id); deleted || err != nil {
		t.Fatalf("DeleteMember of an object another set took over: %v, %v", deleted, err)
	}
	must("get", "configmap", "settings", "--namespace=shop")
}
