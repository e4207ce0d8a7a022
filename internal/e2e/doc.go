// Package e2e holds the end-to-end tier: the generated pipeline run for real
// by nektos/act against a real kube-apiserver, and the pre-commit hooks run
// by Debian's pre-commit. It has only tests; `go test -short` skips it,
// saying so.
package e2e
