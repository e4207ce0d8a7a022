#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need
# (Debian packages, pinned Go tools, a cached kube-apiserver and kubectl),
# then runs go test ./... . Extra arguments go to go test (e.g. -short to
# skip the end-to-end tier, -run X).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v shellcheck >/dev/null || need_apt+=(shellcheck)
command -v pre-commit >/dev/null || need_apt+=(pre-commit)
command -v etcd >/dev/null || need_apt+=(etcd-server)
command -v git >/dev/null || need_apt+=(git)
# curl: the root action downloads the release and kubectl (hack/release/install.sh).
command -v curl >/dev/null || need_apt+=(curl)
if ((${#need_apt[@]})); then
  echo "hack/test.sh: installing Debian packages: ${need_apt[*]}"
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

gobin="$(go env GOPATH)/bin"
export PATH="$gobin:$PATH"
# nektos/act runs the generated workflows in the e2e tier; v0.2.89 is the
# only version the module proxy serves.
if ! act --version 2>/dev/null | grep -q '0\.2\.89'; then
  echo "hack/test.sh: installing nektos/act v0.2.89"
  go install github.com/nektos/act@v0.2.89
fi
short=0
for a in "$@"; do [ "$a" = -short ] && short=1; done
if [ "$short" = 1 ]; then
  echo "hack/test.sh: -short: the end-to-end tier (act + kube-apiserver) is skipped"
else
  bash hack/build-kube.sh
fi

go test -count=1 "$@" ./...
