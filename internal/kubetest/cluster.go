package kubetest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartTimeout bounds how long Start waits for etcd, then kube-apiserver's
// /readyz and namespace default: 60 s, or the Go duration in
// $KUBETEST_START_TIMEOUT (for slow or overloaded machines).
var StartTimeout = startTimeout()

func startTimeout() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("KUBETEST_START_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return 60 * time.Second
}

// StopTimeout is how long Stop waits after SIGTERM before it sends SIGKILL.
var StopTimeout = 15 * time.Second

// KubectlTimeout bounds each Kubectl call.
var KubectlTimeout = 2 * time.Minute

// Cluster is a running etcd + kube-apiserver on loopback.
type Cluster struct {
	// Kubeconfig is the path of a kubeconfig file (self-contained: CA data and
	// token inline) whose current context is the admin of this cluster, with
	// namespace default.
	Kubeconfig string
	// Server is the API server's URL, https://127.0.0.1:<port>.
	Server string
	// Token is a bearer token of a member of system:masters.
	Token string
	// KubectlPath is the cached kubectl matching the server's version.
	KubectlPath string
	// CAFile is the PEM file of the CA that signed the serving certificate.
	CAFile string
	// Dir is the temporary directory with the certificates, the etcd data,
	// and the logs (etcd.log, kube-apiserver.log); Stop removes it.
	Dir string
	// EtcdURL is etcd's client URL, http://127.0.0.1:<port>.
	EtcdURL string
	// EtcdPID and APIServerPID are the process IDs of etcd and kube-apiserver.
	EtcdPID, APIServerPID int

	etcd, apiserver *proc
	phases          []string // start-up milestones, for the log
	stopOnce        sync.Once
	stopErr         error
}

// Start starts etcd and kube-apiserver on free 127.0.0.1 ports with fresh
// certificates, waits until /readyz succeeds and namespace default exists,
// and registers a cleanup on t that stops both processes by PID (SIGTERM,
// then SIGKILL after StopTimeout) and removes the data directory.
//
// With -short it skips t ("e2e tier skipped with -short"). Otherwise a missing
// binary fails t with a message naming hack/build-kube.sh: the end-to-end tier
// never skips silently.
func Start(t testing.TB) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e tier skipped with -short")
	}
	apiserver, kubectl, etcd, err := Binaries()
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	var c *Cluster
	for attempt := 1; ; attempt++ {
		c, err = start(apiserver, kubectl, etcd)
		// A free port can be taken by another process between our probe and
		// the server's bind; try again with new ports.
		if err == nil || !errors.Is(err, errPortInUse) || attempt == 3 {
			break
		}
		t.Logf("kubetest: port collision, retrying: %v", err)
	}
	if err != nil {
		t.Fatalf("kubetest: starting the cluster: %v", err)
	}
	t.Cleanup(func() {
		var logf func(string, ...any)
		if t.Failed() {
			logf = t.Logf // the server logs may explain the failure
		}
		if err := c.stop(logf); err != nil {
			t.Error(err)
		}
	})
	t.Logf("kubetest: kube-apiserver %s ready at %s in %.1fs (%s; etcd pid %d, kube-apiserver pid %d, dir %s)",
		KubernetesVersion, c.Server, time.Since(begin).Seconds(), strings.Join(c.phases, ", "), c.EtcdPID, c.APIServerPID, c.Dir)
	return c
}

// Stop stops kube-apiserver then etcd (SIGTERM, then SIGKILL after
// StopTimeout) and removes Dir. It is idempotent, and Start registers it as a
// cleanup; call it only to stop a cluster before the test ends. It reports a
// process that had exited before Stop as an error, with its log.
func (c *Cluster) Stop() error { return c.stop(nil) }

