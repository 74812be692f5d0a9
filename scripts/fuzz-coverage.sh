#!/usr/bin/env bash
# Where the working fuzz corpora (fuzz/corpus/<target>/) reach in opsta-lint's own code: for each target (default:
# every target), the functions of src/ that no corpus input enters, then the edges hit per source file of src/.
# With --since DIR, what the corpus found since an earlier copy of the corpora in DIR (made with, for example,
# `cp -r fuzz/corpus /tmp/corpus-before`) instead: the lines of src/ it newly reaches, and how many newly reached
# code points lie outside src/, per crate.
#
#   scripts/fuzz-coverage.sh [--since DIR] [TARGET...]
#
# FUNCS=REGEX (on paths under src/, e.g. 'images_in|image_fields') also lists every function of those files the
# binary holds, entered or not, with the inputs that entered it and its edges hit of all (a function inlined into
# its caller is counted in the caller; one the target never calls is not in the binary).
#
# libFuzzer symbolizes its `-print_coverage=1` only with a sanitizer runtime, so this builds the targets with
# AddressSanitizer into fuzz/target-cov (apart from the binaries scripts/fuzz.sh runs) and replays each corpus
# once (`-runs=0`). Edge counts of that build are not those scripts/fuzz.sh logs (ASan adds branches); compare
# them only with each other. Needs llvm-symbolizer on the PATH.
set -euo pipefail
since=
if [ "${1:-}" = --since ]; then
    since=$(cd "${2:?--since needs a directory}" && pwd)
    shift 2
fi
cd "$(dirname "$0")/../fuzz"
targets=("$@")
export RUSTC_BOOTSTRAP=1
# No backtrace for an anyhow error, as in scripts/fuzz.sh (which says why).
export RUST_LIB_BACKTRACE=0
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

# Replays corpus $2 of target $1 and prints libFuzzer's coverage report.
replay() {
    nice -n 19 "$bin/$1" -runs=0 -print_coverage=1 -rss_limit_mb=4096 -max_len=16384 "$2" 2>&1
}

# Functions of src/ never entered, then edges hit per file of src/, from the report in file $1.
per_file() {
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
        }' "$1"
}

# The code points each line still misses, one "file:line<TAB>count" per line, from the report in file $1.
# Lines look like: UNCOVERED_PC: /path/file.rs:12 (the innermost inlined frame).
missed() {
    awk '$1 == "UNCOVERED_PC:" { n[$2]++ } END { for (l in n) printf "%s\t%d\n", l, n[l] }' "$1" | sort
}

# What the report in file $2 reaches that the one in file $1 did not: lines of src/, then counts per crate.
gained() {
    join -t $'\t' -a 1 -e 0 -o 0,1.2,2.2 <(missed "$1") <(missed "$2") |
        awk -F '\t' -v src="$src" '
            $2 > $3 {
                if (index($1, src) == 1) { printf "  src/%s (%d)\n", substr($1, length(src) + 1), $2 - $3; next }
                where = $1
                if (where ~ /\/rustc\/|\/rust\/deps\//) where = "std"
                else { sub(/^.*\/registry\/src\/[^\/]*\//, "", where); sub(/\/.*$/, "", where) }
                other[where] += $2 - $3
            }
            END { for (c in other) printf "  outside src/: %d in %s\n", other[c], c | "sort -k3nr" }'
}

# Functions that no input of the report in file $1 entered and some input of the one in file $2 does (a function's
# code points are listed only once it is entered). Both reports come from the same binary, in the same order.
entered() {
    paste -d '\n' <(grep -E '^(UN)?COVERED_FUNC:' "$1") <(grep -E '^(UN)?COVERED_FUNC:' "$2") |
        awk -v src="$src" 'NR % 2 == 1 { before = $1; next }
            before == "UNCOVERED_FUNC:" && $1 == "COVERED_FUNC:" {
                where = $NF; if (index(where, src) == 1) where = "src/" substr(where, length(src) + 1)
                name = $6; for (i = 7; i < NF; i++) name = name " " $i
                printf "  entered: %s (%s edges) %s\n", name, $5, where
            }'
}

# Every function of the files of src/ matching FUNCS, from the report in file $1: "hits edges name file:line".
functions() {
    awk -v src="$src" -v files="$FUNCS" '
        /^ *(UN)?COVERED_FUNC:/ && index($NF, src) == 1 && substr($NF, length(src) + 1) ~ files {
            name = $6; for (i = 7; i < NF; i++) name = name " " $i
            printf "  %6s inputs %9s edges  %s  src/%s\n", $3, $5, name, substr($NF, length(src) + 1)
        }' "$1" | sort -k5
}

edges() { awk '$2 == "DONE" { for (i = 1; i <= NF; i++) if ($i == "cov:") print $(i + 1) }' "$1"; }

for target in "${targets[@]}"; do
    now=$(mktemp)
    replay "$target" "corpus/$target" > "$now"
    if [ -z "$since" ]; then
        echo "== $target ($(ls "corpus/$target" | wc -l) inputs)"
        per_file "$now"
        [ -z "${FUNCS:-}" ] || functions "$now"
    else
        then=$(mktemp)
        replay "$target" "$since/$target" > "$then"
        echo "== $target: $(ls "$since/$target" | wc -l) inputs in $since, $(ls "corpus/$target" | wc -l) now;" \
            "edges $(edges "$then") -> $(edges "$now") (this build); code points newly reached:"
        entered "$then" "$now"
        gained "$then" "$now"
        rm -f "$then"
    fi
    rm -f "$now"
done
