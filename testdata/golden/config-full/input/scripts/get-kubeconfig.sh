#!/usr/bin/env bash
# Writes a kubeconfig for the cluster named in $CLUSTER to $KUBECONFIG (or
# ~/.kube/config). A stand-in for an organisation's own credential helper.
set -euo pipefail
: "${CLUSTER:?set CLUSTER to the cluster name}"
out="${KUBECONFIG:-$HOME/.kube/config}"
mkdir -p "$(dirname "$out")"
cat >"$out" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: ${CLUSTER}
    cluster:
      server: https://${CLUSTER}.k8s.example.com
contexts:
  - name: ${CLUSTER}
    context:
      cluster: ${CLUSTER}
      user: ci
current-context: ${CLUSTER}
users:
  - name: ci
    user:
      tokenFile: /var/run/secrets/ci/token
KUBECONFIG
echo "wrote kubeconfig for ${CLUSTER} to ${out}"
