package kubetest

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Each cluster directory records the PID of the test process that owns it.
// A test binary that dies without running its cleanups (a -timeout panic, a
// crash) leaves its directory behind (~120 MB: etcd preallocates its WAL);
// its servers die with it (see setProcAttr). Start removes such leftovers.
const (
	dirPrefix = "kubetest-"
	ownerFile = "owner.pid"
)

func writeOwner(dir string) error {
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
}

// sweepStaleDirs removes cluster directories in the temporary directory whose
// owning process is gone. It never touches a directory it cannot attribute
// to a dead process.
func sweepStaleDirs() {
	tmp := os.TempDir()
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), dirPrefix) {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // not ours, or still being created
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 || pid == os.Getpid() || !processGone(pid) {
			continue
		}
		if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < time.Minute {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

// processGone reports whether no process has the given PID. A process of
// another user (EPERM) counts as alive.
func processGone(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return true
	}
	err = p.Signal(syscall.Signal(0))
	return errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH)
}
