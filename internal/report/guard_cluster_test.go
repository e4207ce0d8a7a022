package report

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/kustomatrix/kustomatrix/internal/kube"
	"github.com/kustomatrix/kustomatrix/internal/kubetest"
	"github.com/kustomatrix/kustomatrix/internal/render"
	"github.com/kustomatrix/kustomatrix/internal/summary"
)

// TestGuardMasksARealServerDiff is the attack of issue 10 against a real
// kube-apiserver: another team applied its Secret client-side (so the live
// object keeps a whole copy of it, value included, in the
// last-applied-configuration annotation); a pull request's target names
// that Secret. kubectl diff --server-side masks data but shows the
// annotation (the pull request only adds a label, so the server-side
// dry-run has no conflict); after Guard, no form of the value is left, and
// the Secret is flagged as outside the target's namespace.
func TestGuardMasksARealServerDiff(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kube-apiserver")
	}
	c := kubetest.Start(t)
	const live = "hunter2-live-value"
	theirs := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: payments\n---\n" +
		"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: payments\nstringData:\n  password: " + live + "\n"
	if out, errOut, code := c.KubectlStdin(strings.NewReader(theirs), "apply", "-f", "-"); code != 0 {
		t.Fatalf("kubectl apply: exit %d\n%s%s", code, out, errOut)
	}
	t.Setenv("KUBECONFIG", c.Kubeconfig)
	t.Setenv("KUBECTL_EXTERNAL_DIFF", "")
	ours := render.Object{APIVersion: "v1", Kind: "Secret", Namespace: "payments", Name: "db",
		YAML: []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: payments\n  labels:\n    team: shop\n")}
	out, _, err := kube.Kubectl{Path: c.KubectlPath}.Diff(context.Background(), append([]byte("---\n"), ours.YAML...))
	if err != nil {
		t.Fatal(err)
	}
	var chunk []byte
	for key, ch := range kube.SplitDiff(out) {
		if strings.HasSuffix(key, ".Secret.payments.db") {
			chunk = ch
		}
	}
	leaks := []string{live, base64.StdEncoding.EncodeToString([]byte(live))}
	// The attack is real: kubectl's own output shows the value.
	if !strings.Contains(string(chunk), live) && !strings.Contains(string(chunk), leaks[1]) {
		t.Fatalf("kubectl diff does not show the live value, so this test proves nothing:\n%s", chunk)
	}
	objs := []render.Object{
		{APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "a"},
		{APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "b"},
		ours,
	}
	rows := Guard(objs, []summary.Row{{ID: ours.ID(), Status: "changed", Diff: chunk}})
	got := string(rows[0].Diff)
	for _, l := range leaks {
		if strings.Contains(got, l) {
			t.Fatalf("the masked diff shows %q:\n%s", l, got)
		}
	}
	if rows[0].Note == "" || !strings.HasPrefix(got, flagPrefix) {
		t.Errorf("the Secret in another namespace is not flagged:\n%s", got)
	}
	if !strings.Contains(got, "@@") {
		t.Errorf("the diff is gone:\n%s", got)
	}
}
