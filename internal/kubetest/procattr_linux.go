package kubetest

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel kill the server when the test process dies
// without running its cleanups (a -timeout panic, a crash, SIGKILL), so no
// etcd or kube-apiserver outlives the test binary.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
