#!/usr/bin/env bash
# Benchmark: `checkpoint run` side by side with Hurl 8.0.1 on the same 1,000
# requests (GET /health, status 200, one JSONPath assert `$.status == "ok"`),
# against nginx serving a static JSON file on loopback. Prints one table: wall
# time of both tools at --jobs 8 in two shapes (100 gates/files x 10, 8 x 125),
# `checkpoint validate` time, peak RSS, binary size, junit.xml size, and whether
# a plain-HTTP run opens anything under /etc/ssl, each with its target.
#
# Usage: scripts/bench-hurl.sh
# Env:
#   JOBS      gates (checkpoint) and files (Hurl) run at once (default 8)
#   RUNS      timed runs of each command per shape (default 15), WARMUP (default 3)
#   ROUNDS    hyperfine runs every run of one command before the next command's,
#             so under a shared machine's changing load the two would not be
#             measured under the same load. The RUNS are split into ROUNDS
#             hyperfine invocations (default 5, of 3 runs each), the order of the
#             two commands flipped each time, and their times pooled. ROUNDS=1 is
#             one invocation of `--warmup WARMUP --runs RUNS`.
#   BENCH_PORT  nginx's port (default: a free one)
#   BENCH_OUT   where hyperfine's JSON exports and the table go (default target/bench-hurl)
#   STRICT=1  exit 1 when a target is missed (default: report it and exit 0)
#
# Installs what it needs, idempotently: Debian's nginx, hyperfine, strace, time, binutils
# (and, to build Hurl, libclang-dev libxml2-dev libcurl4-openssl-dev pkg-config);
# Hurl 8.0.1 built from crates.io into .cache/tools/hurl (8.1 needs a newer rustc).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools=${CHECKPOINT_CACHE:-$root/.cache}/tools
hurl_version=8.0.1
jobs=${JOBS:-8}
runs=${RUNS:-15}
warmup=${WARMUP:-3}
rounds=${ROUNDS:-5}
out=${BENCH_OUT:-$root/target/bench-hurl}
n=1000

have() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
hurl=$tools/hurl/bin/hurl
hurl_ok() { "$hurl" --version 2>/dev/null | head -n 1 | grep -q "^hurl $hurl_version "; }

need_pkgs=()
have nginx || need_pkgs+=(nginx-light)
have hyperfine || need_pkgs+=(hyperfine)
have strace || need_pkgs+=(strace)
[ -x /usr/bin/time ] || need_pkgs+=(time)
have curl || need_pkgs+=(curl)
have strip || need_pkgs+=(binutils)
if ! hurl_ok; then
  for p in libclang-dev libxml2-dev libcurl4-openssl-dev pkg-config; do installed "$p" || need_pkgs+=("$p"); done
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  as_root apt-get update -qq
  # Debian 12's nginx-light is a transitional package for nginx; elsewhere it may be gone.
  if [[ " ${need_pkgs[*]} " == *" nginx-light "* ]] && ! apt-cache show nginx-light >/dev/null 2>&1; then
    need_pkgs=("${need_pkgs[@]/nginx-light/nginx}")
  fi
  echo "bench-hurl: installing ${need_pkgs[*]}" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

if ! hurl_ok; then
  echo "bench-hurl: building Hurl $hurl_version from crates.io into $tools/hurl (several minutes)" >&2
  cargo install -q hurl --version "$hurl_version" --locked --root "$tools/hurl" \
    || cargo install -q hurl --version "$hurl_version" --root "$tools/hurl"
  hurl_ok || { echo "bench-hurl: $hurl is not Hurl $hurl_version" >&2; exit 3; }
fi

