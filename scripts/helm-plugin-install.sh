#!/bin/sh
# Install/update hook of the Helm plugin (plugin.yaml): puts the opsta-lint binary at bin/opsta-lint in the
# plugin folder. In order of preference:
#   1. OPSTA_LINT_BIN=/path/to/opsta-lint  (a binary you built or downloaded) is copied;
#   2. a bin/opsta-lint already there is kept (run `helm plugin update opsta-lint` after replacing it);
#   3. otherwise the plugin folder (a checkout of this repository) is built with `cargo build --release --locked`.
set -eu
dir="${HELM_PLUGIN_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$dir"
exe=opsta-lint
case "$(uname -s 2>/dev/null || echo unknown)" in MINGW*|MSYS*|CYGWIN*) exe=opsta-lint.exe ;; esac
mkdir -p bin
if [ -n "${OPSTA_LINT_BIN:-}" ]; then
    cp "$OPSTA_LINT_BIN" "bin/$exe.tmp" && mv "bin/$exe.tmp" "bin/$exe"
elif [ -x "bin/$exe" ]; then
    :
elif command -v cargo >/dev/null 2>&1; then
    echo "opsta-lint: building the binary with cargo (a few minutes the first time)" >&2
    cargo build --release --locked
    cp "${CARGO_TARGET_DIR:-target}/release/$exe" "bin/$exe.tmp" && mv "bin/$exe.tmp" "bin/$exe"
else
    echo "opsta-lint: no binary: install Rust (cargo) or set OPSTA_LINT_BIN=/path/to/opsta-lint, then run helm plugin update opsta-lint" >&2
    exit 1
fi
"bin/$exe" --version
