#!/usr/bin/env bash
# Interrupts N runs of `checkpoint run 1` (default 20) with SIGINT at random
# moments (0.2–14 s: compose up, readiness, checks, teardown) and checks each:
# it ends within 60 s with 0, 1 or 130, writes a results.json and a junit.xml
# valid against junit-10.xsd, and leaves no container, network or volume of its
# project. Reports go to target/interrupt-soak/, nothing to the temp directory.
# Prints 'N passed, M failed'; exits 1 if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
bin=target/release/checkpoint
cargo build --release --locked -q -p checkpoint
xsd=../shared/schemas/junit-10.xsd
base=target/interrupt-soak
rm -rf "$base"
mkdir -p "$base"
passed=0 failed=0
for i in $(seq 1 "$n"); do
  project="soak-$i-$RANDOM"
  out="$base/$i"
  delay=$(awk -v r="$RANDOM" 'BEGIN { printf "%.1f", 0.2 + (r % 139) / 10 }')
  "$bin" run 1 -p "$project" -o "$out" --color never > "$base/$i.console" 2>&1 &
  pid=$!
  sleep "$delay"
  kill -INT "$pid" 2>/dev/null || true
  start=$SECONDS
  code=0
  wait "$pid" || code=$?
  took=$((SECONDS - start))
  problems=()
  case "$code" in 0|1|130) ;; *) problems+=("exit $code") ;; esac
  [ "$took" -le 60 ] || problems+=("took ${took}s to end")
  [ -s "$out/results.json" ] || problems+=("no results.json")
  if [ -s "$out/junit.xml" ]; then
    if [ -f "$xsd" ] && ! xmllint --noout --nonet --schema "$xsd" "$out/junit.xml" 2>/dev/null; then problems+=("junit.xml invalid"); fi
  else
    problems+=("no junit.xml")
  fi
  for what in "ps -aq" "network ls -q" "volume ls -q"; do
    # shellcheck disable=SC2086
    left=$(docker $what --filter "label=com.docker.compose.project=$project")
    [ -z "$left" ] || problems+=("left: docker $what")
  done
  if [ ${#problems[@]} -eq 0 ]; then
    passed=$((passed + 1))
    echo "run $i: interrupted after ${delay}s: exit $code, clean"
  else
    failed=$((failed + 1))
    echo "run $i: interrupted after ${delay}s: ${problems[*]} (console: $base/$i.console)"
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