cargo build --release -q -p checkpoint -p checkpoint-bench
bin=$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)
mkdir -p "$out"
rm -f "$out"/*.json

tmp=$(mktemp -d)
nginx_pid=
cleanup() {
  if [ -n "$nginx_pid" ]; then
    kill "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck source=scripts/bench-nginx.sh
. "$root/scripts/bench-nginx.sh"
bench_nginx "$tmp"
ng=$tmp/nginx
[ "$(curl -sf "$url")" = '{"status":"ok"}' ] || { echo "bench-hurl: nginx does not serve $url" >&2; cat "$ng/error.log" >&2; exit 1; }

# The same 1,000 requests for both tools, in three shapes: gates (checkpoint) and
# files (Hurl) x requests in each.
export NO_COLOR=1 CI=true
shapes=(100x10 8x125 1x1000)
for s in "${shapes[@]}"; do
  "$bin/checkpoint-bench" gen "$tmp/$s" "$url" "$n" "${s%x*}"
  "$bin/checkpoint-bench" gen-hurl "$tmp/$s" "$url" "$n" "${s%x*}"
done
cp_cmd() { echo "$bin/checkpoint --dir $tmp/$1/checkpoints run 1 --out $tmp/$1/out -j $jobs"; }
hurl_cmd() { echo "$hurl --test --jobs $jobs" "$tmp/$1"/hurl/*.hurl; }
# `words FN SHAPE` puts the words of that command line in the array `cmd` (no word has a space).
words() { read -ra cmd <<<"$("$1" "$2")"; }

# Both must pass before anything is timed.
for s in "${shapes[@]}"; do
  words cp_cmd "$s"
  "${cmd[@]}" >/dev/null 2>&1 || { echo "bench-hurl: checkpoint run failed ($s)" >&2; exit 1; }
  passed=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(r["verdict"], sum(1 for g in r["gates"] for c in g["checks"] if c["status"] == "passed"))' "$tmp/$s/out/results.json")
  [ "$passed" = "passed $n" ] || { echo "bench-hurl: checkpoint run ($s): $passed, not passed $n" >&2; exit 1; }
  words hurl_cmd "$s"
  "${cmd[@]}" >/dev/null 2>"$tmp/hurl.err" || { echo "bench-hurl: hurl failed ($s)" >&2; tail "$tmp/hurl.err" >&2; exit 1; }
  grep -Eq "Executed requests: +$n " "$tmp/hurl.err" || { echo "bench-hurl: hurl did not run $n requests ($s)" >&2; tail "$tmp/hurl.err" >&2; exit 1; }
done

# Wall time: the two commands in each hyperfine invocation, in alternating order.
per_round=$(((runs + rounds - 1) / rounds))
timed() { # SHAPE: hyperfine exports $out/SHAPE-N.json, N = 1..ROUNDS
  local s=$1 i w
  for i in $(seq 1 "$rounds"); do
    w=1
    [ "$i" = 1 ] && w=$warmup
    local a=(-n checkpoint "$(cp_cmd "$s")" -n hurl "$(hurl_cmd "$s")")
    [ $((i % 2)) = 0 ] && a=(-n hurl "$(hurl_cmd "$s")" -n checkpoint "$(cp_cmd "$s")")
    hyperfine -N --style basic --warmup "$w" --runs "$per_round" --export-json "$out/$s-$i.json" "${a[@]}" \
      >"$out/$s-$i.txt" 2>&1 || { cat "$out/$s-$i.txt" >&2; exit 1; }
    python3 - "$out/$s-$i.json" "$s" "$i" "$rounds" <<'EOF' >&2
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
print(f"{sys.argv[2]} round {sys.argv[3]}/{sys.argv[4]}: " + ", ".join(
    f'{k} {r[k]["median"] * 1e3:.0f} ms' for k in ("checkpoint", "hurl")))
EOF
  done
}
# Pools the rounds of SHAPE: prints checkpoint's and Hurl's mean, median (ms) and CPU (user + system, ms).
pooled() {
  python3 - "$out/$1" "$rounds" <<'EOF'
import json, statistics, sys
times, cpu = {}, {}
for i in range(1, int(sys.argv[2]) + 1):
    for x in json.load(open(f"{sys.argv[1]}-{i}.json"))["results"]:
        times.setdefault(x["command"], []).extend(x["times"])
        cpu.setdefault(x["command"], []).extend([x["user"] + x["system"]] * len(x["times"]))
print(" ".join(f"{statistics.mean(times[k]) * 1e3:.1f} {statistics.median(times[k]) * 1e3:.1f} {statistics.mean(cpu[k]) * 1e3:.1f}"
               for k in ("checkpoint", "hurl")))
EOF
}
timed 100x10
timed 8x125
read -r w100_cp_mean w100_cp_med w100_cp_cpu w100_h_mean w100_h_med w100_h_cpu < <(pooled 100x10)
read -r w8_cp_mean w8_cp_med w8_cp_cpu w8_h_mean w8_h_med w8_h_cpu < <(pooled 8x125)

# `checkpoint validate` on the 1,000-check file (100 gates x 10).
hyperfine -N --style basic --warmup "$warmup" --runs "$runs" --export-json "$out/validate.json" \
  -n validate "$bin/checkpoint --dir $tmp/100x10/checkpoints validate 1" >"$out/validate.txt" 2>&1 \
  || { cat "$out/validate.txt" >&2; exit 1; }
# Median (the target's figure, as for the wall times: one run slowed by a
# neighbour on a shared machine moves a 10 ms mean by a millisecond) and mean.
read -r validate_med validate_mean < <(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["results"][0]; print("%.1f %.1f" % (r["median"] * 1e3, r["mean"] * 1e3))' "$out/validate.json")

# Peak RSS (MB = 2^20 bytes), the median of 3 runs.
rss() {
  local i v=()
  words "$@"
  for i in 1 2 3; do
    /usr/bin/time -o "$tmp/rss" -f %M "${cmd[@]}" >/dev/null 2>&1
    v+=("$(tail -n 1 "$tmp/rss")")
  done
  printf '%s\n' "${v[@]}" | sort -n | sed -n 2p | awk '{ printf "%.1f", $1 / 1024 }'
}
rss1000_cp=$(rss cp_cmd 1x1000)
rss1000_h=$(rss hurl_cmd 1x1000)
rss100_cp=$(rss cp_cmd 100x10)
rss100_h=$(rss hurl_cmd 100x10)

# Binary sizes (MB = 2^20 bytes); Hurl links libcurl and libxml2 dynamically, checkpoint nothing but libc.
size_cp=$(stat -c %s "$bin/checkpoint" | awk '{ printf "%.1f", $1 / 1048576 }')
size_h=$(stat -c %s "$(readlink -f "$hurl")" | awk '{ printf "%.1f", $1 / 1048576 }')
# ... and with their symbol tables stripped (`strip`; what a packager would ship).
stripped() { strip -o "$tmp/stripped" "$1" && stat -c %s "$tmp/stripped" | awk '{ printf "%.1f", $1 / 1048576 }'; }
strip_cp=$(stripped "$bin/checkpoint")
strip_h=$(stripped "$hurl")

# The JUnit report of the 1,000 passing checks (100 x 10), in KB (2^10 bytes).
junit_kb=$(stat -c %s "$tmp/100x10/out/junit.xml" | awk '{ printf "%.0f", $1 / 1024 }')

# Does a plain-HTTP run read the certificate store? Counts opens (tried or done) of
# paths that resolve under /etc/ssl/certs or to $SSL_CERT_FILE / $SSL_CERT_DIR; every
# path under /etc/ssl that was opened goes to $out/ssl-opens-TOOL.txt, the counted
# ones marked `store` (OpenSSL's own config, /usr/lib/ssl/openssl.cnf, is not counted).
ssl_opens() { # TOOL FN SHAPE
  words "$2" "$3"
  strace -f -qq -e trace=open,openat -o "$tmp/strace" "${cmd[@]}" >/dev/null 2>&1
  python3 - "$tmp/strace" >"$out/ssl-opens-$1.txt" <<'EOF'
import os, re, sys
real = os.path.realpath
store = ["/etc/ssl/certs/"] + [real(os.environ[v]) + ("/" if v.endswith("DIR") else "")
                               for v in ("SSL_CERT_FILE", "SSL_CERT_DIR") if os.environ.get(v)]
for line in open(sys.argv[1]):
    m = re.search(r'open(?:at)?\([^"]*"([^"]*)"', line)
    if not m:
        continue
    path = real(m.group(1))
    if any(path == s or (path + "/").startswith(s) for s in store):
        print("store", m.group(1))
    elif (path + "/").startswith("/etc/ssl/"):
        print("other", m.group(1))
EOF
  grep -c '^store ' "$out/ssl-opens-$1.txt" || true
}
ssl_cp=$(ssl_opens checkpoint cp_cmd 100x10)
ssl_h=$(ssl_opens hurl hurl_cmd 100x10)

# The table: name, checkpoint, peer, ratio, target, met/missed. TARGET is `ratio<=X`,
# `value<=X`, `value==X` or `-` (information only).
figures=$tmp/figures
fig() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$figures"; }
fig "wall 100x10 -j$jobs, median (ms)" "$w100_cp_med" "$w100_h_med" "ratio<=0.75"
fig "wall 100x10 -j$jobs, mean (ms)" "$w100_cp_mean" "$w100_h_mean" "-"
fig "CPU 100x10 -j$jobs, user+sys (ms)" "$w100_cp_cpu" "$w100_h_cpu" "-"
fig "wall 8x125 -j$jobs, median (ms)" "$w8_cp_med" "$w8_h_med" "-"
fig "wall 8x125 -j$jobs, mean (ms)" "$w8_cp_mean" "$w8_h_mean" "-"
fig "CPU 8x125 -j$jobs, user+sys (ms)" "$w8_cp_cpu" "$w8_h_cpu" "-"
fig "validate 1,000 checks, median (ms)" "$validate_med" "-" "value<=10"
fig "validate 1,000 checks, mean (ms)" "$validate_mean" "-" "-"
fig "peak RSS 1x1000 (MB)" "$rss1000_cp" "$rss1000_h" "value<=25"
fig "peak RSS 100x10 -j$jobs (MB)" "$rss100_cp" "$rss100_h" "value<=25"
fig "binary size (MB)" "$size_cp" "$size_h" "value<=15"
fig "binary size, stripped (MB)" "$strip_cp" "$strip_h" "-"
fig "junit.xml, 1,000 passed (KB)" "$junit_kb" "-" "-"
fig "cert store opens, plain HTTP 100x10" "$ssl_cp" "$ssl_h" "value==0"
python3 - "$figures" "$n" "$runs" "$rounds" "$("$hurl" --version | head -n 1 | awk '{ print $1, $2, "(" $4 ")" }')" \
  "$(nginx -v 2>&1)" <<'EOF' | tee "$out/table.txt"
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
print(f"checkpoint vs {sys.argv[5]}: {sys.argv[2]} requests, GET /health from {sys.argv[6].split(': ')[-1]} on loopback,")
print(f"wall and CPU: {sys.argv[3]} runs of each in {sys.argv[4]} alternating hyperfine rounds")
fmt = "{:<36} {:>11} {:>9} {:>7} {:>12} {:>7}"
print(fmt.format("figure", "checkpoint", "hurl", "ratio", "target", ""))
missed = 0
for name, cp, peer, target in rows:
    counted = target.startswith("value==")  # a count: no ratio
    ratio = f"{float(cp) / float(peer):.2f}x" if peer != "-" and float(peer) > 0 and not counted else "-"
    verdict = ""
    if target != "-":
        kind, op, bound = target[:5], target[5:7], float(target[7:])
        v = float(cp) / float(peer) if kind == "ratio" else float(cp)
        ok = v <= bound if op == "<=" else v == bound
        verdict = "met" if ok else "MISSED"
        missed += not ok
        target = ("<= " if op == "<=" else "= ") + (f"{bound:g}x" if kind == "ratio" else f"{bound:g}")
    print(fmt.format(name, cp, peer, ratio, target, verdict))
print(f"targets missed: {missed}")
EOF
missed=$(tail -n 1 "$out/table.txt" | awk '{ print $NF }')
if [ "${STRICT:-0}" = 1 ] && [ "$missed" != 0 ]; then exit 1; fi
