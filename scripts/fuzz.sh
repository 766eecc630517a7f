#!/usr/bin/env bash
# Fuzzes the checkpoint loader and the contract differ for SECONDS each
# (default 300, so the pair is 10 minutes) with crates/checkpoint-fuzz: stable
# toolchain, release build, a fresh random seed per run (printed, so a finding
# reproduces with `checkpoint-fuzz TARGET SECONDS SEED`). Exits 1 on a finding
# (saved under target/fuzz-findings/).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-300}
cargo build --release --locked -q -p checkpoint-fuzz
status=0
for target in loader diff; do
  target/release/checkpoint-fuzz "$target" "$secs" || status=1
done
exit $status