// stop stops the processes; when logf is not nil it also logs their log tails.
func (c *Cluster) stop(logf func(string, ...any)) error {
	c.stopOnce.Do(func() {
		var errs []error
		for _, p := range []*proc{c.apiserver, c.etcd} {
			if p == nil {
				continue
			}
			if err := p.stop(StopTimeout); err != nil {
				errs = append(errs, err)
			} else if logf != nil {
				logf("kubetest: %s output ends with:\n%s", p.name, p.tail())
			}
		}
		if err := os.RemoveAll(c.Dir); err != nil {
			errs = append(errs, fmt.Errorf("kubetest: removing %s: %v", c.Dir, err))
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

// Kubectl runs the cached kubectl against the cluster (--kubeconfig is set, a
// private cache directory is used, KUBECTL_EXTERNAL_DIFF is unset) and returns
// its stdout, stderr and exit code. When kubectl cannot run or times out the
// code is -1 and stderr says why.
func (c *Cluster) Kubectl(args ...string) (stdout, stderr string, code int) {
	return c.KubectlStdin(nil, args...)
}

// KubectlStdin is Kubectl with stdin (for `-f -`).
func (c *Cluster) KubectlStdin(stdin io.Reader, args ...string) (stdout, stderr string, code int) {
	ctx, cancel := context.WithTimeout(context.Background(), KubectlTimeout)
	defer cancel()
	cmd := c.KubectlCmd(ctx, args...)
	cmd.Stdin = stdin
	var outBuf, errBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outBuf, &errBuf
	err := cmd.Run()
	code = 0
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		code = -1
		fmt.Fprintf(&errBuf, "\nkubetest: kubectl %s: timed out after %s", strings.Join(args, " "), KubectlTimeout)
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		code = -1
		fmt.Fprintf(&errBuf, "\nkubetest: running kubectl: %v", err)
	}
	return outBuf.String(), errBuf.String(), code
}

// KubectlCmd returns an unstarted command that runs the cached kubectl against
// the cluster, for callers that need their own stdin, streams or environment.
func (c *Cluster) KubectlCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.KubectlPath, append([]string{"--kubeconfig=" + c.Kubeconfig}, args...)...)
	cmd.Env = c.Env()
	return cmd
}

// Env returns the current environment adjusted to reach this cluster with a
// plain `kubectl`: KUBECONFIG set, the cached kubectl first on PATH, a private
// KUBECACHEDIR, and KUBECTL_EXTERNAL_DIFF removed (kubectl diff then runs
// `diff -u -N`).
func (c *Cluster) Env() []string {
	env := filterEnv(os.Environ(), "KUBECONFIG=", "KUBECACHEDIR=", "KUBECTL_EXTERNAL_DIFF=", "PATH=")
	return append(env,
		"KUBECONFIG="+c.Kubeconfig,
		"KUBECACHEDIR="+filepath.Join(c.Dir, "kubectl-cache"),
		"PATH="+filepath.Dir(c.KubectlPath)+string(os.PathListSeparator)+os.Getenv("PATH"),
	)
}

var errPortInUse = errors.New("address already in use")

// start makes one attempt at starting a cluster; on error nothing is left
// running and the directory is removed.
func start(apiserverBin, kubectlBin, etcdBin string) (_ *Cluster, err error) {
	sweepStaleDirs()
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, KubectlPath: kubectlBin, Token: randomToken()}
	defer func() {
		if err != nil {
			_ = c.stop(nil)
		}
	}()
	if err := writeOwner(dir); err != nil {
		return nil, err
	}
	pki, err := writePKI(dir, c.Token)
	if err != nil {
		return nil, fmt.Errorf("generating certificates: %v", err)
	}
	c.CAFile = pki.caCert
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdPort, peerPort, apiPort := ports[0], ports[1], ports[2]
	c.EtcdURL = "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	c.Server = "https://127.0.0.1:" + strconv.Itoa(apiPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)

	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	begin := time.Now()
	milestone := func(what string) {
		c.phases = append(c.phases, fmt.Sprintf("%s %.1fs", what, time.Since(begin).Seconds()))
	}

	etcdEnv := filterEnv(os.Environ(), "ETCD_")
	if a := runtime.GOARCH; a != "amd64" && a != "ppc64le" {
		etcdEnv = append(etcdEnv, "ETCD_UNSUPPORTED_ARCH="+a) // etcd 3.4 refuses other arches without it
	}
	c.etcd, err = startProc("etcd", etcdBin, filepath.Join(dir, "etcd.log"), etcdEnv,
		"--name=kubetest",
		"--data-dir="+filepath.Join(dir, "etcd-data"),
		"--listen-client-urls="+c.EtcdURL,
		"--advertise-client-urls="+c.EtcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=kubetest="+peerURL,
		"--logger=zap",
		"--log-outputs=stderr",
	)
	if err != nil {
		return nil, err
	}
	c.EtcdPID = c.etcd.cmd.Process.Pid
	plain := &http.Client{Timeout: 2 * time.Second}
	if err := waitFor(ctx, []*proc{c.etcd}, "etcd /health", func() error {
		return get(plain, c.EtcdURL+"/health", "", `"health":"true"`)
	}); err != nil {
		return nil, err
	}
	milestone("etcd")

	c.apiserver, err = startProc("kube-apiserver", apiserverBin, filepath.Join(dir, "kube-apiserver.log"),
		filterEnv(os.Environ(), "KUBECONFIG="),
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(apiPort),
		"--etcd-servers="+c.EtcdURL,
		"--cert-dir="+filepath.Join(dir, "apiserver-certs"), // unused with --tls-cert-file; keeps it off /var/run
		"--token-auth-file="+pki.tokenFile,
		"--client-ca-file="+pki.caCert,
		"--tls-cert-file="+pki.servingCert,
		"--tls-private-key-file="+pki.servingKey,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+pki.saPub,
		"--service-account-signing-key-file="+pki.saKey,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--endpoint-reconciler-type=none",
	)
	if err != nil {
		return nil, err
	}
	c.APIServerPID = c.apiserver.cmd.Process.Pid
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pki.caPEM)
	secure := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true},
	}
	both := []*proc{c.etcd, c.apiserver}
	if err := waitFor(ctx, both, "kube-apiserver /readyz", func() error {
		return get(secure, c.Server+"/readyz", c.Token, "ok")
	}); err != nil {
		return nil, err
	}
	milestone("readyz")
	if err := waitFor(ctx, both, "namespace default", func() error {
		return get(secure, c.Server+"/api/v1/namespaces/default", c.Token, `"name":"default"`)
	}); err != nil {
		return nil, err
	}
	milestone("namespace default")

	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, kubeconfig(c.Server, pki.caPEM, c.Token), 0o600); err != nil {
		return nil, err
	}
	return c, nil
}

