package generator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LockFile is the name of the file whose lock serialises the runs of
// generate on one repository, in its git directory.
const LockFile = "kustomatrix.lock"

// LockPath is where the lock of the repository at dir lives: in the git
// directory of the work tree holding it (the .git directory, or the one a
// .git file names, as in a linked work tree or a submodule), never in the
// work tree, where it would show as a change; outside git (or when the
// git directory cannot be written), in the temporary directory, named
// after dir.
func LockPath(dir string) string {
	for cur := dir; ; {
		dotgit := filepath.Join(cur, ".git")
		if fi, err := os.Stat(dotgit); err == nil {
			if fi.IsDir() {
				return filepath.Join(dotgit, LockFile)
			}
			if data, err := os.ReadFile(dotgit); err == nil {
				if gd, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "gitdir: "); ok {
					if !filepath.IsAbs(gd) {
						gd = filepath.Join(cur, gd)
					}
					return filepath.Join(gd, LockFile)
				}
			}
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			break
		}
		cur = parent
	}
	return tempLockPath(dir)
}

// tempLockPath is the lock of dir in the temporary directory.
func tempLockPath(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return filepath.Join(os.TempDir(), "kustomatrix-"+hex.EncodeToString(sum[:8])+".lock")
}

// LockedError says another run held the lock for longer than the timeout.
type LockedError struct {
	Path    string        // the lock file
	Holder  string        // what the holder wrote into it: "pid N"
	Timeout time.Duration // how long Lock waited
}

func (e *LockedError) Error() string {
	holder := e.Holder
	if holder == "" {
		holder = "unknown"
	}
	return fmt.Sprintf("another kustomatrix generate (%s) holds the lock %s; gave up after %s (it is released when that run ends, however it ends)", holder, e.Path, e.Timeout)
}

// Lock takes the lock that serialises generate on the repository at dir:
// an advisory lock (flock) on LockPath(dir), which the kernel releases
// when the process ends, killed or not, so a crash never leaves it held.
// When another run holds it, waiting is called once with the lock file
// and what that run wrote into it ("pid N"), and Lock waits for up to timeout (0: not
// at all), then fails with a *LockedError. unlock releases it.
func Lock(dir string, timeout time.Duration, waiting func(path, holder string)) (unlock func(), err error) {
	p := LockPath(dir)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil && filepath.Dir(p) != os.TempDir() {
		// A git directory this user cannot write to (a shared, read-only
		// clone): runs of this user are still serialised.
		p = tempLockPath(dir)
		f, err = os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the lock %s: %w", p, err)
	}
	deadline := time.Now().Add(timeout)
	told := false
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", p, err)
		}
		if ok {
			break
		}
		holder := lockHolder(p)
		if time.Now().After(deadline) {
			f.Close()
			return nil, &LockedError{Path: p, Holder: holder, Timeout: timeout}
		}
		if !told && waiting != nil {
			waiting(p, holder)
			told = true
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Say who holds it, for the message of a run that waits.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(fmt.Sprintf("pid %d\n", os.Getpid())), 0)
	}
	return func() { unlockFile(f); f.Close() }, nil
}

func lockHolder(p string) string {
	data, _ := os.ReadFile(p)
	return strings.TrimSpace(string(data))
}
