#!/usr/bin/env bash
# The main job on the demo stack: provisions Docker and the demo images if
# needed (no registry here: images are built from Debian packages, cached),
# installs checkpoint, and runs checkpoint 1 against docker-compose.test.yml.
# Extra arguments go to `checkpoint run 1` (e.g. --waves wave1, --keep).
#
# Afterwards the same shell can type `checkpoint run 1`: the binary is installed
# into cargo's bin directory (on PATH with a rustup install), and the image names
# are in the project's .env, which compose reads by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/provision.sh
fixtures/images/build.sh
# `--path` builds in this workspace's target/ (the release build is reused).
cargo install --locked --quiet --path crates/checkpoint
bin_dir="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin"
case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) echo "demo: note: $bin_dir is not on PATH; add it (export PATH=\"$bin_dir:\$PATH\") to type \`checkpoint\`" >&2 ;;
esac
exec "$bin_dir/checkpoint" run 1 "$@"
