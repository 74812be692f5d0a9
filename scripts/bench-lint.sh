#!/usr/bin/env bash
# Benchmark (not a test): opsta-lint lint vs check-jsonschema on the same schema and the same 1,000 values files,
# side by side in one run. Prints milliseconds per file and the ratios.
#
#   scripts/bench-lint.sh [FILES]      (default 1000; check-jsonschema per-process runs use a sample of 50)
#
# opsta-lint runs once per file (a new process each time, as pre-commit or CI would call it), first with the
# full rule set (--product catalyst), then in generic mode (--schema, the same work check-jsonschema does).
# check-jsonschema runs once per file on a sample (its start-up dominates), and once over all files in one process.
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-1000}"
sample=50
cjs="${OPSTA_TOOLS:-.tools}/venv/bin/check-jsonschema"
[ -x "$cjs" ] || { echo "check-jsonschema is missing: run scripts/install-tools.sh" >&2; exit 2; }

schema=schema/catalyst/values.v1.schema.json
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
bin=${OPSTA_LINT_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --locked --quiet
  # Time a fresh copy, not the file the linker just wrote: that one runs a short command up to 0.4 ms slower
  # (docs/performance.md).
  cp "${CARGO_TARGET_DIR:-target}/release/opsta-lint" "$work/opsta-lint"
  bin=$work/opsta-lint
fi

# 1,000 values files: the bundled good example (about 50 lines), each with its own token and ingress address.
base=testdata/catalyst/good.values.yaml
for i in $(seq 1 "$count"); do
    sed -e "s/^join_token: .*/join_token: jt-bench-$i/" -e "s/ip_addr: .*/ip_addr: 10.20.$((i / 250)).$((i % 250))/" \
        "$base" > "$work/values-$i.yaml"
done
"$bin" lint --product catalyst --chart-version 1.90.0 "$work/values-1.yaml" > /dev/null
"$cjs" --schemafile "$schema" "$work/values-1.yaml" > /dev/null

now() { date +%s%N; }
ms_per() { awk -v ns="$1" -v n="$2" 'BEGIN { printf "%.2f", ns / n / 1e6 }'; }

t0=$(now)
for i in $(seq 1 "$count"); do
    "$bin" lint --product catalyst --chart-version 1.90.0 "$work/values-$i.yaml" > /dev/null
done
t1=$(now)
for i in $(seq 1 "$count"); do
    "$bin" lint --schema "$schema" "$work/values-$i.yaml" > /dev/null
done
t2=$(now)
for i in $(seq 1 "$sample"); do
    "$cjs" --schemafile "$schema" "$work/values-$i.yaml" > /dev/null
done
t3=$(now)
"$cjs" --schemafile "$schema" "$work"/values-*.yaml > /dev/null
t4=$(now)

lint_rules=$(ms_per $((t1 - t0)) "$count")
lint_schema=$(ms_per $((t2 - t1)) "$count")
cjs_each=$(ms_per $((t3 - t2)) "$sample")
cjs_batch=$(ms_per $((t4 - t3)) "$count")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }
echo "lint of $count values files against $schema ($(nproc) cores, $(date -u +%Y-%m-%d))"
printf '%-58s %8s ms/file\n' "opsta-lint lint --product catalyst (all rules), 1 process/file" "$lint_rules"
printf '%-58s %8s ms/file\n' "opsta-lint lint --schema (generic), 1 process/file" "$lint_schema"
printf '%-58s %8s ms/file\n' "check-jsonschema, 1 process/file ($sample-file sample)" "$cjs_each"
printf '%-58s %8s ms/file\n' "check-jsonschema, all $count files in 1 process" "$cjs_batch"
echo "ratio, 1 process per file:    check-jsonschema / opsta-lint (all rules) = $(ratio "$cjs_each" "$lint_rules"), (generic) = $(ratio "$cjs_each" "$lint_schema")"
echo "ratio, check-jsonschema batch: check-jsonschema / opsta-lint (all rules) = $(ratio "$cjs_batch" "$lint_rules")"
