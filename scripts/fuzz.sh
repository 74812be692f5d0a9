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
# Run the built binaries directly, so editing the sources meanwhile does not trigger a rebuild mid-run.
bin=target/x86_64-unknown-linux-gnu/release
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    work=$(mktemp -d)
    cp -r "corpus/$target/." "$work/"
    dict=()
    [ -f "dicts/$target.dict" ] && dict=("-dict=dicts/$target.dict")
    echo "== $target: ${seconds}s"
    mkdir -p "artifacts/$target"
    nice -n 19 "$bin/$target" "$work" "${dict[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=16384 \
        -print_final_stats=1 -artifact_prefix="artifacts/$target/" 2>&1 |
        grep -E "^#[0-9]+ +DONE|^stat::number_of_executed_units|panicked|^test unit|SUMMARY" || true
    fresh=$(mktemp -d)
    nice -n 19 "$bin/$target" -merge=1 -rss_limit_mb=2048 -max_len=16384 "$fresh" "$work" >/dev/null 2>&1
    rm -rf "corpus/$target" && mv "$fresh" "corpus/$target"
    echo "   corpus: $(ls "corpus/$target" | wc -l) files, $(du -s --apparent-size -k "corpus/$target" | cut -f1) KB"
    rm -rf "$work"
done
crashes=$(find artifacts -type f 2>/dev/null)
if [ -n "$crashes" ]; then
    echo "$crashes"
    echo "crash inputs above: add each to fuzz/regressions/<target>/"
else
    echo "no crash inputs"
fi