func kubeconfig(server string, caPEM []byte, token string) []byte {
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: kubetest
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: kubetest
  context:
    cluster: kubetest
    user: admin
    namespace: default
current-context: kubetest
`, server, base64.StdEncoding.EncodeToString(caPEM), token)
}

// freePorts returns n distinct free TCP ports on 127.0.0.1 (held open
// together while probing, so they differ).
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func get(client *http.Client, url, token, want string) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, summarize(string(body)))
	}
	return nil
}

// waitFor polls check until it succeeds, ctx ends, or a process exits.
func waitFor(ctx context.Context, procs []*proc, what string, check func() error) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		for _, p := range procs {
			select {
			case <-p.done:
				return p.failure(fmt.Sprintf("exited (%v) while waiting for %s", p.waitErr, what))
			default:
			}
		}
		if last = check(); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			var msgs []string
			for _, p := range procs {
				msgs = append(msgs, p.failure("").Error())
			}
			return fmt.Errorf("timed out after %s waiting for %s (last error: %v)\n%s",
				StartTimeout, what, last, strings.Join(msgs, "\n"))
		case <-tick.C:
		}
	}
}

// proc is a started server process whose output goes to a log file.
type proc struct {
	name, logPath string
	cmd           *exec.Cmd
	logFile       *os.File
	done          chan struct{} // closed when the process has exited and been reaped
	waitErr       error         // valid once done is closed
}

func startProc(name, bin, logPath string, env []string, args ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %v", name, err)
	}
	p := &proc{name: name, logPath: logPath, cmd: cmd, logFile: f, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop sends SIGTERM, waits up to grace, then SIGKILL. It returns an error
// (with the log tail) if the process had already exited.
func (p *proc) stop(grace time.Duration) error {
	defer p.logFile.Close()
	select {
	case <-p.done:
		return p.failure(fmt.Sprintf("exited (%v) before the end of the test", p.waitErr))
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return nil
}

// failure describes the process with the tail of its log; a log that reports
// a port collision makes the error match errPortInUse.
func (p *proc) failure(msg string) error {
	tail := p.tail()
	if msg == "" {
		msg = "is still running"
	}
	err := fmt.Errorf("%s (pid %d) %s; its output ends with:\n%s", p.name, p.cmd.Process.Pid, msg, tail)
	if strings.Contains(tail, "address already in use") {
		return fmt.Errorf("%w: %w", errPortInUse, err)
	}
	return err
}

func (p *proc) tail() string {
	const max = 6 << 10
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(data) > max {
		data = data[len(data)-max:]
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return "\t" + strings.Join(lines, "\n\t")
}

// summarize shortens a response body: the failed checks of a /readyz
// report, else its first lines.
func summarize(body string) string {
	var failed []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "[-]") {
			failed = append(failed, l)
		}
	}
	if len(failed) > 0 {
		return strings.Join(failed, " | ")
	}
	lines := strings.SplitN(strings.TrimSpace(body), "\n", 6)
	if len(lines) > 5 {
		lines = lines[:5]
	}
	return strings.Join(lines, " | ")
}

// filterEnv returns env without the variables whose "NAME=" starts with any
// of prefixes.
func filterEnv(env []string, prefixes ...string) []string {
	out := make([]string, 0, len(env))
next:
	for _, kv := range env {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}
