// Package generator is the kustomatrix library: it reads a Kustomize manifest
// repository through a filesys.FileSystem, discovers the deploy targets
// (kustomization roots), computes the set of local files each one depends on,
// and renders the GitHub Actions pipeline for them as an in-memory, sorted list
// of files.
//
// The package has no side effects beyond reading the file system it is given:
// no network, no global state, no writing. Writing (Write), comparing (Drift)
// and change detection (Affected) are separate small steps over the rendered
// result, so that `generate` and `check` are two consumers of one function.
package generator
