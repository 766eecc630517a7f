#!/usr/bin/env bash
# Times `checkpoint contract diff` (whole process, median of RUNS) on:
#  1. the largest spec pair of the oasdiff corpus (by bytes of both files), when
#     ../shared/corpora/oasdiff is there;
#  2. a generated contract of 2,000 operations (1,000 paths, GET and PUT, over
#     200 shared schemas) against a copy with 50 changes (25 response
#     properties removed, 25 required query parameters added).
# Usage: scripts/bench-contract-diff.sh [BINARY]   (default target/release/checkpoint)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-$root/target/release/checkpoint}
runs=${RUNS:-5}
work="$root/target/bench-contract-diff"
mkdir -p "$work"

python3 - "$work" <<'PY'
import json, sys, copy
out = sys.argv[1]
schemas = {}
for s in range(200):
    schemas[f"S{s}"] = {
        "type": "object",
        "required": ["id", "name"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "name": {"type": "string", "maxLength": 80},
            "count": {"type": "integer", "minimum": 0},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]}},
            "next": {"$ref": f"#/components/schemas/S{(s + 1) % 200}"},
        },
    }
paths = {}
for p in range(1000):
    ref = {"$ref": f"#/components/schemas/S{p % 200}"}
    item = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}, "v": {"type": "integer"}, "note": {"type": "string"}}}
    ok = lambda schema: {"description": "ok", "content": {"application/json": {"schema": schema}}}
    paths[f"/r{p}/{{id}}"] = {
        "get": {
            "operationId": f"get{p}",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}}],
            "responses": {"200": ok(ref), "404": {"description": "missing"}},
        },
        "put": {
            "operationId": f"put{p}",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref}}},
            "responses": {"200": ok(item)},
        },
    }
old = {"openapi": "3.1.0", "info": {"title": "Large", "version": "1"}, "paths": paths, "components": {"schemas": schemas}}
new = copy.deepcopy(old)
for i in range(25):
    del new["paths"][f"/r{i * 40}/{{id}}"]["put"]["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["note"]
    new["paths"][f"/r{i * 40 + 1}/{{id}}"]["get"]["parameters"].append(
        {"name": "tenant", "in": "query", "required": True, "schema": {"type": "string"}})
json.dump(old, open(f"{out}/large-old.json", "w"), indent=1)
json.dump(new, open(f"{out}/large-new.json", "w"), indent=1)
PY

# median wall time in ms of `contract diff OLD NEW`, and the summary line
time_it() {
  local old=$1 new=$2 ms=()
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s%N)
    "$bin" contract diff "$old" "$new" >"$work/out.txt" 2>&1 || true
    t1=$(date +%s%N)
    ms+=($(( (t1 - t0) / 1000000 )))
  done
  printf '%s\n' "${ms[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}

corpus="$root/../shared/corpora/oasdiff"
if [ -f "$corpus/expect.tsv" ]; then
  best=0 pair=""
  while IFS=$'\t' read -r o n _; do
    case $o in ''|'#'*) continue ;; esac
    s=$(( $(stat -c %s "$corpus/$o") + $(stat -c %s "$corpus/$n") ))
    if [ "$s" -gt "$best" ]; then best=$s pair="$o $n"; fi
  done <"$corpus/expect.tsv"
  set -- $pair
  ms=$(time_it "$corpus/$1" "$corpus/$2")
  echo "largest corpus pair: $1 -> $2 ($best bytes): ${ms} ms; $(tail -n 1 "$work/out.txt")"
else
  echo "largest corpus pair: skipped ($corpus not found)"
fi
ms=$(time_it "$work/large-old.json" "$work/large-new.json")
echo "2,000 operations, 50 changes ($(stat -c %s "$work/large-old.json") bytes each): ${ms} ms; $(tail -n 1 "$work/out.txt")"
