//go:build !unix

package generator

import "os"

// tryLock does not lock where flock is missing (Windows): generate runs
// there are not serialised.
func tryLock(*os.File) (bool, error) { return true, nil }

func unlockFile(*os.File) {}
