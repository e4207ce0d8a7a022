package generator

import (
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestCredentialsConfigErrors: settings that would give a pull request the
// apply credentials, or paste unsafe steps into the pipeline, are
// configuration errors naming the key.
func TestCredentialsConfigErrors(t *testing.T) {
	const pinned = "azure/k8s-set-context@212a19233d93f03eceaac31ae5a1d1acf650b6ef"
	for name, tc := range map[string]struct{ in, want string }{
		"diff and apply share a secret": {
			in:   "environments:\n  prod:\n    credentials: {kubeconfigSecret: KUBE_PROD}\n    diffCredentials: {kubeconfigSecret: KUBE_PROD}\n",
			want: `environment "prod" diffs and applies with one secret KUBE_PROD`,
		},
		"diff uses the default apply secret": {
			in:   "environments:\n  prod:\n    diffCredentials: {kubeconfigSecret: KUBECONFIG_PROD}\n",
			want: `environment "prod" diffs and applies with one secret KUBECONFIG_PROD`,
		},
		"diff and apply share a role": {
			in: "environments:\n  prod:\n    credentials: {awsEks: {roleArn: arn:aws:iam::1:role/r, region: eu-west-1, clusterName: c}}\n" +
				"    diffCredentials: {awsEks: {roleArn: arn:aws:iam::1:role/r, region: eu-west-1, clusterName: c}}\n",
			want: `diffs and applies with one role arn:aws:iam::1:role/r`,
		},
		"none on apply credentials": {
			in:   "environments:\n  prod:\n    credentials: {none: true}\n",
			want: "none is for diffCredentials only",
		},
		"none and a secret": {
			in:   "environments:\n  prod:\n    diffCredentials: {none: true, kubeconfigSecret: K}\n",
			want: "set only one of kubeconfigSecret, awsEks, steps, none",
		},
		"custom step: uses by tag": {
			in:   "environments:\n  prod:\n    credentials:\n      steps:\n        - uses: azure/k8s-set-context@v4\n",
			want: `uses: "azure/k8s-set-context@v4" must be pinned to a full commit SHA`,
		},
		"custom step: an expression in run": {
			in:   "environments:\n  prod:\n    credentials:\n      steps:\n        - run: echo '${{ secrets.KUBE }}' > kubeconfig\n",
			want: "run: must not contain ${{ }}",
		},
		"custom step: an unknown key": {
			in:   "environments:\n  prod:\n    diffCredentials:\n      steps:\n        - run: ./kubeconfig.sh\n          services: {}\n",
			want: `unknown step key "services"`,
		},
		"custom step: both uses and run": {
			in:   "environments:\n  prod:\n    credentials:\n      steps:\n        - run: x\n          uses: " + pinned + "\n",
			want: "exactly one of uses: and run:",
		},
		"custom step: secrets by index": {
			in:   "environments:\n  prod:\n    credentials:\n      steps:\n        - uses: " + pinned + "\n          with: {kubeconfig: \"${{ secrets['KUBE'] }}\"}\n",
			want: "name each secret as secrets.NAME",
		},
		"custom step: the whole secrets context": {
			in:   "environments:\n  prod:\n    credentials:\n      steps:\n        - uses: " + pinned + "\n          with: {x: \"${{ toJSON(secrets) }}\"}\n",
			want: "name each secret as secrets.NAME",
		},
		"custom step: an id of a generated step": {
			in:   "environments:\n  prod:\n    credentials:\n      steps:\n        - {id: deployment, run: ./k.sh}\n",
			want: `custom step id "deployment" is the id of a generated step`,
		},
		"custom steps: one id in two environments": {
			in:   "environments:\n  dev:\n    diffCredentials:\n      steps:\n        - {id: auth, run: ./k.sh}\n  prod:\n    diffCredentials:\n      steps:\n        - {id: auth, run: ./k.sh}\n",
			want: `custom step id "auth" is used by environments.dev.diffCredentials too`,
		},
		"a secret name GitHub reserves": {
			in:   "environments:\n  prod:\n    credentials: {kubeconfigSecret: github_kc}\n",
			want: "GitHub reserves names starting with GITHUB_",
		},
		"diff and apply share a secret, in other case": {
			in:   "environments:\n  prod:\n    credentials: {kubeconfigSecret: KC_X}\n    diffCredentials: {kubeconfigSecret: kc_x}\n",
			want: `environment "prod" diffs and applies with one secret KC_X`,
		},
		"diff and apply share a role, in other case": {
			in: "environments:\n  prod:\n    credentials: {awsEks: {roleArn: arn:aws:iam::1:role/deploy, region: r, clusterName: c}}\n" +
				"    diffCredentials: {awsEks: {roleArn: arn:aws:iam::1:role/DEPLOY, region: r, clusterName: c}}\n",
			want: "diffs and applies with one role",
		},
		"deploy branch given as a ref": {
			in:   "deployBranch: refs/heads/main\n",
			want: `deployBranch "refs/heads/main" must be a branch name, not a ref: write "main"`,
		},
		"sync branch is the deploy branch in other case": {
			in:   "sync: {tokenSecret: SYNC, branch: Main}\n",
			want: `sync.branch "Main" is the deploy branch`,
		},
		"sync branch is the deploy branch": {
			in:   "deployBranch: release\nsync: {tokenSecret: SYNC, branch: release}\n",
			want: `sync.branch "release" is the deploy branch`,
		},
		"sync branch is the default deploy branch": {
			in:   "sync: {tokenSecret: SYNC, branch: main}\n",
			want: `sync.branch "main" is the deploy branch`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadConfig(ConfigFile, []byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadConfig:\n%s\nerror %v, want one containing %q", tc.in, err, tc.want)
			}
		})
	}
}

