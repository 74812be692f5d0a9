#!/usr/bin/env bash
# The one benchmark run (not a test): builds the release binary once, runs each job's benchmark side by side with
# its peers (scripts/bench-postrender.sh, scripts/bench-diff.sh, scripts/bench-lint.sh, scripts/bench-registry.sh, whose own output is shown
# as they run), adds `helm lint` and start-up, and ends with ONE table of ratios against the targets.
#
#   scripts/bench.sh                        (needs scripts/install-tools.sh's tools, ../shared/corpus, valgrind optional)
#   BASELINE=OLD/opsta-lint scripts/bench.sh  also measures another build (a copy, as this one) in the same run, right
#                                           after this build on each job, and ends with a second table: the change
#
# Wall times are medians of repeated runs; the per-job scripts also give CPU time or callgrind instruction
# counts, which a busy neighbour does not inflate. Paste the final table into docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
tools=${OPSTA_TOOLS:-.tools}
cargo build --release --locked --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Time a fresh copy, not the file the linker just wrote: that one runs a short command up to 0.4 ms slower
# (docs/performance.md).
cp "$CARGO_TARGET_DIR/release/opsta-lint" "$work/opsta-lint"
bin=$work/opsta-lint
baseline=
if [ -n "${BASELINE:-}" ]; then
  [ -x "$BASELINE" ] || { echo "BASELINE=$BASELINE is not an executable" >&2; exit 2; }
  cp "$BASELINE" "$work/baseline"
  baseline=$work/baseline
fi

section() { printf '\n== %s\n' "$1"; }

# The jobs both builds run (the baseline may predate the registry and upgrade commands), the baseline right after
# this build on each job; each result goes to $work/TAG-JOB.
measure() {
  local job=$1 bin=$2 tag=$3
  case $job in
    postrender) section "$tag: postrender vs kubectl kustomize (scripts/bench-postrender.sh)"
      OPSTA_LINT_BIN=$bin scripts/bench-postrender.sh 5 ;;
    diff) section "$tag: diff vs GNU diff -u (scripts/bench-diff.sh)"
      OPSTA_LINT_BIN=$bin RUNS=11 scripts/bench-diff.sh ;;
    lint) section "$tag: lint vs check-jsonschema (scripts/bench-lint.sh)"
      OPSTA_LINT_BIN=$bin scripts/bench-lint.sh 1000 ;;
  esac | tee "$work/$tag-$job"
}
for job in postrender diff lint; do
  measure $job "$bin" new
  [ -z "$baseline" ] || measure $job "$baseline" base
done

section "lock resolve vs skopeo inspect --raw, 40 images on a loopback registry (scripts/bench-registry.sh)"
OPSTA_LINT_BIN=$bin scripts/bench-registry.sh | tee "$work/registry"

section "upgrade --dry-run vs helm upgrade --dry-run=server, fake API server (scripts/bench-upgrade.sh)"
OPSTA_LINT_BIN=$bin scripts/bench-upgrade.sh | tee "$work/upgrade"

# Median of a list of numbers on stdin.
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }
# Milliseconds per run of a command: 9 batches of N runs, the median batch.
ms_per_run() {
    local n=$1
    shift
    for _ in $(seq 9); do
        local start end
        start=$(date +%s%N)
        for _ in $(seq "$n"); do "$@" > /dev/null 2>&1 || true; done
        end=$(date +%s%N)
        awk -v ns=$((end - start)) -v n="$n" 'BEGIN { printf "%.3f\n", ns / n / 1e6 }'
    done | median
}
instructions() {
    command -v valgrind > /dev/null || { echo "-"; return; }
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 > /dev/null |
        awk '/Collected :/ { printf "%.2f", $NF / 1e6 }'
}

section "lint vs helm lint (the chart's values.schema.json, one values file per run)"
# A chart helm can lint: the small Catalyst-shaped test chart with the real major-1 schema beside its values.
cp -r testdata/charts/catalyst-mini "$work/chart"
cp schema/catalyst/values.v1.schema.json "$work/chart/values.schema.json"
values=testdata/catalyst/good.values.yaml
helm_ms=$(ms_per_run 5 "$tools/helm4/helm" lint "$work/chart" -f "$values")
schema_ms=$(ms_per_run 50 "$bin" lint --schema "$work/chart/values.schema.json" "$values")
echo "helm lint (Helm 4): $helm_ms ms/file; opsta-lint lint --schema: $schema_ms ms/file"
[ -z "$baseline" ] || { base_schema_ms=$(ms_per_run 50 "$baseline" lint --schema "$work/chart/values.schema.json" "$values"); echo "baseline lint --schema: $base_schema_ms ms/file"; }

