#!/usr/bin/env bash
# Benchmark: the `latency` check kind against wrk on the same endpoint, at the
# same concurrency, for the same time. Its own overhead must not distort the
# measure: targets are requests/s >= 0.8x wrk's and p95 within 10% of wrk's.
#
# Usage: scripts/bench-latency.sh [CONCURRENCY] [SECONDS] [DELAY_MS]
#   defaults 8 connections, 5 s, a server delay of 2 ms (so p95 is the
#   server's delay plus what each client adds, not noise around zero).
# Env: BENCH_PORT (default 18082), RUNS (default 3; the median is reported).
#
# Both clients run in turn, never together, against `checkpoint-bench serve`
# (axum, loopback). wrk runs with -t2 (this machine has two cores); its p95
# comes from wrk's own latency histogram through a `done` hook, which adds
# nothing to the request path. The harness's figures are read from the
# `metrics` of its check in results.json. Exits 1 when a target is missed.
set -euo pipefail
cd "$(dirname "$0")/.."
c=${1:-8}
secs=${2:-5}
delay=${3:-2}
port=${BENCH_PORT:-18082}
runs=${RUNS:-3}

if ! command -v wrk >/dev/null; then
  echo "bench-latency: installing wrk (Debian package)" >&2
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
cargo build --release -q -p checkpoint -p checkpoint-bench
bin=${CARGO_TARGET_DIR:-target}/release
tmp=$(mktemp -d)
"$bin/checkpoint-bench" serve "$port" "$delay" & server=$!
trap 'kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
url="http://127.0.0.1:$port/health"
for _ in $(seq 1 50); do curl -sf "$url" >/dev/null && break; sleep 0.1; done
"$bin/checkpoint-bench" gen-latency "$tmp" "$url" "$c" "$secs"
cat > "$tmp/p95.lua" <<'EOF'
done = function(summary, latency, requests)
  io.write(string.format("BENCH rps %.2f p95_ms %.3f p50_ms %.3f errors %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(95) / 1000,
    latency:percentile(50) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
EOF

# Warm-up: the server's first connections and allocations are nobody's figure.
wrk -t2 -c "$c" -d1s "$url" >/dev/null

# CPU time per request (user + system, the whole process) says what each
# client costs, which the shared cores' noise does not blur as much.
cpu_us() { awk -v n="$2" '{ printf "%.1f", ($1 + $2) * 1e6 / n }' "$1"; }
wrk_rps=(); wrk_p95=(); wrk_cpu=(); cp_rps=(); cp_p95=(); cp_cpu=()
for i in $(seq 1 "$runs"); do
  line=$(/usr/bin/time -o "$tmp/wrk.time" -f '%U %S' \
    wrk -t2 -c "$c" -d "${secs}s" --latency -s "$tmp/p95.lua" "$url" | grep '^BENCH')
  read -r _ _ rps _ p95 _ _ _ errs <<<"$line"
  [ "$errs" = 0 ] || { echo "bench-latency: wrk saw $errs errors" >&2; exit 1; }
  wrk_rps+=("$rps"); wrk_p95+=("$p95")
  wrk_cpu+=("$(cpu_us "$tmp/wrk.time" "$(awk -v r="$rps" -v s="$secs" 'BEGIN { print r * s }')")")
  rm -rf "$tmp/out"
  /usr/bin/time -o "$tmp/cp.time" -f '%U %S' \
    "$bin/checkpoint" --dir "$tmp/checkpoints" run 1 --out "$tmp/out" --color never >/dev/null 2>&1 || true
  read -r rps p95 errs n verdict < <(python3 - "$tmp/out/results.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
m = r["gates"][0]["checks"][0]["metrics"]
print(f'{m["rps"]:.2f} {m["p95"]:.3f} {m["errors"]} {m["requests"]} {r["verdict"]}')
EOF
)
  [ "$errs" = 0 ] || { echo "bench-latency: the latency check saw $errs errors" >&2; exit 1; }
  cp_rps+=("$rps"); cp_p95+=("$p95"); cp_cpu+=("$(cpu_us "$tmp/cp.time" "$n")")
  echo "run $i: wrk ${wrk_rps[-1]} req/s p95 ${wrk_p95[-1]}ms ${wrk_cpu[-1]}µs CPU/req" \
    "· checkpoint $rps req/s p95 ${p95}ms ${cp_cpu[-1]}µs CPU/req ($verdict)" >&2
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
wr=$(median "${wrk_rps[@]}"); wp=$(median "${wrk_p95[@]}"); wc=$(median "${wrk_cpu[@]}")
hr=$(median "${cp_rps[@]}"); hp=$(median "${cp_p95[@]}"); hc=$(median "${cp_cpu[@]}")
awk -v c="$c" -v s="$secs" -v d="$delay" -v n="$runs" -v wr="$wr" -v wp="$wp" -v hr="$hr" -v hp="$hp" \
    -v wc="$wc" -v hc="$hc" 'BEGIN {
  rate = hr / wr; p95 = hp / wp
  printf "latency: GET /health (server delay %d ms), concurrency %d, %d s, median of %d\n", d, c, s, n
  printf "%-18s %12s %10s %16s\n", "", "requests/s", "p95", "client CPU/req"
  printf "%-18s %12.0f %8.2fms %14.1fus\n", "wrk -t2", wr, wp, wc
  printf "%-18s %12.0f %8.2fms %14.1fus\n", "checkpoint run", hr, hp, hc
  printf "%-18s %11.2fx %9.2fx %15.2fx\n", "ratio", rate, p95, hc / wc
  ok_rate = rate >= 0.8; ok_p95 = p95 >= 0.9 && p95 <= 1.1
  printf "targets: rate >= 0.80x wrk: %s; p95 within 10%% of wrk: %s\n", ok_rate ? "met" : "MISSED", ok_p95 ? "met" : "MISSED"
  exit !(ok_rate && ok_p95)
}'
