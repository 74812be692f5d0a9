#!/usr/bin/env bash
# Start-up of two opsta-lint binaries side by side: `--version` and a small lint, each as instructions (callgrind,
# the dynamic loader's relocations included; load does not change it), page faults, CPU and wall time (`perf stat -r
# RUNS`, the two binaries interleaved so that both see the same load), and the relocations the loader applies.
#
#   scripts/bench-startup.sh OLD_BINARY NEW_BINARY      (RUNS: perf stat repetitions, default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-200}
# Fresh copies of both, in one folder: a binary the linker just wrote runs a short command up to 0.4 ms slower.
copies=$(mktemp -d)
trap 'rm -rf "$copies"' EXIT
cp "$1" "$copies/old"
cp "$2" "$copies/new"
old=$copies/old new=$copies/new
lint=(lint --product catalyst --chart-version 1.90.0 testdata/catalyst/good.values.yaml)
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | awk '/Collected/ { print $4 }'; }
stat() {
  perf stat -r "$runs" -x, -e duration_time,task-clock,page-faults "$@" 2>&1 >/dev/null |
    awk -F, '/duration_time/ { w = $1 / 1e6 } /task-clock/ { t = $1 } /page-faults/ { f = $1 }
      END { printf "%.3f ms wall, %.3f ms CPU, %d page faults", w, t, f }'
}
for b in old new; do
  bin=${!b}
  relocs=$(readelf -r "$bin" | grep -c 'R_X86_64_' || true)
  echo "$b: $(readelf -h "$bin" | awk '/Type:/ { print $2 }'), $relocs relocations"
  echo "$b --version: $(count "$bin" --version) instructions"
  echo "$b lint: $(count "$bin" "${lint[@]}") instructions"
done
for round in 1 2; do
  for b in old new; do
    bin=${!b}
    echo "round $round $b --version: $(stat "$bin" --version)"
    echo "round $round $b lint: $(stat "$bin" "${lint[@]}")"
  done
done
