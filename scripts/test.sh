#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this):
# provisions what a fresh machine lacks (Postgres, Redis, xmllint, Docker and
# compose, the demo images), starts the test services, then runs fmt, clippy
# and every test, the Docker end-to-end tests included.
set -euo pipefail
cd "$(dirname "$0")/.."

# CI builds once from a clean clone: incremental compilation would only add
# its cache (~1.3 GB) to the disk the tests need.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi
disk() { echo "== disk: $(df -h --output=avail . | tail -1 | tr -d ' ') free where the build goes ($1)"; }
disk "before provisioning"

scripts/provision.sh
fixtures/images/build.sh
# The Node image is mostly apt downloading (~2 min on a cold machine): it builds while the
# pystack's image, fmt and clippy do, and is waited for before the tests.
mkdir -p .cache
fixtures/nodestack/build.sh > .cache/nodestack-build.log 2>&1 &
nodestack_build=$!
fixtures/pystack/build.sh
# An assignment, so that a service that cannot start stops the run here (set -e) rather
# than every test that needs it failing later for want of its variable.
services=$(scripts/test-services.sh start)
eval "$services"
trap 'disk "at the end"; scripts/test-services.sh stop' EXIT

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
if ! wait "$nodestack_build"; then
  tail -n 30 .cache/nodestack-build.log >&2
  echo "fixtures/nodestack/build.sh failed (log: .cache/nodestack-build.log)" >&2
  exit 1
fi
tail -n 2 .cache/nodestack-build.log
disk "before the tests"
echo "== tests"
if command -v cargo-nextest >/dev/null 2>&1; then
  profile=default
  [ -n "${CI:-}" ] && profile=ci
  cargo nextest run --workspace --locked --profile "$profile"
else
  cargo test --workspace --locked
fi
