#!/usr/bin/env bash
# A/B: two builds of checkpoint on the same 100 gates x 10 checks (GET /health,
# status 200, one JSONPath) against nginx on loopback, interleaved, so a
# change can be told from the machine's load: `bench-hurl.sh` compares with
# Hurl, this compares checkpoint with itself.
#
# Usage: scripts/bench-ab.sh OLD_BINARY [NEW_BINARY]
#   NEW_BINARY defaults to this checkout's release build (built first).
#   An old build: git worktree add /tmp/old REV && \
#     CARGO_TARGET_DIR=/tmp/old-target cargo build --release -p checkpoint --manifest-path /tmp/old/Cargo.toml
# Env: ROUNDS (default 4; each round runs both orders), RUNS per command per
#   hyperfine invocation (default 5), BENCH_PORT (default: a free one).
# Prints each invocation's means and, last, the mean of the means of each build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
old=${1:?usage: scripts/bench-ab.sh OLD_BINARY [NEW_BINARY]}
rounds=${ROUNDS:-4}
runs=${RUNS:-5}
for tool in nginx hyperfine; do
  command -v "$tool" >/dev/null || { echo "bench-ab: $tool is needed (scripts/bench-hurl.sh installs it)" >&2; exit 2; }
done
cargo build --release -q -p checkpoint -p checkpoint-bench
bin=$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)
new=${2:-$bin/checkpoint}
[ -x "$old" ] || { echo "bench-ab: $old is not an executable" >&2; exit 2; }

tmp=$(mktemp -d)
nginx_pid=
trap 'if [ -n "$nginx_pid" ]; then kill "$nginx_pid" 2>/dev/null || true; fi; rm -rf "$tmp"' EXIT
# shellcheck source=scripts/bench-nginx.sh
. "$root/scripts/bench-nginx.sh"
bench_nginx "$tmp"

"$bin/checkpoint-bench" gen "$tmp/plan" "$url" 1000 100
export NO_COLOR=1 CI=true
cmd() { echo "$1 --dir $tmp/plan/checkpoints run 1 --out $tmp/out-$2 -j 8"; }
for b in old new; do
  bin_of=$old; [ "$b" = new ] && bin_of=$new
  read -ra words <<<"$(cmd "$bin_of" "$b")"
  "${words[@]}" >"$tmp/check-$b.log" 2>&1 || { echo "bench-ab: the $b build's run failed:" >&2; head -n 20 "$tmp/check-$b.log" >&2; exit 1; }
done
for i in $(seq 1 "$rounds"); do
  for order in "old new" "new old"; do
    read -r first second <<<"$order"
    a=(); for b in $first $second; do
      bin_of=$old; [ "$b" = new ] && bin_of=$new
      a+=(-n "$b" "$(cmd "$bin_of" "$b")")
    done
    hyperfine -N --style none --warmup 2 --runs "$runs" --export-json "$tmp/r-$i-$first.json" "${a[@]}" >/dev/null
    python3 - "$tmp/r-$i-$first.json" "$i" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print(f"round {sys.argv[2]}: " + ", ".join(f"{x['command']} {x['mean'] * 1000:.1f} ms" for x in r))
PY
  done
done
python3 - "$tmp" <<'PY'
import glob, json, statistics, sys
means = {"old": [], "new": []}
for f in glob.glob(sys.argv[1] + "/r-*.json"):
    for x in json.load(open(f))["results"]:
        means[x["command"]].append(x["mean"] * 1000)
o, n = statistics.mean(means["old"]), statistics.mean(means["new"])
print(f"mean of means: old {o:.1f} ms, new {n:.1f} ms, new/old {n / o:.2f}x ({len(means['new'])} invocations each)")
PY
