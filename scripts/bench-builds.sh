#!/usr/bin/env bash
# Benchmark (not a test): builds of opsta-lint side by side in one run, e.g. the static release artefact against a
# glibc build of the everyday release profile (docs/performance.md, "Install").
#
#   scripts/bench-builds.sh BINARY... [-- REPEATS]     (default 5 repeats)
#
# For each binary: `lint` of the bundled Catalyst example 200 times (a new process each time, as pre-commit runs it)
# and `postrender` of every render in ../shared/corpus concatenated (about 10 MB) once per repeat. Prints the median
# wall time of each job and its CPU time (user + system), and the binaries' sizes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bins=()
repeats=5
while [ $# -gt 0 ]; do
  case "$1" in --) repeats=$2; shift 2 ;; *) bins+=("$1"); shift ;; esac
done
[ ${#bins[@]} -gt 0 ] || { echo "usage: scripts/bench-builds.sh BINARY... [-- REPEATS]" >&2; exit 2; }
corpus=${OPSTA_CORPUS:-$root/../shared/corpus}
[ -d "$corpus" ] || { echo "no corpus at $corpus (set OPSTA_CORPUS)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for f in "$corpus"/real-charts/*.yaml "$corpus"/catalyst/rendered/*.yaml; do cat "$f"; echo; done > "$work/all.yaml"
"${bins[0]}" lock --from-manifest "$work/all.yaml" |
  awk '/digest: ""/ { n++; sub(/""/, sprintf("sha256:%064x", n)) } { print }' > "$work/lock.yaml"
values=$root/testdata/catalyst/good.values.yaml

lint200() { for _ in $(seq 200); do "$1" lint --product catalyst --chart-version 1.90.0 "$values" > /dev/null; done; }
postrender() { "$1" postrender --allow-unlocked --lock "$work/lock.yaml" < "$work/all.yaml" > /dev/null 2>&1; }

# median of the numbers on stdin
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

measure() { # job binary -> "wall_s cpu_s" medians
  local walls=() cpus=() t
  for _ in $(seq "$repeats"); do
    t=$( { /usr/bin/time -f '%e %U %S' bash -c "$(declare -f lint200 postrender); values='$values' work='$work'; $1 '$2'" ; } 2>&1 >/dev/null | tail -n 1)
    walls+=("$(echo "$t" | awk '{ print $1 }')")
    cpus+=("$(echo "$t" | awk '{ printf "%.2f", $2 + $3 }')")
  done
  echo "$(printf '%s\n' "${walls[@]}" | median) $(printf '%s\n' "${cpus[@]}" | median)"
}

printf '%-60s %10s %12s %12s %14s %14s\n' binary "size (MB)" "lint x200 s" "lint cpu s" "postrender s" "postrender cpu"
for bin in "${bins[@]}"; do
  read -r lw lc < <(measure lint200 "$bin")
  read -r pw pc < <(measure postrender "$bin")
  size=$(awk -v b="$(wc -c < "$bin")" 'BEGIN { printf "%.1f", b / 1048576 }')
  printf '%-60s %10s %12s %12s %14s %14s\n' "$bin" "$size" "$lw" "$lc" "$pw" "$pc"
done
echo "input: $(wc -c < "$work/all.yaml") bytes of renders; $repeats repeats; medians"
