#!/usr/bin/env bash
# The test command: installs the real tools the tests drive (Helm 3 and 4, pre-commit), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-tools.sh
cargo test --locked --all-targets "$@"
