package generator

import (
	"fmt"
	"testing"
)

// withoutWhy drops the reasons, for tests about which targets run.
func withoutWhy(ts []AffectedTarget) []AffectedTarget {
	out := make([]AffectedTarget, len(ts))
	for i, t := range ts {
		out[i] = AffectedTarget{Service: t.Service, Environment: t.Environment, Path: t.Path}
	}
	return out
}

func at(service, env, p, why string) AffectedTarget {
	return AffectedTarget{Service: service, Environment: env, Path: p, Why: why}
}

// TestAffectedHeadOnly maps changed files through the closures at the head
// alone, as for a --files list: there is no base to compare with.
func TestAffectedHeadOnly(t *testing.T) {
	th := shopRepo(t)
	r := th.scan(th.config("globalDependencies: ['scripts/**']\n"))
	th.expect("targets", []string{
		"app default broken/app", "cart dev apps/cart/overlays/dev", "cart prod apps/cart/overlays/prod",
		"ingress default platform/ingress", "search prod apps/search/overlays/prod",
	}, targetList(r))
	var (
		broken     = at("app", "default", "broken/app", "")
		cartDev    = at("cart", "dev", "apps/cart/overlays/dev", "")
		cartProd   = at("cart", "prod", "apps/cart/overlays/prod", "")
		ingress    = at("ingress", "default", "platform/ingress", "")
		searchProd = at("search", "prod", "apps/search/overlays/prod", "")
		all        = []AffectedTarget{broken, cartDev, cartProd, ingress, searchProd}
	)
	touched := func(t AffectedTarget, f string) AffectedTarget { t.Why = "closure touched: " + f; return t }
	some := func(files int, ts ...AffectedTarget) *AffectedResult {
		return &AffectedResult{Targets: append([]AffectedTarget{}, ts...), Removed: []AffectedTarget{},
			Reason: fmt.Sprintf("%d changed file(s) affect %d of 5 target(s); removed targets are not known without a base commit", files, len(ts))}
	}
	everything := func(reason string) *AffectedResult {
		return &AffectedResult{All: true, Reason: reason, Targets: all, Removed: []AffectedTarget{}}
	}
	for name, tc := range map[string]struct {
		cs   ChangeSet
		want *AffectedResult
	}{
		"a file of one overlay": {ChangeSet{Files: []string{"apps/cart/overlays/prod/namespace.yaml"}},
			some(1, touched(cartProd, "apps/cart/overlays/prod/namespace.yaml"))},
		"a service's base": {ChangeSet{Files: []string{"apps/cart/base/deployment.yaml"}},
			some(1, touched(cartDev, "apps/cart/base/deployment.yaml"), touched(cartProd, "apps/cart/base/deployment.yaml"))},
		"a shared base": {ChangeSet{Files: []string{"shared/base/networkpolicy.yaml"}},
			some(1, touched(cartDev, "shared/base/networkpolicy.yaml"), touched(cartProd, "shared/base/networkpolicy.yaml"), touched(searchProd, "shared/base/networkpolicy.yaml"))},
		"a component": {ChangeSet{Files: []string{"components/tracing/tracing.yaml"}},
			some(1, touched(cartProd, "components/tracing/tracing.yaml"))},
		"unrelated files": {ChangeSet{Files: []string{"README.md", "docs/new.md", "apps/cart/base/unused.yaml"}}, some(3)},
		"no files":        {ChangeSet{}, some(0)},
		"a file in a broken root's directory": {ChangeSet{Files: []string{"broken/app/new/file.yaml"}},
			some(1, touched(broken, "broken/app/new/file.yaml"))},
		// A submodule bump is one path, the gitlink, for every file in it.
		"a directory above an input (a submodule)": {ChangeSet{Files: []string{"shared"}},
			some(1, touched(cartDev, "shared"), touched(cartProd, "shared"), touched(searchProd, "shared"))},
		"the configuration file, without a base to compare": {ChangeSet{Files: []string{"README.md", ".kustomatrix.yaml"}},
			everything(".kustomatrix.yaml changed, and without a base commit it cannot be compared")},
		"a shared runtime file": {ChangeSet{Files: []string{".github/workflows/kustomatrix-deploy.yml"}},
			everything(`global dependency changed: .github/workflows/kustomatrix-deploy.yml (matches ".github/workflows/kustomatrix-deploy.yml")`)},
		"the caller workflow is not global": {ChangeSet{Files: []string{".github/workflows/kustomatrix.yml"}}, some(1)},
		"a global dependency": {ChangeSet{Files: []string{"scripts/ci/check.sh"}},
			everything(`global dependency changed: scripts/ci/check.sh (matches "scripts/**")`)},
		"everything, whatever the files": {ChangeSet{Everything: "the base commit is unreachable", Files: []string{"README.md"}},
			everything("the base commit is unreachable")},
	} {
		t.Run(name, func(t *testing.T) {
			th.in(t).expect("Affected", tc.want, Affected(r, tc.cs))
		})
	}
}

