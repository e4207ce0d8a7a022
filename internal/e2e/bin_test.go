package e2e

import (
	"os"
	"sync"
	"testing"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if theRelease != nil {
		os.RemoveAll(theRelease.dir)
	}
	if binPath != "" {
		os.RemoveAll(binPath[:len(binPath)-len("/kustomatrix")])
	}
	os.Exit(code)
}
