#!/usr/bin/env bash
# Instruction counts (valgrind's callgrind) of two opsta-lint binaries on the same inputs, for comparing two builds
# of the code on a busy machine, where wall times mislead: load does not change an instruction count.
#
#   scripts/bench-instructions.sh OLD_BINARY NEW_BINARY      (CORPUS: the shared corpus, default ../shared/corpus)
#
# Inputs: every corpus render concatenated, post-rendered with a lock each binary writes itself (fake digests);
# lint of testdata/catalyst/good.values.yaml; diff of argo-cd's render against a copy with every 40th value edited;
# diff of the Catalyst 1.75.0 and 1.76.0 renders in testdata/.
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2 corpus=${CORPUS:-../shared/corpus}
w=$(mktemp -d)
for f in "$corpus"/real-charts/*.yaml "$corpus"/catalyst/rendered/*.yaml; do cat "$f"; echo; done > "$w/all.yaml"
awk 'NR % 40 == 0 && /: [a-z0-9]/ { sub(/: /, ": x") } { print }' "$corpus/real-charts/argo-cd.yaml" > "$w/argo-new.yaml"
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | awk '/Collected/ { print $4 }'; }
for b in old new; do
  bin=${!b}
  "$bin" lock --from-manifest "$w/all.yaml" 2>/dev/null | awk '/digest: ""/ { n++; sub(/""/, sprintf("sha256:%064x", n)) } { print }' > "$w/lock-$b.yaml"
  set +e
  "$bin" postrender --lock "$w/lock-$b.yaml" < "$w/all.yaml" > /dev/null 2>"$w/err-$b"; pr=$?
  set -e
  p=$(count "$bin" postrender --lock "$w/lock-$b.yaml" --input "$w/all.yaml")
  l=$(count "$bin" lint --product catalyst --chart-version 1.90.0 testdata/catalyst/good.values.yaml)
  d=$(count "$bin" diff --color=never "$corpus/real-charts/argo-cd.yaml" "$w/argo-new.yaml")
  c=$(count "$bin" diff --color=never testdata/diff/catalyst-1.75.0.yaml testdata/diff/catalyst-1.76.0.yaml)
  echo "$b postrender_exit=$pr postrender=$p lint=$l diff_argo=$d diff_catalyst=$c"
done
echo "input: $(wc -c < "$w/all.yaml") bytes"
rm -rf "$w"
