#!/usr/bin/env bash
# Benchmark (not a test): `opsta-lint lock resolve` of a render with 40 images against a real registry on loopback
# (Debian's docker-registry) vs 40 sequential `skopeo inspect --raw` calls for the same images, one run each, and the
# ratio. Setting up (40 tiny images written by tests/registry/oci-image.sh, pushed with skopeo) is not timed.
#
#   scripts/bench-registry.sh           (needs docker-registry and skopeo: scripts/install-tools.sh)
#   OPSTA_LINT_BIN=target/debug/opsta-lint scripts/bench-registry.sh     (an already built binary)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
count=${IMAGES:-40}
for tool in docker-registry skopeo; do
  command -v "$tool" > /dev/null || { echo "$tool is missing: run scripts/install-tools.sh" >&2; exit 2; }
done
bin=${OPSTA_LINT_BIN:-}
work=$(mktemp -d)
registry_pid=
cleanup() {
  [ -z "$registry_pid" ] || kill "$registry_pid" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --release --locked --quiet)
  # Time a fresh copy, not the file the linker just wrote: that one runs a short command up to 0.4 ms slower
  # (docs/performance.md).
  cp "$target/release/opsta-lint" "$work/opsta-lint"
  bin=$work/opsta-lint
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
host=127.0.0.1:$port
cat > "$work/config.yml" << YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/store}}
http: {addr: $host}
YAML
docker-registry serve "$work/config.yml" > "$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
  (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null && break
  sleep 0.05
done

# 40 images, each its own repository and digest; half of them two-platform indexes.
refs=()
for i in $(seq "$count"); do
  platforms=(linux/amd64)
  [ $((i % 2)) -eq 0 ] && platforms+=(linux/arm64)
  bash "$root/tests/registry/oci-image.sh" "$work/layout-$i" 1 "image $i" "${platforms[@]}" > /dev/null
  skopeo copy -q --all --dest-tls-verify=false "oci:$work/layout-$i:1" "docker://$host/bench/app-$i:1"
  refs+=("$host/bench/app-$i:1")
done
{
  echo "apiVersion: v1"
  echo "kind: Pod"
  echo "metadata: {name: bench}"
  echo "spec:"
  echo "  containers:"
  for i in "${!refs[@]}"; do printf '  - name: c%s\n    image: %s\n' "$i" "${refs[$i]}"; done
} > "$work/render.yaml"

ms() { echo $(( $(date +%s%N) / 1000000 )); }
start=$(ms)
"$bin" lock resolve --insecure-registry "$host" --from-manifest "$work/render.yaml" > "$work/lock.yaml" 2> /dev/null
ours=$(( $(ms) - start ))
locked=$(grep -c '^  - image:' "$work/lock.yaml")

start=$(ms)
for ref in "${refs[@]}"; do
  skopeo inspect --raw --tls-verify=false "docker://$ref" > /dev/null
done
theirs=$(( $(ms) - start ))

echo "opsta-lint lock resolve, $locked images: $ours ms"
echo "skopeo inspect --raw x $count, sequential: $theirs ms"
awk -v a="$theirs" -v b="$ours" 'BEGIN { printf "lock resolve is %.1fx faster (goal: at least 5x)\n", a / (b > 0 ? b : 1) }'
