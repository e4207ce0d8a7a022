#!/usr/bin/env bash
# Validates rendered manifests read from stdin with kubeconform, if installed.
# Usage: kubectl kustomize apps/cart/overlays/prod | scripts/ci/kubeconform.sh
set -euo pipefail

if ! command -v kubeconform >/dev/null 2>&1; then
  echo "kubeconform not installed; skipping validation" >&2
  cat >/dev/null
  exit 0
fi

exec kubeconform -strict -summary -kubernetes-version "${KUBERNETES_VERSION:-1.30.0}" -
