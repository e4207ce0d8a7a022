package render

import (
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/diff"
)

func obj(kind, ns, name, body string) Object {
	return Object{APIVersion: "v1", Kind: kind, Namespace: ns, Name: name, YAML: []byte(body)}
}

func TestCompare(t *testing.T) {
	base := []Object{obj("ConfigMap", "a", "same", "x: 1\n"), obj("ConfigMap", "a", "edited", "x: 1\n"), obj("ConfigMap", "a", "gone", "x: 1\n")}
	head := []Object{obj("ConfigMap", "a", "same", "x: 1\n"), obj("ConfigMap", "a", "edited", "x: 2\n"), obj("Namespace", "", "a", "n: 1\n")}
	got := map[string]string{}
	for _, c := range Compare(base, head, diff.Diff) {
		got[c.ID] = c.Kind
		if !strings.Contains(string(c.Diff), "@@") {
			t.Errorf("%s: no unified diff: %q", c.ID, c.Diff)
		}
	}
	want := map[string]string{"configmap/edited -n a": "changed", "configmap/gone -n a": "deleted", "namespace/a": "created"}
	if len(got) != len(want) {
		t.Fatalf("changes %v, want %v", got, want)
	}
	for id, k := range want {
		if got[id] != k {
			t.Errorf("%s: %q, want %q", id, got[id], k)
		}
	}
}

func TestObjectID(t *testing.T) {
	for _, tc := range []struct {
		o    Object
		want string
	}{
		{Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "api"}, "deployment.apps/api -n shop"},
		{Object{APIVersion: "v1", Kind: "Namespace", Name: "shop"}, "namespace/shop"},
		{Object{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Namespace: "n", Name: "p"}, "networkpolicy.networking.k8s.io/p -n n"},
	} {
		if got := tc.o.ID(); got != tc.want {
			t.Errorf("ID() = %q, want %q", got, tc.want)
		}
	}
}

func TestCompareMasksSecrets(t *testing.T) {
	secret := func(token, user string) Object {
		return Object{APIVersion: "v1", Kind: "Secret", Namespace: "a", Name: "creds",
			YAML: []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: a\ndata:\n  token: " + token + "\n  user: " + user + "\n")}
	}
	changes := Compare([]Object{secret("c2VjcmV0MQ==", "YWRtaW4=")}, []Object{secret("c2VjcmV0Mg==", "YWRtaW4=")}, diff.Diff)
	if len(changes) != 1 || changes[0].Kind != "changed" {
		t.Fatalf("changes %+v; a changed Secret value must still count as a change", changes)
	}
	d := string(changes[0].Diff)
	if strings.Contains(d, "c2VjcmV0") || strings.Contains(d, "YWRtaW4=") {
		t.Fatalf("a Secret value leaks into the diff:\n%s", d)
	}
	if !strings.Contains(d, "-  token: '*** (masked, before)'") && !strings.Contains(d, "-  token: \"*** (masked, before)\"") && !strings.Contains(d, "*** (masked, before)") {
		t.Fatalf("the diff does not show which value changed:\n%s", d)
	}
	if strings.Contains(d, "-  user:") {
		t.Fatalf("an unchanged value shows as changed:\n%s", d)
	}
	created := Compare(nil, []Object{secret("c2VjcmV0MQ==", "YWRtaW4=")}, diff.Diff)
	if strings.Contains(string(created[0].Diff), "c2VjcmV0") {
		t.Fatalf("a new Secret's value leaks:\n%s", created[0].Diff)
	}
}