// TestAffectedBothEnds compares the targets at the base and at the head:
// added and removed targets are exact whatever made them so, and a target
// runs when what the pipeline does for it changed.
func TestAffectedBothEnds(t *testing.T) {
	type side struct {
		files  map[string]string
		config string
	}
	scan := func(t *testing.T, s side) *Repo {
		th := newScenario(t)
		for p, c := range s.files {
			th.write(p, c)
		}
		return th.scan(th.config(s.config))
	}
	umbrellaA := map[string]string{
		"umbrella/kustomization.yaml": "resources:\n  - ../a\n",
		"a/kustomization.yaml":        "resources:\n  - cm.yaml\n",
		"a/cm.yaml":                   "a",
		"b/kustomization.yaml":        "resources:\n  - cm.yaml\n",
		"b/cm.yaml":                   "b",
	}
	umbrellaB := map[string]string{}
	for p, c := range umbrellaA {
		umbrellaB[p] = c
	}
	umbrellaB["umbrella/kustomization.yaml"] = "resources:\n  - ../b\n"
	twoServices := map[string]string{
		"apps/cart/prod/kustomization.yaml": "resources:\n  - cm.yaml\n",
		"apps/cart/prod/cm.yaml":            "c",
		"apps/web/prod/kustomization.yaml":  "resources:\n  - cm.yaml\n",
		"apps/web/prod/cm.yaml":             "w",
		"apps/web/dev/kustomization.yaml":   "resources:\n  - cm.yaml\n",
		"apps/web/dev/cm.yaml":              "w",
	}
	threeServices := map[string]string{"apps/new/prod/kustomization.yaml": "resources: []\n"}
	for p, c := range twoServices {
		threeServices[p] = c
	}
	renamed := map[string]string{}
	for p, c := range twoServices {
		if p[:10] == "apps/cart/" {
			p = "apps/basket/" + p[10:]
		}
		renamed[p] = c
	}
	for name, tc := range map[string]struct {
		base, head side
		files      []string
		targets    []AffectedTarget
		removed    []AffectedTarget
		all        string
	}{
		"an umbrella switches from one base to another": {
			base: side{files: umbrellaA}, head: side{files: umbrellaB},
			files:   []string{"umbrella/kustomization.yaml"},
			targets: []AffectedTarget{at("a", "default", "a", "added"), at("umbrella", "default", "umbrella", "closure touched: umbrella/kustomization.yaml")},
			removed: []AffectedTarget{at("b", "default", "b", "no longer a root (referenced by another kustomization, or a component)")},
		},
		"a service added runs alone (the caller workflow changes too)": {
			base: side{files: twoServices}, head: side{files: threeServices},
			files:   []string{".github/kustomatrix-paths.yml", ".github/workflows/kustomatrix.yml", "apps/new/prod/kustomization.yaml"},
			targets: []AffectedTarget{at("new", "prod", "apps/new/prod", "added")},
			removed: []AffectedTarget{},
		},
		"a service deleted": {
			base: side{files: threeServices}, head: side{files: twoServices},
			files:   []string{".github/workflows/kustomatrix.yml", "apps/new/prod/kustomization.yaml"},
			targets: []AffectedTarget{},
			removed: []AffectedTarget{at("new", "prod", "apps/new/prod", "deleted")},
		},
		"a service renamed": {
			base: side{files: twoServices}, head: side{files: renamed},
			files:   []string{"apps/basket/prod/cm.yaml", "apps/basket/prod/kustomization.yaml", "apps/cart/prod/cm.yaml", "apps/cart/prod/kustomization.yaml"},
			targets: []AffectedTarget{at("basket", "prod", "apps/basket/prod", "added")},
			removed: []AffectedTarget{at("cart", "prod", "apps/cart/prod", "deleted")},
		},
		"a service renamed by configuration": {
			base:    side{files: twoServices},
			head:    side{files: twoServices, config: "discovery:\n  overrides:\n    - path: apps/cart/prod\n      service: basket\n      environment: prod\n"},
			files:   []string{".kustomatrix.yaml"},
			targets: []AffectedTarget{at("basket", "prod", "apps/cart/prod", `renamed from service "cart", environment "prod"`)},
			removed: []AffectedTarget{},
		},
		"one environment's credentials changed": {
			base:  side{files: twoServices},
			head:  side{files: twoServices, config: "environments:\n  prod:\n    credentials:\n      kubeconfigSecret: PROD_KUBECONFIG\n"},
			files: []string{".kustomatrix.yaml"},
			targets: []AffectedTarget{at("cart", "prod", "apps/cart/prod", "pipeline settings changed"),
				at("web", "prod", "apps/web/prod", "pipeline settings changed")},
			removed: []AffectedTarget{},
		},
		"prune turned on for one target": {
			base: side{files: twoServices}, head: side{files: twoServices, config: "prune: ['apps/web/dev']\n"},
			files:   []string{".kustomatrix.yaml"},
			targets: []AffectedTarget{at("web", "dev", "apps/web/dev", "pipeline settings changed")},
			removed: []AffectedTarget{},
		},
		"a target excluded by discovery": {
			base: side{files: twoServices}, head: side{files: twoServices, config: "discovery:\n  exclude: ['apps/web/dev']\n"},
			files:   []string{".kustomatrix.yaml"},
			targets: []AffectedTarget{},
			removed: []AffectedTarget{at("web", "dev", "apps/web/dev", "excluded by discovery in .kustomatrix.yaml")},
		},
		"the comment turned off runs nothing": {
			base: side{files: twoServices}, head: side{files: twoServices, config: "comment: false\n"},
			files: []string{".kustomatrix.yaml"}, targets: []AffectedTarget{}, removed: []AffectedTarget{},
		},
		"a shared setting changed runs everything": {
			base: side{files: twoServices}, head: side{files: twoServices, config: "runsOn: [self-hosted]\n"},
			files: []string{".kustomatrix.yaml"}, removed: []AffectedTarget{},
			all: "a configuration setting every target shares changed in .kustomatrix.yaml",
		},
		"a file in the closure at the base only": {
			base: side{files: map[string]string{"app/kustomization.yaml": "resources:\n  - old.yaml\n", "app/old.yaml": "o"}},
			head: side{files: map[string]string{"app/kustomization.yaml": "resources:\n  - old.yaml\n", "app/old.yaml": "o", "other/kustomization.yaml": "resources: []\n"}},
			// The files list says old.yaml changed although the head's
			// closure is what the base's was: a base-side input counts.
			files:   []string{"app/old.yaml"},
			targets: []AffectedTarget{at("app", "default", "app", "closure touched: app/old.yaml"), at("other", "default", "other", "added")},
			removed: []AffectedTarget{},
		},
	} {
		t.Run(name, func(t *testing.T) {
			base, head := scan(t, tc.base), scan(t, tc.head)
			got := Affected(head, ChangeSet{Files: tc.files, Base: base})
			if tc.all != "" {
				if !got.All || got.Reason != tc.all {
					t.Fatalf("want all: %q, got all=%v %q", tc.all, got.All, got.Reason)
				}
				tc.targets = got.Targets
				if len(got.Targets) != len(head.Targets) {
					t.Fatalf("all: %d targets, want %d", len(got.Targets), len(head.Targets))
				}
			}
			th := newScenario(t)
			th.expect("targets", tc.targets, got.Targets)
			th.expect("removed", tc.removed, got.Removed)
		})
	}
}

// TestAffectedDeletedBaseFileByFile: --files (no base commit) lists a
// deleted base directory file by file; at the head the overlay's closure
// holds the missing directory itself, which those files lie below.
func TestAffectedDeletedBaseFileByFile(t *testing.T) {
	s := newScenario(t)
	s.write("app/overlays/prod/kustomization.yaml", "resources: [../../base]\n")
	head := s.scan(s.config(""))
	got := Affected(head, ChangeSet{Files: []string{"app/base/kustomization.yaml", "app/base/cm.yaml"}})
	if len(got.Targets) != 1 || got.Targets[0].Path != "app/overlays/prod" {
		t.Fatalf("targets %+v, want app/overlays/prod (its base was deleted)", got.Targets)
	}
}
