package generator

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// A synthetic manifest repository for the benchmarks: n services, each a
// base and dev/staging/prod overlays, on one shared base, every tenth
// service with a shared component, and directories kustomize never reads
// (terraform/, docs/). Its shape is that of testdata/example, scaled.
//
//	bases/common/                      every service base uses it
//	components/monitoring/             kind: Component, every 10th service
//	apps/svcNNNN/base/                 namePrefix, the common base, a Deployment and a Service
//	apps/svcNNNN/overlays/dev/         namespace, images (+ the component)
//	apps/svcNNNN/overlays/staging/     namespace, replicas, configMapGenerator with a file
//	apps/svcNNNN/overlays/prod/        namespace, images, a patches file
//	terraform/, docs/                  not Kubernetes
//
// Every root builds with kustomize (BenchmarkNaiveBuild checks it).

// synthService is the name of service i.
func synthService(i int) string { return fmt.Sprintf("svc%04d", i) }

// synthMonitored reports whether service i uses components/monitoring.
func synthMonitored(i int) bool { return i%10 == 0 }

// synthFiles returns every file of the synthetic repository of n services,
// keyed by slash-separated path.
func synthFiles(n int) map[string]string {
	files := map[string]string{
		"bases/common/kustomization.yaml":          synthCommonKust,
		"bases/common/serviceaccount.yaml":         synthServiceAccount,
		"bases/common/networkpolicy.yaml":          synthNetworkPolicy,
		"components/monitoring/kustomization.yaml": synthMonitoringKust,
		"components/monitoring/scrape.yaml":        synthScrapePatch,
		"terraform/main.tf":                        synthTerraform,
		"terraform/variables.tf":                   "variable \"region\" {\n  default = \"eu-west-1\"\n}\n",
		"terraform/modules/cluster/main.tf":        synthTerraform,
		"docs/README.md":                           "# Platform manifests\n\nOne directory per service under apps/.\n",
		"docs/runbooks/deploy.md":                  "# Deploying\n\nMerge to main; the pipeline applies what changed.\n",
	}
	for i := 0; i < n; i++ {
		s := synthService(i)
		b := "apps/" + s + "/"
		files[b+"base/kustomization.yaml"] = fmt.Sprintf(synthBaseKust, s)
		files[b+"base/deployment.yaml"] = fmt.Sprintf(synthDeployment, s)
		files[b+"base/service.yaml"] = fmt.Sprintf(synthServiceYAML, s)
		for _, env := range []string{"dev", "staging", "prod"} {
			o := b + "overlays/" + env + "/"
			files[o+"namespace.yaml"] = fmt.Sprintf(synthNamespace, s, env)
			files[o+"kustomization.yaml"] = synthOverlayKust(s, env, synthMonitored(i))
		}
		files[b+"overlays/staging/config/app.properties"] = fmt.Sprintf("service=%s\nlog.level=info\ncache.ttl=30s\n", s)
		files[b+"overlays/prod/replicas.yaml"] = fmt.Sprintf(synthReplicas, s)
		if i%10 == 0 {
			files["docs/services/"+s+".md"] = fmt.Sprintf("# %s\n\nOwned by team %d.\n", s, i%17)
			files["terraform/services/"+s+".tf"] = fmt.Sprintf("module %q {\n  source = \"../modules/cluster\"\n}\n", s)
		}
	}
	return files
}

func synthOverlayKust(s, env string, monitored bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\nnamespace: %s-%s\n\nresources:\n  - namespace.yaml\n  - ../../base\n", s, env)
	if monitored {
		b.WriteString("\ncomponents:\n  - ../../../../components/monitoring\n")
	}
	switch env {
	case "dev":
		fmt.Fprintf(&b, "\nimages:\n  - name: registry.example.com/%s\n    newTag: main\n", s)
	case "staging":
		fmt.Fprintf(&b, "\nreplicas:\n  - name: %s-api\n    count: 2\n\nconfigMapGenerator:\n  - name: settings\n    files:\n      - config/app.properties\n", s)
	case "prod":
		fmt.Fprintf(&b, "\nimages:\n  - name: registry.example.com/%s\n    newTag: 1.4.2\n\npatches:\n  - path: replicas.yaml\n", s)
	}
	return b.String()
}

const synthCommonKust = `# Shared by every service base; each base renames it with its namePrefix.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

resources:
  - serviceaccount.yaml
  - networkpolicy.yaml

configMapGenerator:
  - name: defaults
    literals:
      - HTTP_PORT=8080
      - LOG_FORMAT=json

labels:
  - pairs:
      platform.example.com/tier: web
`

const synthServiceAccount = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
`

const synthNetworkPolicy = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
spec:
  podSelector: {}
  policyTypes: [Ingress]
`

const synthMonitoringKust = `apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component

patches:
  - path: scrape.yaml
    target:
      kind: Deployment
`

const synthScrapePatch = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: any
spec:
  template:
    metadata:
      annotations:
        prometheus.io/scrape: "true"
