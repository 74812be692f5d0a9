#!/usr/bin/env bash
# The one benchmark run (not a test): builds the release binary once, runs each job's benchmark side by side with
# its peers (scripts/bench-postrender.sh, scripts/bench-diff.sh, scripts/bench-lint.sh, scripts/bench-registry.sh, whose own output is shown
# as they run), adds `helm lint` and start-up, and ends with ONE table of ratios against the targets.
#
#   scripts/bench.sh            (needs scripts/install-tools.sh's tools, ../shared/corpus, valgrind optional)
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

section() { printf '\n== %s\n' "$1"; }

section "postrender vs kubectl kustomize (scripts/bench-postrender.sh)"
OPSTA_LINT_BIN=$bin scripts/bench-postrender.sh 5 | tee "$work/postrender"
section "diff vs GNU diff -u (scripts/bench-diff.sh)"
OPSTA_LINT_BIN=$bin RUNS=11 scripts/bench-diff.sh | tee "$work/diff"
section "lint vs check-jsonschema (scripts/bench-lint.sh)"
if [ -x scripts/bench-lint.sh ]; then OPSTA_LINT_BIN=$bin scripts/bench-lint.sh 1000 | tee "$work/lint"; else echo "scripts/bench-lint.sh is missing" | tee "$work/lint"; fi

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

section "start-up: opsta-lint --version"
start_ms=$(ms_per_run 200 "$bin" --version)
helm_start_ms=$(ms_per_run 20 "$tools/helm4/helm" version --short)
start_minstr=$(instructions "$bin" --version)
echo "opsta-lint --version: $start_ms ms ($start_minstr M instructions); helm version --short: $helm_start_ms ms"

# ---- One table. Each row: what, opsta-lint's figure, the peer and its figure, the ratio, the target, met or not.
field() { awk -v pat="$2" -v col="$3" 'index($0, pat) == 1 { n = split($0, f, " "); print f[col < 0 ? n + col + 1 : col]; exit }' "$1"; }
pr_mbs=$(field "$work/postrender" "opsta-lint postrender" 5)
pr_cpu_mbs=$(field "$work/postrender" "opsta-lint postrender" 6)
pr_rss=$(field "$work/postrender" "opsta-lint postrender" 8)
ku_mbs=$(field "$work/postrender" "kubectl kustomize" 5)
ku_cpu_mbs=$(field "$work/postrender" "kubectl kustomize" 6)
pr_rss_mb=$(field "$work/postrender" "opsta-lint postrender" 7)
ku_rss_mb=$(field "$work/postrender" "kubectl kustomize" 7)
argo_gnu=$(field "$work/diff" "argo-cd 1.9 MB" -7)
argo_ours=$(field "$work/diff" "argo-cd 1.9 MB" -6)
argo_gnu_i=$(field "$work/diff" "argo-cd 1.9 MB" -3)
argo_ours_i=$(field "$work/diff" "argo-cd 1.9 MB" -2)
cat_gnu=$(field "$work/diff" "catalyst 1.75.0" -7)
cat_ours=$(field "$work/diff" "catalyst 1.75.0" -6)
lint_rules=$(field "$work/lint" "opsta-lint lint --product" -2)
lint_generic=$(field "$work/lint" "opsta-lint lint --schema" -2)
cjs_each=$(field "$work/lint" "check-jsonschema, 1 process" -2)

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
