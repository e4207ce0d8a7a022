// Command kubectl is the upstream kubectl, built at the same version as the
// kube-apiserver of this tools module (see ../go.mod) so end-to-end tests never
// depend on whatever kubectl a machine happens to have.
// It mirrors k8s.io/kubernetes/cmd/kubectl/kubectl.go.
//
// Build it with hack/build-kube.sh; tests find it through internal/kubetest.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"

	// Import to initialize client auth plugins.
	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		// Pretty-print the error and exit with an error.
		util.CheckErr(err)
	}
}
