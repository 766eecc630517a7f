#!/usr/bin/env bash
# The main job on the demo stack: provisions Docker and the demo images if
# needed (no registry here: images are built from Debian packages, cached),
# builds checkpoint, and runs checkpoint 1 against docker-compose.test.yml.
# Extra arguments go to `checkpoint run 1` (e.g. --waves wave1, --keep).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/provision.sh
fixtures/images/build.sh
# Point the standard compose file at the locally built images.
set -a
# shellcheck disable=SC1091
. .cache/images.env
set +a
cargo build --release --locked -q -p checkpoint
exec target/release/checkpoint run 1 "$@"
