#!/usr/bin/env bash
# Benchmark (not a test): `opsta-lint upgrade --dry-run` (pull, lint, preflight, the pinned render through
# `helm upgrade --dry-run=server`, the diff) vs helm's own `helm upgrade --dry-run=server` of the same chart and
# values, both against the tests' fake API server (examples/fake-cluster.rs), with Helm 3 and Helm 4. Prints the
# median wall time of each and the ratio (goal: at most 1.2x).
#
#   scripts/bench-upgrade.sh [RUNS]     (default 9; needs .tools/helm3 and .tools/helm4: scripts/install-tools.sh)
#   OPSTA_LINT_BIN=target/release/opsta-lint scripts/bench-upgrade.sh     (an already built binary)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
tools=${OPSTA_TOOLS:-$root/.tools}
runs=${1:-9}
(cd "$root" && cargo build --release --locked --quiet --example fake-cluster)
bin=${OPSTA_LINT_BIN:-}
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2> /dev/null || true
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

"$target/release/examples/fake-cluster" "$work" > "$work/url" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/kubeconfig" ] && break; sleep 0.05; done
export KUBECONFIG=$work/kubeconfig
unset HELM_NAMESPACE HELM_KUBECONTEXT HELM_DRIVER HELM_BIN

# The Catalyst-shaped test chart at 1.75.0 (installed) and 1.76.0 (the upgrade), its lock and values.
registry=us-central1-docker.pkg.dev/prj-common-p-shared-79896/reg-p-common-docker-public
for version in 1.75.0 1.76.0; do
  cp -r "$root/testdata/charts/catalyst-mini" "$work/catalyst-$version"
  sed -i "s/1\.89\.0/$version/" "$work/catalyst-$version/Chart.yaml"
done
cat > "$work/values.yaml" << 'VALUES'
join_token: jt-BENCH-0001
management:
  config:
    tunnel:
      enabled: true
      piko:
        upstream_url: https://tunnel-upstream.r1.diagrid.io
VALUES
{
  printf 'apiVersion: opsta-lint/v1\nkind: ReleaseLock\nproduct: catalyst\nversion: 1.76.0\nimages:\n'
  n=1
  for component in agent management; do
    printf '  - image: %s/catalyst-%s:1.76.0\n    digest: sha256:%064d\n' "$registry" "$component" "$n"
    n=$((n + 1))
  done
} > "$work/lock.yaml"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# Median milliseconds of RUNS runs of a command (which must succeed).
ms() {
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s%N)
    "$@" > /dev/null 2> "$work/stderr" || { cat "$work/stderr" >&2; echo "failed: $*" >&2; exit 1; }
    end=$(date +%s%N)
    awk -v ns=$((end - start)) 'BEGIN { printf "%.1f\n", ns / 1e6 }'
  done | median
}

cd "$work"
for major in 3 4; do
  helm=$tools/helm$major/helm
  export HELM_CACHE_HOME=$work/helm$major/cache HELM_CONFIG_HOME=$work/helm$major/config
  export HELM_DATA_HOME=$work/helm$major/data HELM_PLUGINS=$work/helm$major/data/plugins
  namespace=bench$major
  "$helm" install cat ./catalyst-1.75.0 -n "$namespace" -f values.yaml > /dev/null
  if [ "$major" = 4 ]; then
    # Helm 4 runs post-renderers only as plugins: the CLI plugin with this binary, then its post-renderer.
    mkdir -p plugin/scripts
    cp "$root/plugin.yaml" plugin/
    cp "$root/scripts/helm-plugin-install.sh" "$root/scripts/project.env" plugin/scripts/
    OPSTA_LINT_BIN=$bin "$helm" plugin install ./plugin --verify=false > /dev/null
    "$helm" opsta-lint install-postrenderer > /dev/null
  fi
  helm_ms=$(ms "$helm" upgrade cat ./catalyst-1.76.0 -n "$namespace" -f values.yaml --dry-run=server)
  ours_ms=$(ms "$bin" upgrade cat ./catalyst-1.76.0 -n "$namespace" -f values.yaml --lock lock.yaml --dry-run \
    --helm "$helm")
  awk -v h="$helm_ms" -v o="$ours_ms" -v m="$major" 'BEGIN {
    printf "Helm %s: helm upgrade --dry-run=server %.1f ms; opsta-lint upgrade --dry-run %.1f ms; ratio %.2fx (goal <= 1.2x)\n",
      m, h, o, o / h }'
done
