#!/usr/bin/env bash
# Builds the release artefacts of VERSION into dist/ (docs/install.md, "Release artefacts"):
#   opsta-lint_<version>_<os>_<arch>.tar.gz   one folder opsta-lint_<version>_<os>_<arch>/ holding bin/opsta-lint, the
#                                             Helm CLI plugin (plugin.yaml, its install hook), the Helm 4 post-renderer
#                                             plugin (plugins/postrender/), LICENSE, README.md and docs/install.md
#   checksums.txt                             sha256 of every tarball in dist/
#
# scripts/release.sh VERSION                      builds every target below with the dist profile (fat LTO)
# scripts/release.sh VERSION --target TRIPLE...   builds only these targets (the release workflow: one job per runner)
# scripts/release.sh VERSION --binary PATH        packages PATH as this machine's linux/darwin artefact, no build
#                                                 (the tests package the binary their own build made)
# scripts/release.sh VERSION --checksums-only     writes checksums.txt for the tarballs already in dist/
# --out DIR replaces dist/. VERSION must equal the version in Cargo.toml and in both plugin.yaml files.
#
# Targets: x86_64-unknown-linux-musl and aarch64-unknown-linux-musl (static; mimalloc replaces musl's malloc, see
# src/memory.rs), x86_64-apple-darwin and aarch64-apple-darwin. A target the host toolchain cannot link (another
# architecture or OS) is built with cargo-zigbuild (`pip install cargo-zigbuild`; it brings zig), when installed.
# zig links the other linux architecture by itself; a darwin binary off macOS also needs Apple's SDK (SDKROOT): the
# TLS certificate store (rustls-native-certs, security-framework) links the Security and CoreFoundation frameworks,
# which zig does not carry (docs/install.md, "Release artefacts").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

usage() { echo "usage: scripts/release.sh VERSION [--target TRIPLE]... [--binary PATH] [--checksums-only] [--out DIR]" >&2; exit 2; }
die() { echo "release.sh: $*" >&2; exit 1; }

[ $# -ge 1 ] || usage
version=$1
shift
targets=()
binary=""
checksums_only=false
out="$root/dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --target) [ $# -ge 2 ] || usage; targets+=("$2"); shift 2 ;;
    --binary) [ $# -ge 2 ] || usage; binary=$2; shift 2 ;;
    --checksums-only) checksums_only=true; shift ;;
    --out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
    *) usage ;;
  esac
done

manifest_version() { # file: the first `version = "X"` or `version: X` line
  sed -n -E 's/^version[[:space:]]*[=:][[:space:]]*"?([^"[:space:]]+)"?[[:space:]]*$/\1/p' "$1" | head -n 1
}
for file in Cargo.toml plugin.yaml plugins/postrender/plugin.yaml; do
  found=$(manifest_version "$file")
  [ "$found" = "$version" ] || die "version $version differs from $file's ($found): set the same version everywhere first"
done

sha256() { if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi; }

write_checksums() {
  (cd "$out" && shopt -s nullglob && files=(opsta-lint_"${version}"_*.tar.gz) &&
    { [ ${#files[@]} -gt 0 ] || die "no opsta-lint_${version}_*.tar.gz in $out"; } &&
    sha256 "${files[@]}" > checksums.txt)
  echo "$out/checksums.txt"
}

platform_of() { # target triple -> <os>_<arch>
  case "$1" in
    x86_64-unknown-linux-musl) echo linux_x86_64 ;;
    aarch64-unknown-linux-musl) echo linux_aarch64 ;;
    x86_64-apple-darwin) echo darwin_x86_64 ;;
    aarch64-apple-darwin) echo darwin_aarch64 ;;
    *) die "unknown target $1" ;;
  esac
}

host_platform() {
  local os arch
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) die "no release platform for $(uname -s)" ;; esac
  case "$(uname -m)" in x86_64|amd64) arch=x86_64 ;; aarch64|arm64) arch=aarch64 ;; *) die "no release platform for $(uname -m)" ;; esac
  echo "${os}_${arch}"
}

# The host toolchain links its own architecture (musl too on Linux, Apple's linker on macOS); zig links the rest.
build() { # target -> path of the built binary
  local target=$1 native=false
  case "$(uname -s)/$target" in
    Linux/"$(uname -m | sed 's/arm64/aarch64/; s/amd64/x86_64/')"-unknown-linux-*) native=true ;;
    Darwin/*-apple-darwin) native=true ;;
  esac
  $native || [[ "$target" != *-apple-darwin || -n "${SDKROOT:-}" ]] ||
    die "building $target off macOS needs Apple's SDK for the Security and CoreFoundation frameworks: set SDKROOT to a MacOSX.sdk, or build it on macOS"
  $native || command -v cargo-zigbuild >/dev/null || die "building $target here needs cargo-zigbuild (pip install cargo-zigbuild)"
  rustup target add "$target" >&2
  if $native; then
    cargo build --locked --profile dist --target "$target" >&2
  else
    cargo zigbuild --locked --profile dist --target "$target" >&2
  fi
  echo "${CARGO_TARGET_DIR:-$root/target}/$target/dist/opsta-lint"
}

# A Linux artefact must not need the machine's C library: `file` says "statically linked" (or "static-pie linked").
check_static() {
  local description
  description=$(file -L "$1")
  [[ "$description" == *"statically linked"* || "$description" == *"static-pie linked"* ]] ||
    die "$1 is not static: $description"
}

package() { # binary platform
  local name="opsta-lint_${version}_$2" stage
  stage=$(mktemp -d)
  mkdir -p "$stage/$name/bin" "$stage/$name/scripts" "$stage/$name/plugins/postrender" "$stage/$name/docs"
  install -m 755 "$1" "$stage/$name/bin/opsta-lint"
  install -m 644 plugin.yaml LICENSE README.md "$stage/$name/"
  install -m 644 docs/install.md "$stage/$name/docs/"
  install -m 755 scripts/helm-plugin-install.sh "$stage/$name/scripts/"
  install -m 644 scripts/project.env "$stage/$name/scripts/"
  install -m 644 plugins/postrender/plugin.yaml "$stage/$name/plugins/postrender/"
  install -m 755 plugins/postrender/postrender.sh "$stage/$name/plugins/postrender/"
  mkdir -p "$out"
  # Same bytes for the same inputs: fixed owner, order and times (GNU tar; macOS has it as gtar).
  "$(command -v gtar || command -v tar)" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$stage" -czf "$out/$name.tar.gz" "$name"
  rm -rf "$stage"
  echo "$out/$name.tar.gz"
}

if $checksums_only; then
  write_checksums
  exit 0
fi
if [ -n "$binary" ]; then
  [ ${#targets[@]} -eq 0 ] || usage
  [ -x "$binary" ] || die "--binary $binary is not an executable file"
  [ "$("$binary" --version)" = "opsta-lint $version" ] || die "--binary $binary is not opsta-lint $version"
  # A test build carries debug information (about 200 MB): package a stripped copy, as the dist profile would.
  stripped=$(mktemp)
  cp "$binary" "$stripped"
  strip "$stripped" 2>/dev/null || true
  package "$stripped" "$(host_platform)"
  rm -f "$stripped"
else
  [ ${#targets[@]} -gt 0 ] ||
    targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-apple-darwin aarch64-apple-darwin)
  for target in "${targets[@]}"; do
    platform=$(platform_of "$target")
    bin=$(build "$target")
    [[ "$target" != *-linux-* ]] || check_static "$bin"
    package "$bin" "$platform"
  done
fi
write_checksums
