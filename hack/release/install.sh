#!/usr/bin/env bash
# Puts a verified tool on the runner for the root action (action.yml):
#
#   hack/release/install.sh kustomatrix|kubectl
#
# kustomatrix: when this tree is the tree of a release (its digest,
# hack/release/tree-digest.sh, is the "source-tree" line of
# hack/release/SHA256SUMS) and a sum exists for the runner's OS/arch, the
# binary is a kustomatrix on PATH whose SHA-256 is that sum, or else
# kustomatrix_<os>_<arch> downloaded from $KUSTOMATRIX_RELEASE_URL (default
# https://github.com/kustomatrix/kustomatrix/releases/download/<version>/)
# and verified before it is made executable. Otherwise it prints why and
# leaves the "bin" output empty: the action builds from source.
#
# kubectl: a kubectl on PATH whose SHA-256 is the pin for the platform in
# hack/release/KUBECTL_SHA256SUMS, or else the pinned version
# (hack/release/KUBECTL_VERSION) downloaded from $KUSTOMATRIX_KUBECTL_URL
# (default https://dl.k8s.io/release) + /<version>/bin/<os>/<arch>/kubectl
# and verified.
#
# A download whose SHA-256 is not the pinned one fails the step
# (::error::), as does any failed transfer; nothing unverified is ever made
# executable or run. Only a release asset the host answers 404 for (a
# release tree whose assets are not uploaded yet: the release workflow runs
# after the release commit lands) falls back to the build from source, with
# a warning. The URLs may point anywhere: the bytes are checked against
# this tree.
set -euo pipefail

tool="${1:?usage: install.sh kustomatrix|kubectl}"
here="$(cd "$(dirname "$0")" && pwd)"
tree="$(cd "$here/../.." && pwd)"
bindir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/kustomatrix-bin"

hasher=(sha256sum)
command -v sha256sum >/dev/null 2>&1 || hasher=(shasum -a 256)
sum_of() { "${hasher[@]}" "$1" | cut -d' ' -f1; }

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) os="$(uname -s | tr '[:upper:]' '[:lower:]')" ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) arch="$(uname -m)" ;;
esac

# pinned FILE NAME prints the sum FILE records for NAME (empty if none).
pinned() { awk -v n="$2" '$2 == n && length($1) == 64 && $1 ~ /^[0-9a-f]+$/ { print $1; exit }' "$1"; }

output() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    echo "bin=$1" >>"$GITHUB_OUTPUT"
  else
    echo "bin=$1"
  fi
  if [ -n "${GITHUB_PATH:-}" ]; then
    dirname "$1" >>"$GITHUB_PATH"
  fi
}

# place PART WANT WHAT WHY moves PART, a temporary file in $bindir, to
# $bindir/$tool when its SHA-256 is WANT, executable; otherwise it removes
# it and fails the step, naming WHAT it holds and WHY it may differ. The
# marker of a source build made earlier in the job names that build's
# tree, not these bytes: it goes, so a later step never reuses them as
# that build.
place() {
  local part="$1" want="$2" what="$3" why="$4" got
  got="$(sum_of "$part")"
  if [ "$got" != "$want" ]; then
    rm -f "$part"
    echo "::error::$tool: $what has SHA-256 $got, the action's tree pins $want: refusing to run it ($why)"
    exit 1
  fi
  chmod 0755 "$part"
  rm -f "$bindir/$tool.tree"
  mv -f "$part" "$bindir/$tool"
  echo "$tool: verified SHA-256 $got"
}

# fetch URL WANT downloads URL to $bindir/$tool, verified against WANT,
# and sets published=1; when the host answers 404 (the asset is not
# published, yet) it leaves nothing behind and sets published=0. Any other
# failure, and bytes whose SHA-256 is not WANT, fail the step. (A status
# variable, not the return code: `if ! fetch` would switch off set -e
# inside it.)
fetch() {
  local url="$1" want="$2" part code
  mkdir -p "$bindir"
  part="$(mktemp "$bindir/.$tool.XXXXXX")"
  echo "$tool: downloading $url"
  # No -f: the status tells "not published" (404) from a failed transfer.
  if ! code="$(curl -sSL --retry 3 --connect-timeout 10 --max-time 300 -o "$part" -w '%{http_code}' "$url")"; then
    rm -f "$part"
    echo "::error::$tool: downloading $url failed; the action's tree pins its SHA-256 ($want), and nothing else is run"
    exit 1
  fi
  if [ "$code" = 404 ]; then
    rm -f "$part"
    published=0
    return 0
  fi
  if [ "$code" != 200 ]; then
    rm -f "$part"
    echo "::error::$tool: downloading $url: HTTP $code; the action's tree pins its SHA-256 ($want), and nothing else is run"
    exit 1
  fi
  place "$part" "$want" "$url" "tampered or truncated download"
  published=1
}

