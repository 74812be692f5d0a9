#!/usr/bin/env bash
# Runs every fuzz target (or those named) until its coverage stops growing, at the lowest priority, then shrinks
# each corpus back into fuzz/corpus/<target> (the working corpus, not in git; scripts/fuzz-seed.sh seeds an empty
# one from testdata/ and fuzz/regressions/). Crash inputs land in fuzz/artifacts/<target>/: turn each into a
# regression in fuzz/regressions/<target>/ (see docs/fuzzing.md).
#
#   scripts/fuzz.sh [MIN_SECONDS] [TARGET...]      (default: 600 seconds, every target)
#
# A target first runs MIN_SECONDS, then rounds of ROUND seconds (default 180), each starting again from the grown
# corpus, until a whole round finds no new edge (libFuzzer's `cov:` at the end equals the `cov:` it started
# with): that is the plateau. MAX_SECONDS (default 3 x MIN_SECONDS) caps a target. Every round is appended to
# fuzz/coverage.tsv, a local log (not in git).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
min=${1:-600}
shift || true
round=${ROUND:-180}
max=${MAX_SECONDS:-$((3 * min))}
targets=("$@")
export RUSTC_BOOTSTRAP=1
# No backtrace for an anyhow error: with RUST_BACKTRACE=1 in the environment each error the code under test makes
# would capture one (a fifth of the `release` target's time), and which of anyhow's branches run would depend on it.
# A panic still prints its backtrace.
export RUST_LIB_BACKTRACE=0
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi
# Without AddressSanitizer: the code under test is safe Rust (its only `unsafe`, main.rs's signal set-up and
# the allocator that main.rs installs from memory.rs, never runs in a target), and the sanitizer cost the `diff`
# target nine in ten of its executions.
# TRACE_COMPARES=no builds without libFuzzer's comparison tracing: the same edges are counted, the mutations it
# guides (toward the values compared with) are lost, and `diff` runs several times the inputs (the tracing of the
# comparisons inside `similar`'s Myers loops takes most of its time). Only a round of the full build proves a
# plateau (see docs/fuzzing.md).
# FUZZ_TARGET_DIR (default fuzz/target, or fuzz/target-nocmp without comparison tracing) lets a second run build
# elsewhere, never over the binaries of one running.
build=(--sanitizer none)
target_dir=${FUZZ_TARGET_DIR:-target}
if [ "${TRACE_COMPARES:-yes}" = no ]; then
    build+=(--no-trace-compares)
    target_dir=${FUZZ_TARGET_DIR:-target-nocmp}
    label=" (no cmp)"
fi
for target in "${targets[@]}"; do
    nice -n 19 cargo fuzz build "${build[@]}" --target-dir "$target_dir" "$target"
done
# Run the built binaries directly, so editing the sources meanwhile does not trigger a rebuild mid-run.
bin=$target_dir/x86_64-unknown-linux-gnu/release
log=coverage.tsv
[ -f "$log" ] || printf 'date\ttarget\tseconds\texecutions\tcov_start\tcov_end\tfeatures\tcorpus\tresult\n' > "$log"

# One libFuzzer run of $2 seconds of target $1 on corpus $3; prints "executions cov_start cov_end ft corpus status".
run_round() {
    local target=$1 seconds=$2 work=$3 dict=() out status=ok
    [ -f "dicts/$target.dict" ] && dict=("-dict=dicts/$target.dict")
    out=$(mktemp)
    nice -n 19 "$bin/$target" "$work" "${dict[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 \
        -max_len=16384 -print_final_stats=1 -artifact_prefix="artifacts/$target/" > "$out" 2>&1 || status=crash
    grep -E "panicked|^SUMMARY|==ERROR" "$out" | head -5 >&2 || true
    awk -v status="$status" '
        $2 == "INITED" { for (i = 1; i <= NF; i++) if ($i == "cov:") start = $(i + 1) }
        $2 ~ /^(INITED|NEW|REDUCE|pulse|DONE)$/ {
            for (i = 1; i <= NF; i++) {
                if ($i == "cov:") cov = $(i + 1)
                if ($i == "ft:") ft = $(i + 1)
                if ($i == "corp:") { split($(i + 1), c, "/"); corp = c[1] }
            }
        }
        /^stat::number_of_executed_units:/ { execs = $2 }
        END { printf "%s %s %s %s %s %s\n", execs + 0, start + 0, cov + 0, ft + 0, corp + 0, status }' "$out"
    rm -f "$out"
}

for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    [ -n "$(ls -A "corpus/$target")" ] || bash ../scripts/fuzz-seed.sh "$target"
    work=$(mktemp -d)
    cp -r "corpus/$target/." "$work/"
    spent=0
    last_execs=0
    last_seconds=1
    first_execs=0
    first_seconds=1
    seconds=$min
    while :; do
        read -r execs start cov ft corp status < <(run_round "$target" "$seconds" "$work")
        spent=$((spent + seconds))
        result=$status
        # A round that ran inputs at less than half the rate of the round before, or of the first round, proves
        # nothing (the machine was busy, or the process was stopped): it cannot end the target as a plateau. The
        # first round's rate is the floor, so rounds that each slow by a little under half cannot drift into one.
        full=$(( execs * last_seconds * 2 >= last_execs * seconds && execs * first_seconds * 2 >= first_execs * seconds ))
        [ "$status" = ok ] && [ "$spent" -gt "$min" ] && [ "$cov" -le "$start" ] && [ "$full" = 1 ] && result=plateau
        [ "$status" = ok ] && [ "$result" != plateau ] && [ "$spent" -ge "$max" ] && result=capped
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$target${label:-}" \
            "$spent" "$execs" "$start" "$cov" "$ft" "$corp" "$result" | tee -a "$log"
        [ "$result" = ok ] || break
        last_execs=$execs
        last_seconds=$seconds
        [ "$first_execs" -gt 0 ] || { first_execs=$execs; first_seconds=$seconds; }
        seconds=$round
    done
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
