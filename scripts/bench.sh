#!/usr/bin/env bash
# Benchmark: N http checks through `checkpoint run` versus a bare reqwest loop
# doing the same requests at the same concurrency, against a local server.
# Prints wall time, checks/s and peak RSS. Usage: scripts/bench.sh [N] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
c=${2:-16}
port=${BENCH_PORT:-18081}
cargo build --release -q -p checkpoint -p checkpoint-bench
bin=target/release
tmp=$(mktemp -d)
"$bin/checkpoint-bench" serve "$port" & server=$!
trap 'kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$port/health"
"$bin/checkpoint-bench" gen "$tmp" "$url" "$n" "$c"
# Warm-up, then three runs each; report the median.
"$bin/checkpoint-bench" bare "$url" 200 "$c" >/dev/null
measure() { /usr/bin/time -f '%e %M' "$@" 2>&1 >/dev/null | tail -n 1; }
bare_runs=(); harness_runs=()
for _ in 1 2 3; do
  bare_runs+=("$(measure "$bin/checkpoint-bench" bare "$url" "$n" "$c")")
  harness_runs+=("$(measure "$bin/checkpoint" --dir "$tmp/checkpoints" run 1 --jobs "$c" --out "$tmp/out" --color never)")
done
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
bw=$(median "$(echo "${bare_runs[@]}" | tr ' ' '\n' | awk 'NR%2==1')"); bm=$(median "$(echo "${bare_runs[@]}" | tr ' ' '\n' | awk 'NR%2==0')")
hw=$(median "$(echo "${harness_runs[@]}" | tr ' ' '\n' | awk 'NR%2==1')"); hm=$(median "$(echo "${harness_runs[@]}" | tr ' ' '\n' | awk 'NR%2==0')")
grep -q '"verdict": "passed"' "$tmp/out/results.json" || { echo "bench: the harness run did not pass" >&2; exit 1; }
awk -v n="$n" -v c="$c" -v bw="$bw" -v bm="$bm" -v hw="$hw" -v hm="$hm" 'BEGIN {
  printf "%d http checks, concurrency %d (median of 3)\n", n, c
  printf "%-22s %8s %10s %12s\n", "", "wall", "checks/s", "peak RSS"
  printf "%-22s %7.2fs %10.0f %9.1f MB\n", "bare reqwest loop", bw, n/bw, bm/1024
  printf "%-22s %7.2fs %10.0f %9.1f MB\n", "checkpoint run", hw, n/hw, hm/1024
  printf "ratio (harness / bare): %.2fx wall\n", hw/bw
}'
