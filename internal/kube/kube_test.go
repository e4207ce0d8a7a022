package kube

import (
	"strings"
	"testing"
)

// A kubectl diff --server-side output, as kubectl 1.32 prints it.
const diffOutput = `diff -u -N /tmp/LIVE-123/apps.v1.Deployment.shop.api /tmp/MERGED-456/apps.v1.Deployment.shop.api
--- /tmp/LIVE-123/apps.v1.Deployment.shop.api	2026-11-26 10:00:00
+++ /tmp/MERGED-456/apps.v1.Deployment.shop.api	2026-11-26 10:00:00
@@ -5,7 +5,7 @@
 spec:
-  replicas: 1
+  replicas: 2
diff -u -N /tmp/LIVE-123/v1.ConfigMap.shop.new /tmp/MERGED-456/v1.ConfigMap.shop.new
--- /tmp/LIVE-123/v1.ConfigMap.shop.new	2026-11-26 10:00:00
+++ /tmp/MERGED-456/v1.ConfigMap.shop.new	2026-11-26 10:00:00
@@ -0,0 +1,6 @@
+apiVersion: v1
`

func TestSplitDiff(t *testing.T) {
	chunks := SplitDiff([]byte(diffOutput))
	if len(chunks) != 2 {
		t.Fatalf("%d chunks, want 2: %q", len(chunks), chunks)
	}
	if c := string(chunks["apps.v1.Deployment.shop.api"]); !strings.Contains(c, "+  replicas: 2") || strings.Contains(c, "ConfigMap") {
		t.Errorf("deployment chunk = %q", c)
	}
	if c := string(chunks["v1.ConfigMap.shop.new"]); !strings.HasPrefix(strings.SplitN(c, "\n", 3)[2], "@@ -0,0 ") {
		t.Errorf("configmap chunk = %q", c)
	}
	if len(SplitDiff(nil)) != 0 {
		t.Error("no output should give no chunks")
	}
}
