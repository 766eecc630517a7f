#!/usr/bin/env bash
# Builds the `checkpoint` binary as a Python wheel (maturin, `bin` bindings):
# `pip install`, `pipx install` or `uvx --from` the file it prints.
#
#   scripts/wheel.sh                 release build → target/wheels/checkpoint_harness-*.whl
#   WHEEL_PROFILE=dev scripts/wheel.sh   the dev profile (what the test suite uses: no
#                                    second optimised build of the whole workspace)
#
# maturin comes from PyPI into .cache/tools/maturin (idempotent). It tags the
# wheel with the oldest manylinux policy the binary's glibc symbols allow.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$PWD/.cache/tools
venv=$tools/maturin
if ! "$venv/bin/maturin" --version >/dev/null 2>&1; then
  echo "wheel: installing maturin (PyPI) into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'maturin>=1.9,<2'
fi
profile=${WHEEL_PROFILE:-release}
out=${WHEEL_OUT:-target/wheels}
rm -f "$out"/checkpoint_harness-*.whl
args=(build -m crates/checkpoint/Cargo.toml --out "$out" --locked)
if [ "$profile" = release ]; then args+=(--release); else args+=(--profile "$profile"); fi
"$venv/bin/maturin" "${args[@]}" >&2
wheel=$(ls "$out"/checkpoint_harness-*.whl)
echo "wheel: $wheel ($(du -h "$wheel" | cut -f1))" >&2
echo "$wheel"
