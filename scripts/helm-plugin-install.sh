#!/bin/sh
# Install and update hook of the Helm plugin (plugin.yaml): puts the opsta-lint binary of the plugin's version at
# bin/opsta-lint in the plugin folder, taken from the first of these that applies (docs/install.md):
#   OPSTA_LINT_BIN=/path/to/opsta-lint         that binary, copied;
#   OPSTA_LINT_TARBALL=/path/to/opsta-lint_<version>_<os>_<arch>.tar.gz
#                                              that release tarball, checked against checksums.txt beside it when
#                                              there is one;
#   OPSTA_LINT_BUILD=1                         a build of this checkout with cargo (release profile);
#   bin/opsta-lint of the plugin's version     already there (an unpacked release tarball installed as a folder);
#   otherwise                                  the release tarball of this platform, downloaded from
#                                              $OPSTA_LINT_DOWNLOAD_URL/v<version>/ (default: the project's GitHub
#                                              releases, scripts/project.env) and checked against checksums.txt.
# Then the binary runs once (--version). Any failure prints one line (what failed, the offline alternative and the
# command that removes the half-installed plugin, which Helm keeps registered) and leaves no bin/opsta-lint.
set -u
dir="${HELM_PLUGIN_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$dir" || exit 1
version=$(sed -n 's/^version:[[:space:]]*"\{0,1\}\([^"[:space:]]*\)"\{0,1\}[[:space:]]*$/\1/p' plugin.yaml)
os=$(uname -s)
arch=$(uname -m)
case "$os" in Linux) os=linux ;; Darwin) os=darwin ;; esac
case "$arch" in amd64) arch=x86_64 ;; arm64) arch=aarch64 ;; esac
tarball="opsta-lint_${version}_${os}_${arch}.tar.gz"
work=""

fail() {
    rm -rf bin/opsta-lint bin/opsta-lint.tmp ${work:+"$work"}
    echo "opsta-lint: $1; to install offline, set OPSTA_LINT_TARBALL=/path/to/$tarball (checksums.txt beside it) or OPSTA_LINT_BIN=/path/to/opsta-lint, after removing the half-installed plugin: helm plugin uninstall opsta-lint" >&2
    exit 1
}

# One line of a command's error output.
one_line() { tr '\n\r' '  ' | sed 's/  *$//'; }

fetch() { # url dest
    if command -v curl >/dev/null 2>&1; then
        why=$(curl -fsS --retry 2 --connect-timeout 20 -o "$2" "$1" 2>&1) && return 0
    elif command -v wget >/dev/null 2>&1; then
        why=$(wget -q -T 20 -O "$2" "$1" 2>&1) && return 0
    else
        why="neither curl nor wget is installed"
    fi
    fail "could not download $1 ($(echo "$why" | one_line))"
}

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1
}

# Checks $1 (a tarball) against the line for its name in checksums file $2.
verify() {
    want=$(awk -v name="$(basename "$1")" '$2 == name || $2 == "*" name { print $1 }' "$2")
    [ -n "$want" ] || fail "$2 lists no checksum for $(basename "$1")"
    [ "$(sha256 "$1")" = "$want" ] || fail "$1 does not match its sha256 in $2 (a damaged or tampered download)"
}

# Unpacks bin/opsta-lint from release tarball $1 into bin/opsta-lint.tmp.
unpack() {
    mkdir -p "$work/unpacked"
    why=$(tar -xzf "$1" -C "$work/unpacked" 2>&1) || fail "could not unpack $1 ($(echo "$why" | one_line))"
    found=$(find "$work/unpacked" -path '*/bin/opsta-lint' -type f | head -n 1)
    [ -n "$found" ] || fail "$1 holds no bin/opsta-lint"
    cp "$found" bin/opsta-lint.tmp || fail "could not write $dir/bin/opsta-lint.tmp"
}

mkdir -p bin || fail "could not create $dir/bin"
work=$(mktemp -d) || fail "could not create a temporary folder"
if [ -n "${OPSTA_LINT_BIN:-}" ]; then
    cp "$OPSTA_LINT_BIN" bin/opsta-lint.tmp 2>/dev/null || fail "could not copy OPSTA_LINT_BIN=$OPSTA_LINT_BIN"
elif [ -n "${OPSTA_LINT_TARBALL:-}" ]; then
    [ -f "$OPSTA_LINT_TARBALL" ] || fail "OPSTA_LINT_TARBALL=$OPSTA_LINT_TARBALL is not a file"
    sums="$(dirname "$OPSTA_LINT_TARBALL")/checksums.txt"
    if [ -f "$sums" ]; then
        verify "$OPSTA_LINT_TARBALL" "$sums"
    else
        echo "opsta-lint: no checksums.txt beside $OPSTA_LINT_TARBALL: its sha256 is not checked" >&2
    fi
    unpack "$OPSTA_LINT_TARBALL"
elif [ "${OPSTA_LINT_BUILD:-}" = 1 ]; then
    echo "opsta-lint: building the binary with cargo" >&2
    cargo build --release --locked >&2 || fail "cargo build --release --locked failed in $dir"
    cp "${CARGO_TARGET_DIR:-target}/release/opsta-lint" bin/opsta-lint.tmp || fail "no binary after cargo build"
elif [ -x bin/opsta-lint ] && [ "$(bin/opsta-lint --version 2>/dev/null)" = "opsta-lint $version" ]; then
    cp bin/opsta-lint bin/opsta-lint.tmp
else
    [ -f scripts/project.env ] || fail "$dir/scripts/project.env is missing"
    . ./scripts/project.env
    base="${OPSTA_LINT_DOWNLOAD_URL:-https://github.com/$OPSTA_LINT_REPOSITORY/releases/download}"
    base="${base%/}/v$version"
    fetch "$base/$tarball" "$work/$tarball"
    fetch "$base/checksums.txt" "$work/checksums.txt"
    verify "$work/$tarball" "$work/checksums.txt"
    unpack "$work/$tarball"
fi
chmod +x bin/opsta-lint.tmp && mv bin/opsta-lint.tmp bin/opsta-lint || fail "could not write $dir/bin/opsta-lint"
rm -rf "$work"
got=$(bin/opsta-lint --version 2>&1) || fail "$dir/bin/opsta-lint does not run on this machine ($os $arch)"
echo "$got"
[ "$got" = "opsta-lint $version" ] || echo "opsta-lint: warning: bin/opsta-lint is ${got#opsta-lint }, the plugin is $version" >&2
