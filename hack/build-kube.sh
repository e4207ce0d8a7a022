#!/usr/bin/env bash
# Builds the kube-apiserver and kubectl that the end-to-end tests use
# (internal/kubetest), from the separate tools module internal/tools, into a
# per-version cache directory:
#
#   ${KUSTOMATRIX_TOOLS_CACHE:-$HOME/.cache/kustomatrix-tools}/<version>/{kube-apiserver,kubectl}
#
# The version is the k8s.io/kubernetes requirement of internal/tools/go.mod.
# Idempotent: when both binaries exist and report that version, nothing is
# built. A cold build takes ~6 minutes on 2 cores and ~1.7 GB of RAM.
#
# Usage: hack/build-kube.sh [--force]
#   --force   rebuild even when the cached binaries are current
set -euo pipefail

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h | --help)
      sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "hack/build-kube.sh: unknown argument: $arg" >&2
      exit 2
      ;;
  esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/internal/tools"

version="$(sed -n 's/^[[:space:]]*k8s\.io\/kubernetes[[:space:]]\{1,\}\(v[0-9][^[:space:]]*\).*/\1/p' "$tools/go.mod" | head -n1)"
if [[ ! "$version" =~ ^v([0-9]+)\.([0-9]+)\.[0-9]+$ ]]; then
  echo "hack/build-kube.sh: cannot find the k8s.io/kubernetes version in $tools/go.mod (got '$version')" >&2
  exit 1
fi
major="${BASH_REMATCH[1]}"
minor="${BASH_REMATCH[2]}"

cache_root="${KUSTOMATRIX_TOOLS_CACHE:-$HOME/.cache/kustomatrix-tools}"
dir="$cache_root/$version"
apiserver="$dir/kube-apiserver"
kubectl="$dir/kubectl"

# current reports whether both cached binaries exist and print $version.
# (Outputs are captured first: `cmd | grep -q` under pipefail fails at random
# when grep exits before cmd has written everything.)
current() {
  [ -x "$apiserver" ] && [ -x "$kubectl" ] || return 1
  local out
  out="$("$apiserver" --version 2>/dev/null)" || return 1
  [[ $'\n'"$out"$'\n' == *$'\n'"Kubernetes $version"$'\n'* ]] || return 1
  out="$("$kubectl" version --client 2>/dev/null)" || return 1
  [[ $'\n'"$out"$'\n' == *$'\n'"Client Version: $version"$'\n'* ]] || return 1
}

report() {
  echo "kube-apiserver: $apiserver"
  echo "kubectl:        $kubectl"
}

if [ "$force" = 0 ] && current; then
  echo "hack/build-kube.sh: $version is cached in $dir"
  report
  exit 0
fi

mkdir -p "$dir"

# Serialise concurrent runs (two test jobs on one machine): the second waits,
# then finds the binaries current.
if command -v flock >/dev/null; then
  exec 9>"$dir/.lock"
  flock 9
  if [ "$force" = 0 ] && current; then
    echo "hack/build-kube.sh: $version is cached in $dir (built by a concurrent run)"
    report
    exit 0
  fi
fi

# The same variables upstream hack/lib/version.sh sets, for both the server
# (component-base) and the client (client-go) version packages. The build date
# is the module's publication time, so the build is reproducible.
build_date="$(cd "$tools" && GOWORK=off go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes)"
build_date="${build_date:-1970-01-01T00:00:00Z}"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$version"
  ldflags+=" -X $pkg.gitMajor=$major"
  ldflags+=" -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean"
  ldflags+=" -X $pkg.buildDate=$build_date"
done

echo "hack/build-kube.sh: building kube-apiserver and kubectl $version into $dir (~6 min cold)"
start=$(date +%s)
for cmd in kube-apiserver kubectl; do
  tmp="$dir/.$cmd.tmp.$$"
  trap 'rm -f "$tmp"' EXIT
  (
    cd "$tools"
    GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=readonly \
      go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$tmp" "./$cmd"
  )
  mv -f "$tmp" "$dir/$cmd" # atomic: a reader never sees a half-written binary
  trap - EXIT
done
echo "hack/build-kube.sh: built in $(($(date +%s) - start)) s"

if ! current; then
  echo "hack/build-kube.sh: the built binaries do not report $version:" >&2
  "$apiserver" --version >&2 || true
  "$kubectl" version --client >&2 || true
  exit 1
fi
report
