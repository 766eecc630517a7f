#!/usr/bin/env bash
# Starts a real Postgres and a real Redis on loopback ports for the tests
# (idempotent: reuses them if they are already up), and prints the env vars
# the tests read. Usage: eval "$(scripts/test-services.sh start)"; scripts/test-services.sh stop
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${CHECKPOINT_CACHE:-$root/.cache}/test-services
pg_port=${CHECKPOINT_TEST_PG_PORT:-55432}
redis_port=${CHECKPOINT_TEST_REDIS_PORT:-56379}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
mkdir -p "$state"

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start() {
  if ! "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port"; then
    rm -rf "$state/pg"
    mkdir -p "$state/pg"
    if [ "$(id -u)" = 0 ]; then chown postgres "$state" "$state/pg"; fi
    echo "checkpoint-test-pw" > "$state/pwfile"
    if [ "$(id -u)" = 0 ]; then chown postgres "$state/pwfile"; fi
    as_pg "$pg_bin/initdb" -D "$state/pg" -U checkpoint --pwfile="$state/pwfile" -A scram-sha-256 >/dev/null
    as_pg "$pg_bin/pg_ctl" -D "$state/pg" -l "$state/pg.log" -w -o "-h 127.0.0.1 -p $pg_port -k /tmp" start >/dev/null
    PGPASSWORD=checkpoint-test-pw "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U checkpoint -d postgres -qc "CREATE DATABASE checkpoint_test" >/dev/null
  fi
  if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
    redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --save "" --appendonly no \
      --logfile "$state/redis.log" --pidfile "$state/redis.pid" >/dev/null
    for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  echo "export CHECKPOINT_TEST_PG=postgres://checkpoint:checkpoint-test-pw@127.0.0.1:$pg_port/checkpoint_test"
  echo "export CHECKPOINT_TEST_REDIS=redis://127.0.0.1:$redis_port/0"
}

stop() {
  [ -d "$state/pg" ] && as_pg "$pg_bin/pg_ctl" -D "$state/pg" -m fast stop >/dev/null 2>&1 || true
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
