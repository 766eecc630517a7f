#!/usr/bin/env bash
# Installs a prebuilt `checkpoint` from a GitHub release, checksum verified:
#   checkpoint-<target>.tar.gz   (the binary, for the runner's platform)
#   SHA256SUMS                   (sha256sum's format, one line per asset)
#
# Environment (the composite action sets these from its inputs):
#   CP_VERSION       a tag (v1.2.3) or `latest`
#   CP_RELEASES      the releases URL: https://github.com/OWNER/REPO/releases
#   CP_INSTALL_DIR   where the binary goes (default: $RUNNER_TOOL_CACHE/checkpoint/bin or ~/.local/bin)
# Prints the installed binary's path last; adds its folder to $GITHUB_PATH when set.
set -euo pipefail
die() { echo "::error title=checkpoint install::$*" >&2; exit 1; }

case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) target=x86_64-unknown-linux-musl ;;
    Linux-aarch64 | Linux-arm64) target=aarch64-unknown-linux-musl ;;
    Darwin-x86_64) target=x86_64-apple-darwin ;;
    Darwin-arm64) target=aarch64-apple-darwin ;;
    *) die "no prebuilt checkpoint for $(uname -s) $(uname -m): set the input build-from-source: true" ;;
esac

version=${CP_VERSION:-latest}
releases=${CP_RELEASES:?CP_RELEASES is not set}
if [ "$version" = latest ]; then base="$releases/latest/download"; else base="$releases/download/$version"; fi
asset="checkpoint-$target.tar.gz"
dir=${CP_INSTALL_DIR:-${RUNNER_TOOL_CACHE:+$RUNNER_TOOL_CACHE/checkpoint/bin}}
dir=${dir:-$HOME/.local/bin}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fetch() { curl --fail --silent --show-error --location --retry 3 -o "$work/$2" "$base/$1" || die "cannot download $base/$1"; }
echo "checkpoint: downloading $asset ($version) from $base" >&2
fetch "$asset" "$asset"
fetch SHA256SUMS SHA256SUMS

expected=$(awk -v a="$asset" '$2 == a || $2 == "*" a { print $1 }' "$work/SHA256SUMS")
[ -n "$expected" ] || die "SHA256SUMS of $version lists no $asset"
actual=$(sha256sum "$work/$asset" | cut -d' ' -f1)
[ "$expected" = "$actual" ] || die "checksum mismatch for $asset: SHA256SUMS says $expected, the download is $actual (refusing to install)"

tar -xzf "$work/$asset" -C "$work"
[ -f "$work/checkpoint" ] || die "$asset holds no \`checkpoint\` binary"
mkdir -p "$dir"
install -m 0755 "$work/checkpoint" "$dir/checkpoint"
if [ -n "${GITHUB_PATH:-}" ]; then echo "$dir" >> "$GITHUB_PATH"; fi
"$dir/checkpoint" --version >&2
echo "$dir/checkpoint"
