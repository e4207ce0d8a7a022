package render

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kustomatrix/kustomatrix/generator"
)

// ErrRemoteRefused is wrapped by the error of a build that names a remote
// reference kustomize.remoteResources does not allow.
var ErrRemoteRefused = errors.New("remote reference refused")

// policyFS checks every kustomization kustomize reads, before kustomize
// sees it, against kustomize.remoteResources. krusty has no hook for its
// HTTP fetches and git clones, but it reads each kustomization (its own
// and those of the bases it clones) through the file system it is given:
// a refused reference fails the build before any request is made.
type policyFS struct {
	filesys.FileSystem
	dir string // the repository, for paths in messages
	kz  generator.Kustomize
	// refused collects what was refused: kustomize takes a kustomization
	// it cannot read for a missing one, so the build's own error would not
	// say why.
	refused *refusals
}

type refusals struct {
	mu    sync.Mutex
	lines []string
	// plugins are the plugin configuration files the kustomizations read
	// so far name (absolute): their builtin plugins fetch what they name.
	plugins map[string]bool
}

// err is the refusal, if anything was refused.
func (r *refusals) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.lines) == 0 {
		return nil
	}
	return fmt.Errorf("%w:\n%s", ErrRemoteRefused, strings.Join(r.lines, "\n"))
}

var kustomizationNames = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		m[n] = true
	}
	return m
}()

// ReadFile implements filesys.FileSystem.
func (p policyFS) ReadFile(name string) ([]byte, error) {
	data, err := p.FileSystem.ReadFile(name)
	if err != nil {
		return data, err
	}
	shown := name
	if rel, err := filepath.Rel(p.dir, name); err == nil && !strings.HasPrefix(rel, "..") {
		shown = filepath.ToSlash(rel)
	}
	var ds []generator.Diagnostic
	r := p.refused
	if kustomizationNames[filepath.Base(name)] {
		ds = p.kz.RemoteProblems(shown, data)
		r.mu.Lock()
		for _, c := range generator.PluginConfigs(data) {
			if r.plugins == nil {
				r.plugins = map[string]bool{}
			}
			r.plugins[filepath.Join(filepath.Dir(name), filepath.FromSlash(c))] = true
		}
		r.mu.Unlock()
	} else {
		r.mu.Lock()
		plugin := r.plugins[filepath.Clean(name)]
		r.mu.Unlock()
		if plugin {
			ds = p.kz.PluginRemoteProblems(shown, data)
		}
	}
	if len(ds) == 0 {
		return data, nil
	}
	r.mu.Lock()
	for _, d := range ds {
		r.lines = append(r.lines, d.String())
	}
	r.mu.Unlock()
	return nil, fmt.Errorf("%w: %s", ErrRemoteRefused, ds[0])
}

var gitEnvOnce sync.Once

// restrictGit keeps the git kustomize runs for an allowed clone from
// reaching a local repository (a submodule with a file:// URL, say) or
// waiting on a credential prompt, and makes a stalled transfer fail. It sets
// the environment of this process, which the git children inherit: krusty
// gives no other way in.
func restrictGit() {
	gitEnvOnce.Do(func() {
		for k, v := range map[string]string{
			"GIT_ALLOW_PROTOCOL":       "https:ssh",
			"GIT_TERMINAL_PROMPT":      "0",
			"GIT_HTTP_LOW_SPEED_LIMIT": "1000",
			"GIT_HTTP_LOW_SPEED_TIME":  "30",
		} {
			os.Setenv(k, v)
		}
	})
}

// withTimeout runs build, giving up after d. krusty takes no context: a
// build past its deadline is left to finish in the background (git
// commands have kustomize's own timeout), and its result is dropped.
func withTimeout[T any](d time.Duration, target string, build func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := build()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-time.After(d):
		var zero T
		return zero, fmt.Errorf("kustomize build %s: fetching remote references took longer than %s (kustomize.remoteTimeout)", target, d)
	}
}
