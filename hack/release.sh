#!/usr/bin/env bash
# Builds the kustomatrix release binaries, reproducibly, and writes their
# SHA-256 sums with the digest of the source tree they were built from.
#
#   hack/release.sh [--check] [OS/ARCH ...]
#
# Platforms default to linux/amd64 linux/arm64 darwin/amd64 darwin/arm64.
# The version is hack/release/VERSION. Binaries go to dist/kustomatrix_<os>_<arch>,
# the sums to dist/SHA256SUMS (sha256sum format, plus a "source-tree" line:
# hack/release/tree-digest.sh of this tree) and, without --check and when
# all four platforms were built, to hack/release/SHA256SUMS, the file the
# release commit adds and the root action verifies downloads against. With
# --check, nothing in the tree is written: the build's sums must equal the
# committed ones for the platforms built (the release workflow's check builds
# all four), else exit 1.
#
# Same source tree + same Go version => same bytes: CGO_ENABLED=0,
# -trimpath, -buildvcs=false, no build id, fixed GOAMD64/GOARM64, and the
# Go version go.mod names (GOTOOLCHAIN=<it>: any go since 1.21 fetches it). The commit is not stamped: the
# release commit adds the sums after the build, and the bytes must not
# depend on it.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

check=0
platforms=()
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    -h | --help)
      sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    */*) platforms+=("$arg") ;;
    *)
      echo "hack/release.sh: unknown argument: $arg" >&2
      exit 2
      ;;
  esac
done
if ((${#platforms[@]} == 0)); then
  platforms=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64)
fi

version="$(tr -d '[:space:]' <hack/release/VERSION)"
if [[ ! "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "hack/release.sh: hack/release/VERSION holds '$version', want vX.Y.Z" >&2
  exit 2
fi
want_go="go$(sed -n 's/^go \([0-9.]*\)$/\1/p' go.mod)"
# Any go command since 1.21 runs exactly go.mod's release under
# GOTOOLCHAIN=<version> (fetched once through the module proxy when it is
# not the local one), so the bytes do not depend on the Go installed.
have_go="$(GOTOOLCHAIN="$want_go" go env GOVERSION 2>/dev/null || true)"
if [ "$have_go" != "$want_go" ]; then
  echo "hack/release.sh: go.mod names $want_go, and GOTOOLCHAIN=$want_go gives ${have_go:-nothing} (no network to fetch it?): the bytes would not reproduce" >&2
  exit 2
fi

tree="$(bash hack/release/tree-digest.sh "$root")"
if [ "$(git rev-parse --show-toplevel 2>/dev/null || true)" = "$root" ] &&
  [ -n "$(git status --porcelain -- . ':!:dist' ':!:hack/release/SHA256SUMS')" ]; then
  echo "hack/release.sh: warning: uncommitted changes; the sums match no commit until this tree is committed as it is" >&2
fi
dist="$root/dist"
rm -rf "$dist"
mkdir -p "$dist"
for p in "${platforms[@]}"; do
  os="${p%/*}"
  arch="${p#*/}"
  case "$p" in
    linux/amd64 | linux/arm64 | darwin/amd64 | darwin/arm64) ;;
    *)
      echo "hack/release.sh: unsupported platform $p" >&2
      exit 2
      ;;
  esac
  echo "hack/release.sh: building kustomatrix $version for $os/$arch"
  env -u GOFLAGS -u GOEXPERIMENT CGO_ENABLED=0 GOTOOLCHAIN="$want_go" GOOS="$os" GOARCH="$arch" GOAMD64=v1 GOARM64=v8.0 \
    go build -mod=readonly -trimpath -buildvcs=false \
    -ldflags "-s -w -buildid= -X main.version=$version" \
    -o "$dist/kustomatrix_${os}_${arch}" ./cmd/kustomatrix
done

hasher=(sha256sum)
command -v sha256sum >/dev/null 2>&1 || hasher=(shasum -a 256)
(
  cd "$dist"
  for f in kustomatrix_*; do
    "${hasher[@]}" "$f"
  done | LC_ALL=C sort -k2
  printf '%s  source-tree\n' "$tree"
) >"$dist/SHA256SUMS.tmp"
mv "$dist/SHA256SUMS.tmp" "$dist/SHA256SUMS"

committed="hack/release/SHA256SUMS"
all=0
[ "${#platforms[@]}" = 4 ] && all=1
if [ "$check" = 1 ]; then
  # Of the committed sums, the lines of what was built (and the tree).
  expected="$dist/SHA256SUMS.committed"
  if [ "$all" = 1 ]; then
    cp "$committed" "$expected"
  else
    awk 'NR == FNR { want[$2] = 1; next } want[$2]' "$dist/SHA256SUMS" "$committed" >"$expected"
  fi
  if ! diff -u "$expected" "$dist/SHA256SUMS"; then
    echo "hack/release.sh: the build does not reproduce $committed" >&2
    exit 1
  fi
  rm -f "$expected"
  echo "hack/release.sh: the build reproduces $committed"
elif [ "$all" = 1 ]; then
  cp "$dist/SHA256SUMS" "$committed"
  echo "hack/release.sh: wrote $committed (source tree $tree)"
else
  # A release lists every platform: a partial build never replaces it.
  echo "hack/release.sh: built ${platforms[*]} only: wrote $dist/SHA256SUMS, not $committed"
fi
cat "$dist/SHA256SUMS"
