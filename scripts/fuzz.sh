#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each at the lowest priority, then shrinks each corpus back
# into fuzz/corpus/<target>. Crash inputs land in fuzz/artifacts/<target>/: turn each into a regression in
# fuzz/regressions/<target>/ (see README, "Fuzzing").
#   scripts/fuzz.sh [SECONDS] [TARGET...]      (default: 600 seconds, every target)
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(RUSTC_BOOTSTRAP=1 cargo fuzz list)
fi
export RUSTC_BOOTSTRAP=1
nice -n 19 cargo fuzz build
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    work=$(mktemp -d)
    cp -r "corpus/$target/." "$work/"
    dict=()
    [ -f "dicts/$target.dict" ] && dict=("-dict=dicts/$target.dict")
    echo "== $target: ${seconds}s"
    status=0
    nice -n 19 cargo fuzz run "$target" "$work" -- "${dict[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 \
        -max_len=16384 -print_final_stats=1 2>&1 | grep -E "^#[0-9]+ +DONE|^stat::number_of_executed_units|panicked|Failing input|SUMMARY" || status=$?
    fresh=$(mktemp -d)
    nice -n 19 cargo fuzz run "$target" "$fresh" "$work" -- -merge=1 -rss_limit_mb=2048 -max_len=16384 >/dev/null 2>&1
    rm -rf "corpus/$target" && mv "$fresh" "corpus/$target"
    echo "   corpus: $(ls "corpus/$target" | wc -l) files, $(du -s --apparent-size -k "corpus/$target" | cut -f1) KB"
    rm -rf "$work"
done
ls artifacts/*/ 2>/dev/null && echo "crash inputs above: add them to fuzz/regressions/<target>/" || echo "no crash inputs"