// TestCustomStepsPassLint: a pinned uses:, run: without expressions, and
// secrets named as secrets.NAME load, and their secrets are passed.
func TestCustomStepsPassLint(t *testing.T) {
	cfg, err := LoadConfig(ConfigFile, []byte(`environments:
  prod:
    credentials:
      steps:
        - name: Kubeconfig
          uses: azure/k8s-set-context@212a19233d93f03eceaac31ae5a1d1acf650b6ef
          with:
            kubeconfig: ${{ secrets.PROD_KUBE }}
        - run: kubectl config current-context
          env:
            TOKEN: ${{ secrets.PROD_TOKEN }}
    diffCredentials:
      steps:
        - run: ./read-only-kubeconfig.sh
          env:
            TOKEN: ${{ secrets.PROD_READ_TOKEN }}
`))
	if err != nil {
		t.Fatal(err)
	}
	apply, diff := cfg.environmentSecrets("prod")
	if got := fmt.Sprint(apply, diff); got != "[PROD_KUBE PROD_TOKEN] [PROD_READ_TOKEN]" {
		t.Fatalf("secrets of prod: %s", got)
	}
}

// TestSecretNameCollisions: directory-derived environments whose default
// secret names coincide (prod-eu, prod.eu, PROD_EU all give
// KUBECONFIG_PROD_EU) are an error naming both, never one shared secret.
func TestSecretNameCollisions(t *testing.T) {
	s := newScenario(t)
	for _, env := range []string{"prod-eu", "prod.eu"} {
		s.write("apps/web/"+env+"/kustomization.yaml", "resources: [cm.yaml]\n")
		s.write("apps/web/"+env+"/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
	}
	_, err := s.scanErr(s.config(""))
	if err == nil || !strings.Contains(err.Error(), `secret KUBECONFIG_PROD_EU serves credentials of "prod-eu" and credentials of "prod.eu"`) ||
		!strings.Contains(err.Error(), `secret KUBECONFIG_PROD_EU_DIFF serves diffCredentials of "prod-eu" and diffCredentials of "prod.eu"`) {
		t.Fatalf("Scan: %v", err)
	}
	// An environment whose apply secret is another's diff secret.
	s = newScenario(t)
	for _, env := range []string{"prod", "prod-diff"} {
		s.write("apps/web/"+env+"/kustomization.yaml", "resources: [cm.yaml]\n")
		s.write("apps/web/"+env+"/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
	}
	_, err = s.scanErr(s.config(""))
	if err == nil || !strings.Contains(err.Error(), `secret KUBECONFIG_PROD_DIFF serves credentials of "prod-diff" and diffCredentials of "prod"`) {
		t.Fatalf("Render: %v", err)
	}
}

// TestCredentialsAcrossEnvironments: what only the set of environments
// shows is an error at scan, naming both sides: names equal but for case
// (GitHub's == would give each the other's credentials), a diff assuming a
// role another environment applies with (also through a custom step), one
// secret in two cases, the sync token serving a diff.
func TestCredentialsAcrossEnvironments(t *testing.T) {
	const aws = "{awsEks: {roleArn: arn:aws:iam::1:role/deploy, region: r, clusterName: c}}"
	for name, tc := range map[string]struct {
		envs      []string
		cfg, want string
	}{
		"environments equal but for case": {
			envs: []string{"prod", "PROD"},
			cfg:  "environments:\n  prod: {credentials: {kubeconfigSecret: KC_LOWER}, diffCredentials: {kubeconfigSecret: KC_LOWER_DIFF}}\n  PROD: {credentials: {kubeconfigSecret: KC_UPPER}, diffCredentials: {kubeconfigSecret: KC_UPPER_DIFF}}\n",
			want: `environments "PROD" and "prod" differ only in case`,
		},
		"a diff assumes another environment's apply role": {
			envs: []string{"dev", "prod"},
			cfg:  "environments:\n  prod:\n    credentials: " + aws + "\n  dev:\n    diffCredentials: " + aws + "\n",
			want: `role arn:aws:iam::1:role/deploy is assumed by the diff of "dev" and applies "prod"`,
		},
		"a custom diff step assumes the apply role": {
			envs: []string{"dev", "prod"},
			cfg: "environments:\n  prod:\n    credentials: " + aws + "\n  dev:\n    diffCredentials:\n      steps:\n" +
				"        - uses: aws-actions/configure-aws-credentials@e3dd6a429d7300a6a4c196c26e071d42e0343502\n          with: {role-to-assume: arn:aws:iam::1:role/DEPLOY, aws-region: r}\n",
			want: `is assumed by the diff of "dev" and applies "prod"`,
		},
		"one secret in two cases": {
			envs: []string{"dev", "prod"},
			cfg:  "environments:\n  prod: {credentials: {kubeconfigSecret: KC_X}}\n  dev: {diffCredentials: {kubeconfigSecret: kc_x}}\n",
			want: `secret kc_x serves credentials of "prod" (as KC_X) and diffCredentials of "dev"`,
		},
		"the sync token serves a diff": {
			envs: []string{"dev"},
			cfg:  "sync: {tokenSecret: KUBECONFIG_DEV_DIFF}\n",
			want: `secret KUBECONFIG_DEV_DIFF serves diffCredentials of "dev" and sync.tokenSecret`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := newScenario(t)
			for _, env := range tc.envs {
				s.write("apps/web/overlays/"+env+"/kustomization.yaml", "resources: [cm.yaml]\n")
				s.write("apps/web/overlays/"+env+"/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
			}
			_, err := s.scanErr(s.config(tc.cfg))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Scan: %v\nwant an error containing %q", err, tc.want)
			}
		})
	}
}

// TestCustomStepsOIDC: a custom step that requests an OIDC token gives its
// mode's job id-token: write, and only that job.
func TestCustomStepsOIDC(t *testing.T) {
	s := newScenario(t)
	s.write("apps/web/overlays/prod/kustomization.yaml", "resources: [cm.yaml]\n")
	s.write("apps/web/overlays/prod/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
	files, err := Render(s.scan(s.config(`environments:
  prod:
    diffCredentials:
      steps:
        - uses: google-github-actions/auth@6fc4af4b145ae7821d527454aa9bd537d1f2dc5f
          with: {workload_identity_provider: projects/1/locations/global/workloadIdentityPools/p/providers/gh}
`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Path != ".github/workflows/kustomatrix-deploy.yml" {
			continue
		}
		var wf map[string]any
		must(t, yaml.Unmarshal(f.Content, &wf))
		jobs := wf["jobs"].(map[string]any)
		if !strings.Contains(dump(t, jobs["diff"].(map[string]any)["permissions"]), "id-token: write") ||
			strings.Contains(dump(t, jobs["apply"].(map[string]any)["permissions"]), "id-token") {
			t.Fatalf("id-token: diff %v, apply %v", jobs["diff"].(map[string]any)["permissions"], jobs["apply"].(map[string]any)["permissions"])
		}
		return
	}
	t.Fatal("no deploy workflow")
}

// TestTooManySecrets: past GitHub's 100 repository secrets, a warning
// points to environment secrets and OIDC.
func TestTooManySecrets(t *testing.T) {
	cfg := &Config{}
	cfg.Defaults()
	var envs []string
	for i := range 50 {
		envs = append(envs, fmt.Sprintf("env%02d", i))
	}
	warnings, err := cfg.checkSecrets(envs)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("50 environments, 100 secrets: %v %v", warnings, err)
	}
	warnings, err = cfg.checkSecrets(append(envs, "env50"))
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0].Message, "names 102 secrets; a repository stores at most 100") ||
		!strings.Contains(warnings[0].Message, "environment secrets") || warnings[0].Kind != KindSecrets {
		t.Fatalf("51 environments: %v %v", warnings, err)
	}
}

// TestModesNeverShareCredentials renders every golden case and the
// example, and checks the shape the security rules need: the diff job of
// the reusable workflow reads no apply secret and assumes no apply role;
// the apply job runs in a GitHub environment; the caller passes each
// secret only in its mode; id-token is asked only by a job that assumes a
// role in its mode.
func TestModesNeverShareCredentials(t *testing.T) {
	s := newScenario(t)
	for _, env := range []string{"dev", "prod", "qa"} {
		s.write("apps/web/"+env+"/kustomization.yaml", "resources: [cm.yaml]\n")
		s.write("apps/web/"+env+"/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
	}
	r := s.scan(s.config(`environments:
  prod:
    credentials: {awsEks: {roleArn: arn:aws:iam::1:role/deploy, region: eu-west-1, clusterName: c}}
    diffCredentials: {kubeconfigSecret: PROD_READ}
  qa:
    diffCredentials: {none: true}
`))
	files, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	var deploy, caller map[string]any
	for _, f := range files {
		switch f.Path {
		case ".github/workflows/kustomatrix-deploy.yml":
			must(t, yaml.Unmarshal(f.Content, &deploy))
		case ".github/workflows/kustomatrix.yml":
			must(t, yaml.Unmarshal(f.Content, &caller))
		}
	}
	jobs := deploy["jobs"].(map[string]any)
	diffJob, applyJob := dump(t, jobs["diff"]), dump(t, jobs["apply"])
	for _, apply := range []string{"KUBECONFIG_DEV}", "KUBECONFIG_QA}", "KUBECONFIG_DEV ", "KUBECONFIG_QA ", "role/deploy"} {
		if strings.Contains(diffJob, apply) {
			t.Errorf("the diff job holds apply credential %q:\n%s", apply, diffJob)
		}
	}
	for _, d := range []string{"_DIFF", "PROD_READ"} {
		if strings.Contains(applyJob, d) {
			t.Errorf("the apply job holds diff credential %q", d)
		}
	}
	if strings.Contains(diffJob, "id-token") || !strings.Contains(applyJob, "id-token: write") {
		t.Errorf("id-token: want only on the apply job (prod assumes a role to apply, none to diff)")
	}
	if jobs["apply"].(map[string]any)["environment"] != "${{ matrix.target.githubEnvironment }}" || jobs["diff"].(map[string]any)["environment"] != nil {
		t.Errorf("environment: apply %v, diff %v", jobs["apply"].(map[string]any)["environment"], jobs["diff"].(map[string]any)["environment"])
	}
	if strings.Contains(diffJob, "KUBECONFIG_QA_DIFF") {
		t.Errorf("qa diffs with none, yet its diff secret is read")
	}
	svc := caller["jobs"].(map[string]any)["deploy-web"].(map[string]any)["secrets"].(map[string]any)
	want := map[string]string{
		"KUBECONFIG_DEV":      "${{ needs.plan.outputs.mode == 'apply' && secrets.KUBECONFIG_DEV || '' }}",
		"KUBECONFIG_QA":       "${{ needs.plan.outputs.mode == 'apply' && secrets.KUBECONFIG_QA || '' }}",
		"KUBECONFIG_DEV_DIFF": "${{ needs.plan.outputs.mode == 'diff' && secrets.KUBECONFIG_DEV_DIFF || '' }}",
		"PROD_READ":           "${{ needs.plan.outputs.mode == 'diff' && secrets.PROD_READ || '' }}",
	}
	if fmt.Sprint(svc) != fmt.Sprint(want) {
		t.Errorf("secrets passed to the service job:\n got %v\nwant %v", svc, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func dump(t *testing.T, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	must(t, err)
	return string(b)
}

// TestTooManySecretsWarnsOnScan: the warning reaches the scan's
// diagnostics, which generate and check print.
func TestTooManySecretsWarnsOnScan(t *testing.T) {
	s := newScenario(t)
	for i := range 51 {
		env := fmt.Sprintf("env%02d", i)
		s.write("apps/web/overlays/"+env+"/kustomization.yaml", "resources: [cm.yaml]\n")
		s.write("apps/web/overlays/"+env+"/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
	}
	r := s.scan(s.config(""))
	for _, d := range r.Diagnostics {
		if d.Kind == KindSecrets && strings.Contains(d.Message, "names 102 secrets") {
			return
		}
	}
	t.Fatalf("no [%s] diagnostic: %v", KindSecrets, r.Diagnostics)
}

// TestDiscoveredEnvironmentNames: an environment taken from a directory
// name is held to the rule of configured ones: it names a GitHub
// environment and secrets.
func TestDiscoveredEnvironmentNames(t *testing.T) {
	for _, env := range []string{"pr'od", "prod|x", "*", "prod<!--", "`x`"} {
		s := newDiskScenario(t)
		s.write("apps/web/overlays/"+env+"/kustomization.yaml", "resources: [cm.yaml]\n")
		s.write("apps/web/overlays/"+env+"/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
		_, err := s.scanErr(s.config(""))
		if err == nil || !strings.Contains(err.Error(), "must match") || !strings.Contains(err.Error(), "names a GitHub environment") {
			t.Errorf("environment %q: %v", env, err)
		}
	}
}
