#!/usr/bin/env bash
# Seeds the working fuzz corpora, fuzz/corpus/<target>/ (not in git), from the repository's own inputs: the files
# of testdata/ each target reads, every regression input in fuzz/regressions/<target>/ and the hand-written seeds
# in fuzz/seeds/<target>/. scripts/fuzz.sh calls
# it for a target whose corpus is empty; libFuzzer grows the corpus from there. Files already there are kept; each
# seed is named by the SHA-1 of its bytes, as libFuzzer names its own, so seeding twice adds nothing.
#
#   scripts/fuzz-seed.sh [TARGET...]      (default: every target)
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(diff image lock mask postrender release yaml)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# seed TARGET FILE...: copies each file into the target's corpus under the SHA-1 of its bytes.
seeded=0
seed() {
    local target=$1 file
    shift
    for file in "$@"; do
        cp "$file" "fuzz/corpus/$target/$(sha1sum < "$file" | cut -c1-40)"
        seeded=$((seeded + 1))
    done
}

# The plain image references of the post-renderer's test renders, one per line, at most 150.
images() {
    grep -h -E '^[[:space:]-]*image:[[:space:]]' testdata/postrender/*.yaml |
        sed -E 's/^[[:space:]-]*image:[[:space:]]*//; s/^["'\'']//; s/["'\'']$//' |
        grep -E '^[a-z0-9][^[:space:]"&*{}]*$' | sort -u | head -150
}

values=(testdata/catalyst/*.yaml testdata/catalyst/values/*.yaml testdata/opsta-ai-gateway/*.yaml
    testdata/charts/*/values.yaml testdata/real-schemas/*/values.yaml testdata/real-schemas/cluster/examples/*.yaml)

for target in "${targets[@]}"; do
    [ -d "fuzz/regressions/$target" ] || { echo "fuzz-seed.sh: no fuzz target named $target" >&2; exit 2; }
    mkdir -p "fuzz/corpus/$target"
    seeded=0
    seed "$target" "fuzz/regressions/$target"/*
    # Hand-written seeds that reach what no test input does (options a target reads from its input).
    [ -d "fuzz/seeds/$target" ] && seed "$target" "fuzz/seeds/$target"/*
    case $target in
    yaml) seed yaml "${values[@]}" ;;
    mask) seed mask testdata/opsta-ai-gateway/*.yaml testdata/catalyst/*.yaml ;;
    postrender) seed postrender testdata/postrender/*.yaml testdata/diff/*.yaml ;;
    image)
        n=0
        while IFS= read -r image; do
            n=$((n + 1))
            printf '%s' "$image" > "$scratch/image-$n"
        done < <(images)
        seed image "$scratch"/image-*
        ;;
    lock)
        # A native lock of every test image (the fuzz lock's digest), and the same images as an imgpkg ImagesLock.
        digest=sha256:$(printf 'a%.0s' {1..64})
        {
            printf 'apiVersion: opsta-lint/v1\nkind: ReleaseLock\nproduct: catalyst\nversion: 1.90.0\nimages:\n'
            images | head -40 | sed -E "s|.*|  - image: \"&\"\n    digest: $digest|"
        } > "$scratch/native.lock.yaml"
        {
            printf 'apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImagesLock\nimages:\n'
            images | head -40 | sed -E "s|(.*)|- image: registry.corp/mirror@$digest\n  annotations:\n    kbld.carvel.dev/id: \1|"
        } > "$scratch/imgpkg.lock.yaml"
        seed lock "$scratch"/*.lock.yaml
        ;;
    diff)
        # OLD, a line `===`, NEW: two upgrades of the test renders.
        for pair in "1.75.0 1.76.0" "1.90.0 1.90.0-tunnel"; do
            read -r old new <<< "$pair"
            { cat "testdata/diff/catalyst-$old.yaml"; printf '\n===\n'; cat "testdata/diff/catalyst-$new.yaml"; } \
                > "$scratch/diff-$old-$new"
        done
        seed diff "$scratch"/diff-*
        ;;
    release) ;; # The regression inputs are release payloads already; no file of testdata/ is one.
    esac
    echo "fuzz/corpus/$target: $seeded seed inputs"
done