# adopt PATH WANT copies the verified binary at PATH (found on PATH) into
# $bindir, verifying the copy: only $bindir goes on PATH, never the whole
# directory it was found in, and later builds into $bindir never write
# through to it.
adopt() {
  local part
  if [ "$1" = "$bindir/$tool" ]; then
    return 0
  fi
  mkdir -p "$bindir"
  part="$(mktemp "$bindir/.$tool.XXXXXX")"
  cp "$1" "$part"
  place "$part" "$2" "the copy of $1" "changed while copied?"
}

# on_path WANT prints the tool on PATH when its SHA-256 is WANT.
on_path() {
  local p got
  p="$(command -v "$tool" 2>/dev/null || true)"
  [ -n "$p" ] || return 0
  got="$(sum_of "$p")"
  if [ "$got" = "$1" ]; then
    echo "$p"
  else
    echo "::notice::$tool: ignoring $p on PATH: its SHA-256 $got is not the pinned $1" >&2
  fi
}

# from_source says why there is no release binary, and reuses a build of
# this very tree made earlier in the job (the build step records its digest).
from_source() {
  echo "kustomatrix: $1: building from source"
  if [ -n "$actual" ] && [ -x "$bindir/kustomatrix" ] && [ -f "$bindir/kustomatrix.tree" ] &&
    [ "$(cat "$bindir/kustomatrix.tree")" = "$actual" ]; then
    echo "kustomatrix: reusing the build of this tree made earlier in the job"
    output "$bindir/kustomatrix"
  fi
  exit 0
}

case "$tool" in
  kustomatrix)
    sums="$tree/hack/release/SHA256SUMS"
    version="$(tr -d '[:space:]' <"$tree/hack/release/VERSION")"
    actual="$(bash "$here/tree-digest.sh" "$tree" || true)"
    if [ ! -f "$sums" ]; then
      from_source "no release sums in the action's tree (hack/release/SHA256SUMS)"
    fi
    recorded="$(pinned "$sums" source-tree)"
    if [ -z "$actual" ] || [ "$actual" != "$recorded" ]; then
      from_source "the action's tree (digest ${actual:-unknown}) is not the tree release $version was built from (${recorded:-none recorded})"
    fi
    asset="kustomatrix_${os}_${arch}"
    want="$(pinned "$sums" "$asset")"
    if [ -z "$want" ]; then
      from_source "release $version has no asset for $os/$arch"
    fi
    if p="$(on_path "$want")" && [ -n "$p" ]; then
      echo "kustomatrix: using $p (SHA-256 of release $version $asset)"
      adopt "$p" "$want"
      output "$bindir/kustomatrix"
      exit 0
    fi
    base="${KUSTOMATRIX_RELEASE_URL:-https://github.com/kustomatrix/kustomatrix/releases/download/$version/}"
    fetch "${base%/}/$asset" "$want"
    if [ "$published" = 0 ]; then
      # The pinned source is the same tree: building it is as safe, only slower.
      echo "::warning::kustomatrix: release $version has no $asset at ${base%/}/ (HTTP 404; not published yet?): building from source"
      from_source "release $version is not published"
    fi
    output "$bindir/kustomatrix"
    ;;
  kubectl)
    version="$(tr -d '[:space:]' <"$here/KUBECTL_VERSION")"
    want="$(pinned "$here/KUBECTL_SHA256SUMS" "kubectl_${os}_${arch}")"
    if [ -z "$want" ]; then
      echo "::error::kubectl: no pinned SHA-256 for $os/$arch in hack/release/KUBECTL_SHA256SUMS"
      exit 1
    fi
    if p="$(on_path "$want")" && [ -n "$p" ]; then
      echo "kubectl: using $p (SHA-256 of kubectl $version $os/$arch)"
      adopt "$p" "$want"
      output "$bindir/kubectl"
      exit 0
    fi
    base="${KUSTOMATRIX_KUBECTL_URL:-https://dl.k8s.io/release}"
    fetch "${base%/}/$version/bin/$os/$arch/kubectl" "$want"
    if [ "$published" = 0 ]; then
      echo "::error::kubectl: ${base%/}/$version/bin/$os/$arch/kubectl: HTTP 404"
      exit 1
    fi
    output "$bindir/kubectl"
    ;;
  *)
    echo "::error::install.sh: unknown tool $tool"
    exit 2
    ;;
esac
