#!/usr/bin/env bash
# The benchmarks behind BENCHMARKS.md: kustomatrix on synthetic monorepos of
# 100, 1,000 and 10,000 services (x dev/staging/prod), beside the two
# reference rows (reading every file; kustomize build of every root).
#
#   bash hack/bench.sh [OUTPUT]     # default OUTPUT: bench.txt (appended to)
#   COUNT=5 bash hack/bench.sh      # repetitions of each benchmark (default 3)
#
# Summarise with benchstat (go install golang.org/x/perf/cmd/benchstat@latest):
#   benchstat bench.txt
#
# The repositories (712 MB and 112,000 files at 10,000 services) are written
# once into $KUSTOMATRIX_SYNTH_DIR (a temporary directory removed at the end
# unless you set it yourself) and shared by the go test runs below. Each
# size gets its own run, so that its iterations fit its cost.
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-bench.txt}"
count="${COUNT:-3}"
if [ -z "${KUSTOMATRIX_SYNTH_DIR:-}" ]; then
  KUSTOMATRIX_SYNTH_DIR="$(mktemp -d -t kustomatrix-synth-XXXXXX)"
  trap 'rm -rf "$KUSTOMATRIX_SYNTH_DIR"' EXIT
fi
export KUSTOMATRIX_SYNTH_DIR

{
  echo "# $(date -u +%FT%TZ) $(go version) nproc=$(nproc) cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "# commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
} | tee -a "$out"

bench() { # SIZES BENCHTIME PATTERN
  KUSTOMATRIX_BENCH_SIZES="$1" go test -run '^$' -bench "$3" -benchtime "$2" -count "$count" -timeout 3h ./generator | tee -a "$out"
}

# Everything but the naive builds, size by size.
all='^Benchmark(Scan|Render|CheckInProcess|CheckProcess|Affected|AffectedProcess|AffectedGitProcess|FloorRead|FloorFindCat)$'
bench 100 20x "$all"
bench 1000 10x "$all"
bench 10000 3x "$all"
# kustomize build of every root: all 300 roots at 100 services, an even
# sample of 300 roots beyond (ns/op is then extrapolated linearly to every
# root; roots-built says how many were built).
bench 100,1000,10000 1x '^BenchmarkNaiveBuild$'
