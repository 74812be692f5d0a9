#!/usr/bin/env bash
# Benchmark (not a test): `opsta-lint postrender` against `kubectl kustomize` with an `images:` list, on the whole
# corpus concatenated (../shared/corpus/real-charts and catalyst/rendered), in one run. Both tools pin the same images
# to the same (fake) digests. Prints medians of wall time and peak RSS, throughput, and the ratios.
#
#   scripts/bench-postrender.sh [REPEATS]      (default 7; needs .tools/kubectl from scripts/install-tools.sh)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
repeats=${1:-7}
corpus=${OPSTA_CORPUS:-$root/../shared/corpus}
kubectl=${OPSTA_TOOLS:-$root/.tools}/kubectl
target=${CARGO_TARGET_DIR:-$root/target}
[ -d "$corpus" ] || { echo "no corpus at $corpus (set OPSTA_CORPUS)" >&2; exit 2; }
[ -x "$kubectl" ] || { echo "$kubectl is missing: run scripts/install-tools.sh" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time (GNU time) is needed for peak memory" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=${OPSTA_LINT_BIN:-}
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --release --locked --quiet)
  # Time a fresh copy, not the file the linker just wrote: that one runs a short command up to 0.4 ms slower
  # (docs/performance.md).
  cp "$target/release/opsta-lint" "$work/opsta-lint"
  bin=$work/opsta-lint
fi

# The input: every render, one after the other.
files=("$corpus"/real-charts/*.yaml "$corpus"/catalyst/rendered/*.yaml)
for f in "${files[@]}"; do cat "$f"; echo; done > "$work/all.yaml"
bytes=$(wc -c < "$work/all.yaml")

# The lock: every image of the render, each with its own fake digest.
"$bin" lock --from-manifest "$work/all.yaml" |
  awk '/digest: ""/ { n++; sub(/""/, sprintf("sha256:%064x", n)) } { print }' > "$work/lock.yaml"

# kustomize: the renders as resources (a name suffix per file keeps the repeated Catalyst objects apart) and an
# images: list giving each image name the digest the lock gives it.
mkdir -p "$work/k"
i=0
for f in "${files[@]}"; do
  i=$((i + 1))
  mkdir -p "$work/k/f$i"
  cp "$f" "$work/k/f$i/render.yaml"
  printf 'nameSuffix: -f%d\nresources:\n- render.yaml\n' "$i" > "$work/k/f$i/kustomization.yaml"
done
{
  echo "resources:"
  for j in $(seq 1 "$i"); do echo "- f$j"; done
  echo "images:"
  awk '/- image: / { image = $3; sub(/@.*/, "", image); name = image; if (match(image, /:[^\/]*$/)) name = substr(image, 1, RSTART - 1) }
       /digest: / && image != "" { if (!(name in seen)) { seen[name] = 1; gsub(/"/, "", $2); printf "- name: %s\n  digest: %s\n", name, $2 } image = "" }' \
    "$work/lock.yaml"
} > "$work/k/kustomization.yaml"

# One measurement: the command run K times in a row under GNU time. Prints per-run wall seconds, per-run CPU
# seconds (user + sys: this machine may be shared, and CPU time is what a busy neighbour does not inflate), and
# the peak RSS in KB of the largest run.
measure() {
  local k=$1
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" \
    bash -c 'for _ in $(seq 1 "$0"); do "$@" > "'"$work"'/out" 2> /dev/null || exit 1; done' "$k" "$@" ||
    { echo "failed: $*" >&2; exit 1; }
  awk -v k="$k" '{ printf "%.5f %.5f %d\n", $1 / k, ($2 + $3) / k, $4 }' "$work/time"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

batch=10 # postrender runs per measurement: GNU time counts CPU in 1/100 s
: > "$work/pr" && : > "$work/ku"
for _ in $(seq 1 "$repeats"); do
  measure "$batch" "$bin" postrender --lock "$work/lock.yaml" --input "$work/all.yaml" >> "$work/pr"
  measure 1 "$kubectl" kustomize "$work/k" >> "$work/ku"
done
measure 1 "$bin" postrender --lock "$work/lock.yaml" --input "$work/all.yaml" > /dev/null
pinned=$(grep -c '@sha256:' "$work/out" || true)

column() { cut -d' ' -f"$1" "$2" | median; }
awk -v bytes="$bytes" -v n="$repeats" -v files="${#files[@]}" -v pinned="$pinned" \
    -v pr_s="$(column 1 "$work/pr")" -v pr_cpu="$(column 2 "$work/pr")" -v pr_kb="$(column 3 "$work/pr")" \
    -v ku_s="$(column 1 "$work/ku")" -v ku_cpu="$(column 2 "$work/ku")" -v ku_kb="$(column 3 "$work/ku")" 'BEGIN {
  mb = bytes / 1e6
  printf "input: %d renders concatenated, %.2f MB; %d lines carry a digest after pinning; medians of %d measurements\n", files, mb, pinned, n
  printf "%-22s %9s %9s %11s %11s %12s %12s\n", "tool", "wall s", "CPU s", "MB/s wall", "MB/s CPU", "peak RSS MB", "RSS / input"
  printf "%-22s %9.4f %9.4f %11.1f %11.1f %12.1f %12.2f\n", "opsta-lint postrender", pr_s, pr_cpu, mb / pr_s, mb / pr_cpu, pr_kb / 1024, pr_kb * 1024 / bytes
  printf "%-22s %9.4f %9.4f %11.1f %11.1f %12.1f %12.2f\n", "kubectl kustomize", ku_s, ku_cpu, mb / ku_s, mb / ku_cpu, ku_kb / 1024, ku_kb * 1024 / bytes
  printf "postrender vs kustomize: %.1fx faster (wall), %.1fx less CPU, %.1fx less memory\n", ku_s / pr_s, ku_cpu / pr_cpu, ku_kb / pr_kb
}'
