package render

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/diff"
)

// theirSecret is another team's Secret as the cluster holds it after a
// client-side kubectl apply: its value is in data and, whole, in the
// last-applied-configuration annotation.
const theirSecret = `apiVersion: v1
kind: Secret
metadata:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"v1","data":{"password":"aHVudGVyMg=="},"kind":"Secret","metadata":{"annotations":{},"name":"db","namespace":"payments"},"stringData":{"dsn":"postgres://u:hunter2@db"}}
    team: payments
  labels:
    app: db
  managedFields:
  - apiVersion: v1
    fieldsType: FieldsV1
    fieldsV1:
      f:data:
        f:password: {}
    manager: kubectl-client-side-apply
    operation: Update
  name: db
  namespace: payments
data:
  password: aHVudGVyMg==
stringData:
  dsn: |
    postgres://u:hunter2@db
type: Opaque
`

// secretsIn are the values that must never show.
var secretsIn = []string{"aHVudGVyMg==", "hunter2", "postgres://"}

func checkNoSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range secretsIn {
		if strings.Contains(text, s) {
			t.Fatalf("%s shows %q:\n%s", what, s, text)
		}
	}
}

func TestMaskSecretCoversAnnotationAndManagedFields(t *testing.T) {
	o := Object{APIVersion: "v1", Kind: "Secret", Namespace: "payments", Name: "db", YAML: []byte(theirSecret)}
	got := string(MaskSecret(o, nil, false).YAML)
	checkNoSecret(t, "MaskSecret", got)
	for _, want := range []string{"name: db", "team: payments", "app: db", "password: '*** (masked)'",
		LastApplied + ": '*** (masked)'", "managedFields: '*** (masked)'"} {
		if !strings.Contains(got, want) {
			t.Errorf("masked Secret lacks %q:\n%s", want, got)
		}
	}
	// Against another copy that differs only in the annotation, the
	// annotation shows as changed and nothing else does.
	other := o
	other.YAML = []byte(strings.Replace(theirSecret, `"name":"db"`, `"name":"db2"`, 1))
	d := string(diff.Diff("a", MaskSecret(o, &other, false).YAML, "b", MaskSecret(other, &o, true).YAML))
	checkNoSecret(t, "the diff", d)
	if !strings.Contains(d, "-    "+LastApplied+": '*** (masked, before)'") || !strings.Contains(d, "+    "+LastApplied+": '*** (masked, after)'") {
		t.Errorf("a changed annotation does not show as changed:\n%s", d)
	}
	if strings.Contains(d, "-  password") {
		t.Errorf("an unchanged value shows as changed:\n%s", d)
	}
	if cm := (Object{APIVersion: "v1", Kind: "ConfigMap", YAML: []byte("data:\n  a: b\n")}); string(MaskSecret(cm, nil, true).YAML) != "data:\n  a: b\n" {
		t.Error("MaskSecret changed a ConfigMap")
	}
}

// kubectlDiff is kubectl diff's output for a target that names another
// team's Secret: LIVE is theirs, MERGED ours (kubectl masks data itself,
// but not the annotation).
const kubectlDiff = `--- /tmp/LIVE-1/v1.Secret.payments.db	2025-01-01 00:00:00
+++ /tmp/MERGED-2/v1.Secret.payments.db	2025-01-01 00:00:00
@@ -1,12 +1,10 @@
 apiVersion: v1
 data:
-  password: '*** (before)'
+  password: '*** (after)'
 kind: Secret
 metadata:
   annotations:
-    kubectl.kubernetes.io/last-applied-configuration: |
-      {"apiVersion":"v1","data":{"password":"aHVudGVyMg=="},"kind":"Secret"}
-    note: theirs
+    note: ours
   creationTimestamp: "2025-01-01T00:00:00Z"
   name: db
   namespace: payments
@@ -20,4 +18,4 @@
     f:data:
       f:password: {}
-  password2: aHVudGVyMg==
+  password2: b3Vycw==
   other: value
`

func TestMaskDiffOfKubectlOutput(t *testing.T) {
	got := string(MaskDiff([]byte(kubectlDiff)))
	checkNoSecret(t, "MaskDiff", got)
	want := `--- /tmp/LIVE-1/v1.Secret.payments.db	2025-01-01 00:00:00
+++ /tmp/MERGED-2/v1.Secret.payments.db	2025-01-01 00:00:00
@@ -1,12 +1,10 @@
 apiVersion: v1
 data:
-  password: '*** (masked, before)'
+  password: '*** (masked, after)'
 kind: Secret
 metadata:
   annotations:
-    kubectl.kubernetes.io/last-applied-configuration: |
-      ***
-    note: theirs
+    note: ours
   creationTimestamp: "2025-01-01T00:00:00Z"
   name: db
   namespace: payments
@@ -20,4 +18,4 @@
     f:data:
       f:password: '*** (masked)'
-  password2: '*** (masked, before)'
+  password2: '*** (masked, after)'
   other: '*** (masked)'
`
	// Other annotations ("note") are not masked; everything that may hold
	// a value of the Secret is, and a line whose place the hunk does not
	// show ("other", under a key above the hunk) is too.
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MaskDiff (-want +got):\n%s", diff)
	}
}

func TestMaskDiffFailsClosed(t *testing.T) {
	for name, in := range map[string]string{
		"hunk inside a block scalar": "@@ -5,2 +5,2 @@\n-      {\"data\":{\"password\":\"aHVudGVyMg==\"}}\n+      {\"data\":{\"password\":\"b3Vycw==\"}}\n",
		"hunk inside data":           "@@ -7,3 +7,3 @@\n   user: YWRtaW4=\n-  password: aHVudGVyMg==\n+  password: b3Vycw==\n",
		"flow mapping":               "@@ -1,1 +1,1 @@\n-data: {password: aHVudGVyMg==}\n+data: {}\n",
		"quoted scalar over lines":   "@@ -1,3 +1,3 @@\n stringData:\n-  dsn: \"postgres://u:hunter2@db\n-    ?sslmode=require\"\n+  dsn: x\n",
		"not a diff at all":          "password: aHVudGVyMg==\n",
		"a line of no known kind":    "@@ -1,1 +1,1 @@\n*password: aHVudGVyMg==\n",
		"sequence in stringData":     "@@ -1,3 +1,3 @@\n stringData:\n   list:\n-  - hunter2\n+  - x\n",
	} {
		t.Run(name, func(t *testing.T) {
			got := string(MaskDiff([]byte(in)))
			checkNoSecret(t, "MaskDiff", got)
			if strings.Count(got, "\n") != strings.Count(in, "\n") {
				t.Errorf("lines were added or lost:\n%s", got)
			}
		})
	}
}

func TestMaskDiffKeepsWhatIsNotSecret(t *testing.T) {
	in := "--- a\n+++ b\n@@ -1,5 +1,5 @@\n apiVersion: v1\n kind: Secret\n metadata:\n   labels:\n-    app: old\n+    app: new\n"
	if got := string(MaskDiff([]byte(in))); got != in {
		t.Errorf("MaskDiff changed what is not secret:\n%s", got)
	}
}
