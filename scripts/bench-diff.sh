#!/usr/bin/env bash
# Benchmark (not a test): `opsta-lint diff` against GNU `diff -u` on the same files, side by side in one run.
#
#   1. argo-cd's 1.9 MB render against a copy with 50 scattered edits (made here, deterministically: every
#      n-th line holding a plain `key: value` gets `-edited` appended to its value).
#   2. The real Catalyst renders 1.75.0 and 1.76.0.
#
# Each command runs RUNS times (default 21) after one warm-up; the median wall time is printed with the ratio.
# Wall time suffers when the machine is busy, so when valgrind is installed each command's instruction count
# (callgrind, one run, independent of load) is printed too, with its ratio.
# Needs ../shared/corpus (the shared corpus) and a release build (made here). Targets: within 3x of GNU diff
# and under 100 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-21}
CORPUS=${CORPUS:-../shared/corpus}
[ -d "$CORPUS" ] || { echo "bench-diff: $CORPUS not found (the shared corpus)" >&2; exit 2; }
command -v diff >/dev/null || { echo "bench-diff: GNU diff not found" >&2; exit 2; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
BIN=${OPSTA_LINT_BIN:-}
if [ -z "$BIN" ]; then
  cargo build --release --locked --quiet
  # Time a fresh copy, not the file the linker just wrote: that one runs a short command up to 0.4 ms slower
  # (docs/performance.md).
  cp "${CARGO_TARGET_DIR:-target}/release/opsta-lint" "$WORK/opsta-lint"
  BIN=$WORK/opsta-lint
fi

# 50 edits spread evenly over the lines that hold a plain `key: value` (values without quotes or indicators).
ARGO=$CORPUS/real-charts/argo-cd.yaml
awk -v want=50 '
  FNR == NR { if ($0 ~ /^ *[A-Za-z0-9_.-]+: [A-Za-z0-9][A-Za-z0-9.\/_-]*$/) n++; next }
  FNR == 1 { step = int(n / want); seen = 0; done = 0 }
  {
    if ($0 ~ /^ *[A-Za-z0-9_.-]+: [A-Za-z0-9][A-Za-z0-9.\/_-]*$/) {
      if (seen % step == step - 1 && done < want) { $0 = $0 "-edited"; done++ }
      seen++
    }
    print
  }' "$ARGO" "$ARGO" > "$WORK/argo-cd-edited.yaml"
EDITS=$(diff "$ARGO" "$WORK/argo-cd-edited.yaml" | grep -c '^>' || true)

# Median wall time of a command, in milliseconds with one decimal.
median_ms() {
  "$@" > /dev/null 2>&1 || true
  local times=() start end
  for _ in $(seq "$RUNS"); do
    start=$(date +%s%N)
    "$@" > /dev/null 2>&1 || true
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 } END { printf "%.1f", t[int((NR + 1) / 2)] / 1000 }'
}

# Instructions executed by a command (millions), or "-" without valgrind.
instructions() {
  command -v valgrind > /dev/null || { echo "-"; return; }
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 > /dev/null \
    | awk '/Collected :/ { printf "%.1f", $NF / 1e6 }' || true
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.1fx", a / b; else printf "-" }'; }

compare() {
  local label=$1 old=$2 new=$3
  local gnu ours ours_json gnu_i ours_i
  gnu=$(median_ms diff -u "$old" "$new")
  ours=$(median_ms "$BIN" diff --color=never "$old" "$new")
  ours_json=$(median_ms "$BIN" diff -o json "$old" "$new")
  gnu_i=$(instructions diff -u "$old" "$new")
  ours_i=$(instructions "$BIN" diff --color=never "$old" "$new")
  printf '%-30s %8s %11s %11s %7s %10s %10s %7s\n' "$label" "$gnu" "$ours" "$ours_json" "$(ratio "$ours" "$gnu")" \
    "$gnu_i" "$ours_i" "$(ratio "$ours_i" "$gnu_i")"
}

echo "opsta-lint diff vs GNU diff -u: median wall time of $RUNS runs (process start included)"
echo "argo-cd edits made: $EDITS lines; $(nproc) cores"
echo "(ms: median wall time; Minstr: million instructions, callgrind)"
printf '%-30s %8s %11s %11s %7s %10s %10s %7s\n' "case" "diff -u" "opsta text" "opsta json" "ratio" \
  "diff Minstr" "opsta Minstr" "ratio"
compare "argo-cd 1.9 MB, 50 edits" "$ARGO" "$WORK/argo-cd-edited.yaml"
compare "catalyst 1.75.0 -> 1.76.0" "$CORPUS/catalyst/rendered/v1.75.0.yaml" "$CORPUS/catalyst/rendered/v1.76.0.yaml"
compare "argo-cd against itself" "$ARGO" "$ARGO"
