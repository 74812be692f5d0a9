#!/usr/bin/env bash
# Checks that two builds of opsta-lint pin the same way (stdout byte for byte, stderr and the exit code), for
# changes to the image finding or the post-renderer that must not change what they print:
#
#   scripts/compare-postrender-builds.sh OLD_BINARY NEW_BINARY      (CORPUS: the shared corpus, default ../shared/corpus)
#
# Inputs: every YAML file under testdata/, every corpus render, and all of them
# concatenated. Runs on each: `lock --from-manifest` (and --strict); `postrender` with a lock of all its images
# (fake digests, written by OLD), with that lock and --strict, with a mirror, and with an empty lock (the
# failing path). Prints the number of inputs and of runs, and each difference.
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2 corpus=${CORPUS:-../shared/corpus}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
inputs=()
while IFS= read -r f; do inputs+=("$f"); done < <(find testdata -name '*.yaml' -o -name '*.yml' | sort)
if [ -d "$corpus" ]; then
  inputs+=("$corpus"/real-charts/*.yaml "$corpus"/catalyst/rendered/*.yaml)
  for f in "$corpus"/real-charts/*.yaml "$corpus"/catalyst/rendered/*.yaml; do cat "$f"; echo; done > "$w/all.yaml"
  inputs+=("$w/all.yaml")
fi
printf 'apiVersion: opsta-lint/v1\nkind: ReleaseLock\nimages: []\n' > "$w/empty.yaml"
runs=0 differ=0
run_both() {
  runs=$((runs + 1))
  set +e
  "$old" "$@" > "$w/out-old" 2> "$w/err-old"; local a=$?
  "$new" "$@" > "$w/out-new" 2> "$w/err-new"; local b=$?
  set -e
  if [ "$a" != "$b" ] || ! cmp -s "$w/out-old" "$w/out-new" || ! cmp -s "$w/err-old" "$w/err-new"; then
    differ=$((differ + 1))
    echo "DIFFERENT (exit $a vs $b): $*"
    diff "$w/out-old" "$w/out-new" | head -5 || true
    diff "$w/err-old" "$w/err-new" | head -5 || true
  fi
}
for f in "${inputs[@]}"; do
  run_both lock --from-manifest "$f"
  run_both lock --from-manifest "$f" --strict
  "$old" lock --from-manifest "$f" 2> /dev/null |
    awk '/digest: ""/ { n++; sub(/""/, sprintf("sha256:%064x", n)) } { print }' > "$w/lock.yaml" || true
  [ -s "$w/lock.yaml" ] || cp "$w/empty.yaml" "$w/lock.yaml"
  run_both postrender --lock "$w/lock.yaml" --input "$f"
  run_both postrender --lock "$w/lock.yaml" --input "$f" --strict
  run_both postrender --lock "$w/lock.yaml" --input "$f" --mirror docker.io=registry.corp/hub
  run_both postrender --lock "$w/empty.yaml" --input "$f"
done
echo "inputs: ${#inputs[@]}, runs: $runs, differences: $differ"
[ "$differ" = 0 ]