section "start-up: opsta-lint --version"
start_ms=$(ms_per_run 200 "$bin" --version)
helm_start_ms=$(ms_per_run 20 "$tools/helm4/helm" version --short)
start_minstr=$(instructions "$bin" --version)
echo "opsta-lint --version: $start_ms ms ($start_minstr M instructions); helm version --short: $helm_start_ms ms"
if [ -n "$baseline" ]; then
  base_start_ms=$(ms_per_run 200 "$baseline" --version)
  base_start_minstr=$(instructions "$baseline" --version)
  echo "baseline --version: $base_start_ms ms ($base_start_minstr M instructions)"
fi

# ---- One table. Each row: what, opsta-lint's figure, the peer and its figure, the ratio, the target, met or not.
field() { awk -v pat="$2" -v col="$3" 'index($0, pat) == 1 { n = split($0, f, " "); print f[col < 0 ? n + col + 1 : col]; exit }' "$1"; }
pr_mbs=$(field "$work/new-postrender" "opsta-lint postrender" 5)
pr_cpu_mbs=$(field "$work/new-postrender" "opsta-lint postrender" 6)
pr_rss=$(field "$work/new-postrender" "opsta-lint postrender" 8)
ku_mbs=$(field "$work/new-postrender" "kubectl kustomize" 5)
ku_cpu_mbs=$(field "$work/new-postrender" "kubectl kustomize" 6)
pr_rss_mb=$(field "$work/new-postrender" "opsta-lint postrender" 7)
ku_rss_mb=$(field "$work/new-postrender" "kubectl kustomize" 7)
argo_gnu=$(field "$work/new-diff" "argo-cd 1.9 MB" -7)
argo_ours=$(field "$work/new-diff" "argo-cd 1.9 MB" -6)
argo_gnu_i=$(field "$work/new-diff" "argo-cd 1.9 MB" -3)
argo_ours_i=$(field "$work/new-diff" "argo-cd 1.9 MB" -2)
cat_gnu=$(field "$work/new-diff" "catalyst 1.75.0" -7)
cat_ours=$(field "$work/new-diff" "catalyst 1.75.0" -6)
lint_rules=$(field "$work/new-lint" "opsta-lint lint --product" -2)
lint_generic=$(field "$work/new-lint" "opsta-lint lint --schema" -2)
cjs_each=$(field "$work/new-lint" "check-jsonschema, 1 process" -2)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.1fx", a / b; else printf "-" }'; }
check() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { v = v + 0; if (v == 0) { print "-"; exit }
    ok = (op == ">=" ? v >= t : v < t); print (ok ? "yes" : "NO") }'; }
row() { printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$@"; }

echo
echo "## opsta-lint vs its peers, $(date -u +%Y-%m-%d), $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
echo
row "measure" "opsta-lint" "peer" "peer's figure" "ratio" "target" "met"
row "---" "---" "---" "---" "---" "---" "---"
row "postrender throughput, whole corpus (MB/s, wall)" "$pr_mbs" "kubectl kustomize" "$ku_mbs" "$(ratio "$pr_mbs" "$ku_mbs") faster" ">= 100 MB/s, >= 20x" "$(check "$pr_mbs" ">=" 100) / $(check "$(ratio "$pr_mbs" "$ku_mbs" | tr -d x)" ">=" 20)"
row "postrender throughput (MB/s of CPU time)" "$pr_cpu_mbs" "kubectl kustomize" "$ku_cpu_mbs" "$(ratio "$pr_cpu_mbs" "$ku_cpu_mbs") faster" "" ""
row "postrender peak RSS (MB; opsta-lint: x input)" "$pr_rss_mb (${pr_rss}x)" "kubectl kustomize" "$ku_rss_mb" "$(ratio "$ku_rss_mb" "$pr_rss_mb") less" "< 4x input" "$(check "$pr_rss" "<" 4)"
row "lint, all rules (ms/file, 1 process/file)" "$lint_rules" "check-jsonschema" "$cjs_each" "$(ratio "$cjs_each" "$lint_rules") faster" "< 5 ms, >= 50x" "$(check "$lint_rules" "<" 5) / $(check "$(ratio "$cjs_each" "$lint_rules" | tr -d x)" ">=" 50)"
row "lint, schema only (ms/file, 1 process/file)" "$lint_generic" "check-jsonschema" "$cjs_each" "$(ratio "$cjs_each" "$lint_generic") faster" "" ""
row "lint against a chart's schema (ms/file)" "$schema_ms" "helm lint (Helm 4)" "$helm_ms" "$(ratio "$helm_ms" "$schema_ms") faster" "" ""
row "diff argo-cd 1.9 MB, 50 edits (ms, wall)" "$argo_ours" "GNU diff -u" "$argo_gnu" "$(ratio "$argo_ours" "$argo_gnu") of diff's time" "<= 3x" "$(check "$(ratio "$argo_ours" "$argo_gnu" | tr -d x)" "<" 3.0001)"
row "diff argo-cd (million instructions)" "$argo_ours_i" "GNU diff -u" "$argo_gnu_i" "$(ratio "$argo_ours_i" "$argo_gnu_i") of diff's" "" ""
row "diff Catalyst 1.75.0 -> 1.76.0 (ms, wall)" "$cat_ours" "GNU diff -u" "$cat_gnu" "$(ratio "$cat_ours" "$cat_gnu") of diff's time" "" ""
row "lock resolve, 40 images on loopback (ms, wall)" "$(field "$work/registry" "opsta-lint lock resolve" -2)" "40 x skopeo inspect --raw" "$(field "$work/registry" "skopeo inspect" -2)" "$(field "$work/registry" "lock resolve is" 4) faster" ">= 5x" "$(check "$(field "$work/registry" "lock resolve is" 4 | tr -d x)" ">=" 5)"
for major in 3 4; do
  line=$(grep "^Helm $major:" "$work/upgrade" || true)
  ours=$(awk '{ print $11 }' <<< "$line"); theirs=$(awk '{ print $6 }' <<< "$line"); r=$(awk '{ print $14 }' <<< "$line")
  row "upgrade --dry-run, Helm $major (ms, wall)" "$ours" "helm upgrade --dry-run=server" "$theirs" "$r of helm's time" "<= 1.2x" "$(check "$(tr -d x <<< "$r")" "<" 1.2001)"
done
row "start-up, --version (ms; M instructions)" "$start_ms ($start_minstr)" "helm version" "$helm_start_ms" "$(ratio "$helm_start_ms" "$start_ms") faster" "< 2 ms" "$(check "$start_ms" "<" 2)"

[ -n "$baseline" ] || exit 0
# ---- The change against the baseline: the same measures, the baseline measured right after this build.
change() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%+.0f%%", (a / b - 1) * 100; else printf "-" }'; }
both() { # what, this build's figure, the baseline's
  row2 "$1" "$3" "$2" "$(change "$2" "$3")"
}
row2() { printf '| %s | %s | %s | %s |\n' "$@"; }
echo
echo "## against the baseline ($BASELINE)"
echo
row2 "measure" "baseline" "this build" "change"
row2 "---" "---" "---" "---"
both "postrender throughput (MB/s, wall)" "$pr_mbs" "$(field "$work/base-postrender" "opsta-lint postrender" 5)"
both "postrender throughput (MB/s of CPU time)" "$pr_cpu_mbs" "$(field "$work/base-postrender" "opsta-lint postrender" 6)"
both "postrender peak RSS (MB)" "$pr_rss_mb" "$(field "$work/base-postrender" "opsta-lint postrender" 7)"
both "lint, all rules (ms/file)" "$lint_rules" "$(field "$work/base-lint" "opsta-lint lint --product" -2)"
both "lint, schema only (ms/file)" "$lint_generic" "$(field "$work/base-lint" "opsta-lint lint --schema" -2)"
both "lint against a chart's schema (ms/file)" "$schema_ms" "$base_schema_ms"
both "diff argo-cd (ms, wall)" "$argo_ours" "$(field "$work/base-diff" "argo-cd 1.9 MB" -6)"
both "diff argo-cd (million instructions)" "$argo_ours_i" "$(field "$work/base-diff" "argo-cd 1.9 MB" -2)"
both "diff Catalyst 1.75.0 -> 1.76.0 (ms, wall)" "$cat_ours" "$(field "$work/base-diff" "catalyst 1.75.0" -6)"
both "start-up, --version (ms)" "$start_ms" "$base_start_ms"
both "start-up, --version (M instructions)" "$start_minstr" "$base_start_minstr"
