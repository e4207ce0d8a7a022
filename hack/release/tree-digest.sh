#!/usr/bin/env bash
# Prints the SHA-256 digest of a kustomatrix source tree: the question "is
# this tree the one a release was built from?" asked without git.
#
#   hack/release/tree-digest.sh [DIR]     (DIR defaults to this tree)
#
# The digest covers every regular file of DIR except .git/, dist/ (build
# output) and hack/release/SHA256SUMS (the file that records the digest),
# as the SHA-256 of the `sha256sum` lines of those files ("<hex>  ./<path>"),
# sorted bytewise by path. Inside a git work tree whose top is DIR, the
# files are the tracked ones (so ignored build junk of a developer's tree
# does not count; a pinned action's tree, a tarball of the commit, holds
# exactly the tracked files). A symbolic link is refused: the tree has
# none, and the digest would not cover its target.
#
# The root action (action.yml) runs this on its own tree; hack/release.sh
# writes it into hack/release/SHA256SUMS; internal/release mirrors it in Go.
set -euo pipefail

dir="${1:-$(dirname "$0")/../..}"
cd "$dir"

hasher=(sha256sum)
command -v sha256sum >/dev/null 2>&1 || hasher=(shasum -a 256)

top=""
if command -v git >/dev/null 2>&1; then
  top="$(git rev-parse --show-toplevel 2>/dev/null || true)"
fi
list() {
  if [ -n "$top" ] && [ "$top" -ef . ]; then
    if git ls-files -s | awk '$1 == "120000" { found = 1 } END { exit !found }'; then
      echo "tree-digest: the tree holds a symbolic link" >&2
      return 1
    fi
    git ls-files -z -- . ':!:dist/**' ':!:hack/release/SHA256SUMS' | while IFS= read -r -d '' f; do
      printf './%s\0' "$f"
    done
  else
    if [ -n "$(find . \( -path ./.git -o -path ./dist \) -prune -o -type l -print)" ]; then
      echo "tree-digest: the tree holds a symbolic link" >&2
      return 1
    fi
    find . \( -path ./.git -o -path ./dist -o -path ./hack/release/SHA256SUMS \) -prune -o -type f -print0
  fi
}

files="$(mktemp)"
trap 'rm -f "$files"' EXIT
list | LC_ALL=C sort -z >"$files"
if [ ! -s "$files" ]; then
  echo "tree-digest: no files in $dir" >&2
  exit 1
fi
xargs -0 "${hasher[@]}" <"$files" | "${hasher[@]}" | cut -d' ' -f1
