#!/usr/bin/env bash
# Where the committed fuzz corpora reach in opsta-lint's own code: for each target (default: every target), the
# functions of src/ that no corpus input enters, then the edges hit per source file of src/.
#
#   scripts/fuzz-coverage.sh [TARGET...]
#
# libFuzzer symbolizes its `-print_coverage=1` only with a sanitizer runtime, so this builds the targets with
# AddressSanitizer into fuzz/target-cov (apart from the binaries scripts/fuzz.sh runs) and replays each corpus
# once (`-runs=0`). Edge counts of that build are not those of fuzz/coverage.tsv (ASan adds branches); compare
# them only with each other. Needs llvm-symbolizer on the PATH.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
targets=("$@")
export RUSTC_BOOTSTRAP=1
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi
command -v llvm-symbolizer >/dev/null || { echo "fuzz-coverage.sh: llvm-symbolizer is not on the PATH" >&2; exit 2; }
# cargo fuzz builds one named target, or all of them.
one=()
[ ${#targets[@]} -eq 1 ] && one=("${targets[0]}")
nice -n 19 cargo fuzz build --sanitizer address --target-dir target-cov "${one[@]}" >&2
bin=target-cov/x86_64-unknown-linux-gnu/release
src=$(cd .. && pwd)/src/
for target in "${targets[@]}"; do
    out=$(mktemp)
    nice -n 19 "$bin/$target" -runs=0 -print_coverage=1 -rss_limit_mb=2048 -max_len=16384 "corpus/$target" \
        > "$out" 2>&1
    echo "== $target ($(ls "corpus/$target" | wc -l) inputs)"
    # Lines look like: COVERED_FUNC: hits: 3 edges: 5/9 name /path/file.rs:12
    awk -v src="$src" '
        /^(UN)?COVERED_FUNC:/ && index($NF, src) == 1 {
            split($5, e, "/")
            file = substr($NF, length(src) + 1); sub(/:[0-9]+$/, "", file)
            hit[file] += e[1]; all[file] += e[2]
            if ($1 == "UNCOVERED_FUNC:") {
                name = $6; for (i = 7; i < NF; i++) name = name " " $i
                printf "  never entered: %s (%d edges) %s\n", name, e[2], substr($NF, length(src) + 1)
            }
        }
        END {
            for (f in all) printf "  %6d of %6d edges  src/%s\n", hit[f], all[f], f | "sort -k7"
        }' "$out"
    rm -f "$out"
done
