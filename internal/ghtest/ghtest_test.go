package ghtest_test

import (
	"context"
	"testing"

	"github.com/kustomatrix/kustomatrix/internal/ghapi"
	"github.com/kustomatrix/kustomatrix/internal/ghtest"
)

// The fake holds up against the real client: a comment is created, then
// found by its marker and updated in place; a deployment goes through its
// states; no run has succeeded yet.
func TestFakeWithTheRealClient(t *testing.T) {
	g := ghtest.Start(t, "acme", "manifests")
	c, err := ghapi.New(g.URL, "test-token", "acme", "manifests", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id1, created, err := c.UpsertComment(ctx, 7, "<!-- m -->", "<!-- m -->\nfirst")
	if err != nil || !created {
		t.Fatalf("first upsert: id %d created %t err %v", id1, created, err)
	}
	id2, created, err := c.UpsertComment(ctx, 7, "<!-- m -->", "<!-- m -->\nsecond")
	if err != nil || created || id2 != id1 {
		t.Fatalf("second upsert: id %d (want %d) created %t err %v", id2, id1, created, err)
	}
	if cs := g.Comments(7); len(cs) != 1 || cs[0].Body != "<!-- m -->\nsecond" {
		t.Fatalf("comments: %+v", cs)
	}
	id, err := c.CreateDeployment(ctx, "abc123", "prod", "kustomatrix apply apps/a", map[string]string{"target": "apps/a"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{ghapi.DeploymentInProgress, ghapi.DeploymentSuccess} {
		if err := c.CreateDeploymentStatus(ctx, id, s, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	ds := g.Deployments()
	if len(ds) != 1 || ds[0].Environment != "prod" || ds[0].Ref != "abc123" || ds[0].Payload["target"] != "apps/a" ||
		len(ds[0].States) != 2 || ds[0].States[0] != "in_progress" || ds[0].States[1] != "success" {
		t.Fatalf("deployments: %+v", ds)
	}
	sha, err := c.LastSuccessfulRun(ctx, "kustomatrix.yml", "main")
	if err != nil || sha != "" {
		t.Fatalf("last successful run: %q, %v", sha, err)
	}
}
