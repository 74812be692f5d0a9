#!/usr/bin/env bash
# The test command: installs the real tools the tests drive (Helm 3 and 4, pre-commit), then runs every test.
# The tests named `..._on_the_shared_corpus` read ../shared/corpus beside the checkout and are ignored by a plain
# `cargo test`; this runs them too whenever the corpus is there (under CI, env CI set, it must be).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-tools.sh
if [ -d ../shared/corpus ]; then
    cargo test --locked --all-targets "$@" -- --include-ignored
elif [ -n "${CI:-}" ]; then
    echo "scripts/test.sh: ../shared/corpus is missing, and CI must run the corpus tests" >&2
    exit 2
else
    echo "scripts/test.sh: ../shared/corpus is missing: the tests on it are reported as ignored" >&2
    cargo test --locked --all-targets "$@"
fi