`

const synthTerraform = `terraform {
  required_version = ">= 1.6"
}

resource "null_resource" "cluster" {}
`

const synthBaseKust = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

namePrefix: %[1]s-

resources:
  - ../../../bases/common
  - deployment.yaml
  - service.yaml

labels:
  - pairs:
      app.kubernetes.io/name: %[1]s
    includeSelectors: true
`

const synthDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 1
  template:
    spec:
      serviceAccountName: app
      containers:
        - name: api
          image: registry.example.com/%s:latest
          ports:
            - containerPort: 8080
`

const synthServiceYAML = `apiVersion: v1
kind: Service
metadata:
  name: api
spec:
  ports:
    - port: 80
      targetPort: 8080
  # %s
`

const synthNamespace = `apiVersion: v1
kind: Namespace
metadata:
  name: %s-%s
`

const synthReplicas = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s-api
spec:
  replicas: 3
`

// writeSynthRepo writes the repository of n services under dir.
func writeSynthRepo(dir string, n int) error {
	files := synthFiles(n)
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	dirs := map[string]bool{}
	for _, p := range paths {
		dirs[filepath.Dir(filepath.Join(dir, filepath.FromSlash(p)))] = true
	}
	for d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// Writing 130,000 small files is I/O bound: a few writers help.
	work := make(chan string)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for w := 0; w < 4*runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(p)), []byte(files[p]), 0o644); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for _, p := range paths {
		work <- p
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// synthCache holds the repositories written in this process, by size. Set
// KUSTOMATRIX_SYNTH_DIR to keep them between runs (a repository is reused
// when its completion marker is there).
var synthCache struct {
	sync.Mutex
	root string
	dirs map[int]string
}

// synthRepo returns the directory of the synthetic repository of n services,
// writing it on first use, with its generated pipeline committed when it
// renders (so check finds it up to date).
func synthRepo(tb testing.TB, n int) string {
	tb.Helper()
	synthCache.Lock()
	defer synthCache.Unlock()
	if d, ok := synthCache.dirs[n]; ok {
		return d
	}
	if synthCache.root == "" {
		root := os.Getenv("KUSTOMATRIX_SYNTH_DIR")
		if root == "" {
			var err error
			if root, err = os.MkdirTemp("", "kustomatrix-synth-"); err != nil {
				tb.Fatal(err)
			}
			tempRoots = append(tempRoots, root)
		}
		synthCache.root = root
		synthCache.dirs = map[int]string{}
	}
	dir := filepath.Join(synthCache.root, fmt.Sprintf("services-%d", n))
	marker := filepath.Join(synthCache.root, fmt.Sprintf(".complete-%d", n))
	if _, err := os.Stat(marker); err != nil {
		if err := os.RemoveAll(dir); err != nil {
			tb.Fatal(err)
		}
		if err := writeSynthRepo(dir, n); err != nil {
			tb.Fatalf("writing the synthetic repository of %d services: %v", n, err)
		}
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	// Always regenerated: a repository kept from an earlier run may hold the
	// pipeline of an earlier kustomatrix.
	if err := generateInto(dir); err != nil {
		tb.Logf("%d services: no generated pipeline (check cannot be up to date): %v", n, err)
		if err := os.RemoveAll(filepath.Join(dir, ".github")); err != nil {
			tb.Fatal(err)
		}
	}
	synthCache.dirs[n] = dir
	return dir
}

// tempRoots are removed when the test binary exits (bench_test.go's TestMain).
var tempRoots []string

func TestSynthRepoIsWellFormed(t *testing.T) {
	dir := t.TempDir()
	if err := writeSynthRepo(dir, 12); err != nil {
		t.Fatal(err)
	}
	repo := scanDir(t, dir)
	if got, want := len(repo.Targets), 12*3; got != want {
		t.Fatalf("%d targets, want %d", got, want)
	}
	if len(repo.Diagnostics) > 0 {
		t.Fatalf("diagnostics on the synthetic repository: %v", repo.Diagnostics)
	}
	want := []string{
		"apps/svc0010/base/deployment.yaml", "apps/svc0010/base/kustomization.yaml", "apps/svc0010/base/service.yaml",
		"apps/svc0010/overlays/prod/kustomization.yaml", "apps/svc0010/overlays/prod/namespace.yaml", "apps/svc0010/overlays/prod/replicas.yaml",
		"bases/common/kustomization.yaml", "bases/common/networkpolicy.yaml", "bases/common/serviceaccount.yaml",
		"components/monitoring/kustomization.yaml", "components/monitoring/scrape.yaml",
	}
	for _, tg := range repo.Targets {
		if tg.Path == "apps/svc0010/overlays/prod" {
			if strings.Join(tg.Inputs, " ") != strings.Join(want, " ") {
				t.Fatalf("inputs of %s:\n got %q\nwant %q", tg.Path, tg.Inputs, want)
			}
			return
		}
	}
	t.Fatal("apps/svc0010/overlays/prod is not a target")
}
