// Command kustomatrix generates and maintains a per-service GitHub Actions
// pipeline for a Kustomize manifest repository. See the README.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
