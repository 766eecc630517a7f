#!/usr/bin/env bash
# Starts a real Postgres, a real Redis, a real MariaDB and the Django reference app
# (fixtures/django: Django + DRF under gunicorn, in a venv from PyPI) on loopback ports for
# the tests (idempotent: reuses them if they are already up, unless the checkout that
# started them is gone — see evict_orphan), and prints the env vars
# the tests read. Usage: eval "$(scripts/test-services.sh start)"; scripts/test-services.sh stop
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${CHECKPOINT_CACHE:-$root/.cache}/test-services
pg_port=${CHECKPOINT_TEST_PG_PORT:-55432}
redis_port=${CHECKPOINT_TEST_REDIS_PORT:-56379}
maria_port=${CHECKPOINT_TEST_MYSQL_PORT:-53306}
django_port=${CHECKPOINT_TEST_DJANGO_PORT:-58000}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
mkdir -p "$state"

# MariaDB refuses to run as root: as root it runs as the package's `mysql` user.
as_mysql() { if [ "$(id -u)" = 0 ]; then runuser -u mysql -- "$@"; else "$@"; fi; }
# Listening on its port: the server accepts connections only once InnoDB is ready. (Not
# `mariadb-admin ping`: it fails while the test user does not exist yet.)
maria_up() { (exec 3<> "/dev/tcp/127.0.0.1/$maria_port") 2>/dev/null; }

start_mariadb() {
  local dir=$state/mariadb launched=""
  if ! maria_up; then launch_mariadb "$dir"; launched=1; fi
  # The test database and user, on the server this checkout started (a server another
  # checkout started on the port has them already).
  if [ -S "$dir/sock" ] && ! mariadb --no-defaults -S "$dir/sock" -u root -e "
      CREATE DATABASE IF NOT EXISTS checkpoint_test;
      CREATE USER IF NOT EXISTS 'checkpoint'@'127.0.0.1' IDENTIFIED BY 'checkpoint-test-pw';
      GRANT ALL ON checkpoint_test.* TO 'checkpoint'@'127.0.0.1';" 2> "$state/mariadb-user.log" \
    && [ -n "$launched" ]; then
    echo "test-services: cannot create the MariaDB test user, see $state/mariadb-user.log" >&2
    exit 1
  fi
}

launch_mariadb() {
  local dir=$1
  if [ -f "$dir/pid" ]; then kill "$(cat "$dir/pid")" 2>/dev/null || true; sleep 1; fi
  # A data directory from an earlier start is reused (a restart takes a second; a fresh
  # InnoDB takes many on a loaded machine); anything half-made is started over.
  if [ ! -d "$dir/data/mysql" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown mysql "$dir"; fi
    as_mysql mariadb-install-db --no-defaults --datadir="$dir/data" --auth-root-authentication-method=socket \
      --skip-test-db > "$state/mariadb-install.log" 2>&1 \
      || { echo "test-services: mariadb-install-db failed, see $state/mariadb-install.log" >&2; exit 1; }
  fi
  local as=()
  if [ "$(id -u)" = 0 ]; then as=(runuser -u mysql --); fi
  setsid "${as[@]}" /usr/sbin/mariadbd --no-defaults --datadir="$dir/data" --port="$maria_port" \
    --bind-address=127.0.0.1 --socket="$dir/sock" --pid-file="$dir/pid" --log-error="$dir/mariadb.err" \
    --skip-name-resolve --innodb-buffer-pool-size=32M --innodb-log-file-size=16M \
    < /dev/null > /dev/null 2>&1 &
  # Up to two minutes: InnoDB creates its files first, slowly when the machine is busy.
  for _ in $(seq 1 600); do maria_up && break; sleep 0.2; done
  maria_up || { echo "test-services: MariaDB did not start within 2 minutes, see $dir/mariadb.err" >&2; exit 1; }
}

# The Django reference app: a venv of fixtures/django/requirements.txt (rebuilt when that
# changes), its migrations applied to a SQLite file, the test user, gunicorn on loopback.
django_up() { curl -fsS "http://127.0.0.1:$django_port/health/" 2>/dev/null | grep -q checkpoint-django-reference; }

start_django() {
  local app=$root/fixtures/django venv=$state/django-venv dir=$state/django
  local want
  want=$(sha256sum < "$app/requirements.txt" | cut -c1-16)
  if [ "$(cat "$venv/.requirements" 2>/dev/null || true)" != "$want" ]; then
    if [ -f "$dir/pid" ]; then kill "$(cat "$dir/pid")" 2>/dev/null || true; sleep 1; fi
    rm -rf "$venv"
    { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check \
        -r "$app/requirements.txt"; } > "$state/django-pip.log" 2>&1 \
      || { echo "test-services: installing Django failed (is PyPI reachable?), see $state/django-pip.log" >&2; exit 1; }
    echo "$want" > "$venv/.requirements"
  fi
  django_up && return 0
  if [ -f "$dir/pid" ]; then kill "$(cat "$dir/pid")" 2>/dev/null || true; sleep 1; fi
  mkdir -p "$dir"
  (
    cd "$app"
    export DJANGO_DB=$dir/db.sqlite3 PYTHONDONTWRITEBYTECODE=1
    "$venv/bin/python" manage.py migrate --noinput -v0 \
      && "$venv/bin/python" manage.py shell -c "from django.contrib.auth.models import User
User.objects.filter(username='alice').exists() or User.objects.create_user('alice', password='alice-test-pw')" \
      && setsid "$venv/bin/gunicorn" refsite.wsgi --bind "127.0.0.1:$django_port" --workers 2 \
        --pid "$dir/pid" --error-logfile "$dir/gunicorn.log" --daemon
  ) > "$state/django-start.log" 2>&1 \
    || { echo "test-services: the Django app did not start, see $state/django-start.log" >&2; exit 1; }
  for _ in $(seq 1 100); do django_up && break; sleep 0.1; done
  django_up || { echo "test-services: the Django app does not answer on $django_port, see $dir/gunicorn.log" >&2; exit 1; }
}

# The processes listening on loopback port $1 (those this user may see).
listeners() { ss -ltnpH "sport = :$1" 2>/dev/null | { grep -o 'pid=[0-9]*' || true; } | cut -d= -f2 | sort -u; }

# A server left by a checkout that is gone (a CI clone deleted while its services ran):
# it still answers on the port, but from a working directory or with a data directory
# or venv that no longer exists, so the tests would fail on it one by one. It serves
# nothing anyone can use: stop it, say so, and start this checkout's own.
evict_orphan() {
  local port=$1 what=$2 pid cwd path gone="" pids
  pids=$(listeners "$port")
  for pid in $pids; do
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || continue
    case $cwd in *' (deleted)') gone=${cwd% (deleted)} ;; esac
    for path in $(tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -o '/[^= ]*/test-services/[^= ]*' || true); do
      [ -e "$path" ] || gone=$path
    done
  done
  [ -n "$gone" ] || return 0
  echo "test-services: $what on 127.0.0.1:$port was started by a checkout that is gone ($gone no longer exists): stopping it (pid ${pids//$'\n'/,})" >&2
  # shellcheck disable=SC2086 # one pid a word
  kill $pids 2>/dev/null || true
  for _ in $(seq 1 100); do [ -z "$(listeners "$port")" ] && return 0; sleep 0.1; done
  # shellcheck disable=SC2086
  kill -9 $pids 2>/dev/null || true
  sleep 0.5
}

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start() {
  evict_orphan "$pg_port" Postgres
  evict_orphan "$redis_port" Redis
  evict_orphan "$maria_port" MariaDB
  evict_orphan "$django_port" "the Django app"
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
  start_mariadb
  start_django
  usable
  echo "export CHECKPOINT_TEST_PG=postgres://checkpoint:checkpoint-test-pw@127.0.0.1:$pg_port/checkpoint_test"
  echo "export CHECKPOINT_TEST_REDIS=redis://127.0.0.1:$redis_port/0"
  echo "export CHECKPOINT_TEST_MYSQL=mysql://checkpoint:checkpoint-test-pw@127.0.0.1:$maria_port/checkpoint_test"
  echo "export CHECKPOINT_TEST_DJANGO=http://127.0.0.1:$django_port"
  echo "export CHECKPOINT_TEST_DJANGO_PYTHON=$state/django-venv/bin/python"
}

# A server found on a port may be one another checkout started and has since lost (its data
# directory deleted with the worktree): it answers, but not with the test database. Say so
# here, once, rather than as a database error in every test that uses it.
usable() {
  local bad=()
  PGPASSWORD=checkpoint-test-pw "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U checkpoint -d checkpoint_test \
    -qtAc "SELECT 1" > "$state/pg-check.log" 2>&1 || bad+=("Postgres on 127.0.0.1:$pg_port (CHECKPOINT_TEST_PG_PORT): $(head -n 1 "$state/pg-check.log")")
  [ "$(redis-cli -p "$redis_port" ping 2>&1)" = PONG ] \
    || bad+=("Redis on 127.0.0.1:$redis_port (CHECKPOINT_TEST_REDIS_PORT): no PONG")
  mariadb --no-defaults -h 127.0.0.1 -P "$maria_port" -u checkpoint -pcheckpoint-test-pw checkpoint_test \
    -e "SELECT 1" > "$state/mariadb-check.log" 2>&1 || bad+=("MariaDB on 127.0.0.1:$maria_port (CHECKPOINT_TEST_MYSQL_PORT): $(head -n 1 "$state/mariadb-check.log")")
  django_up || bad+=("Django on 127.0.0.1:$django_port (CHECKPOINT_TEST_DJANGO_PORT): not the reference app")
  if [ ${#bad[@]} -gt 0 ]; then
    printf 'test-services: %s\n' "${bad[@]}" >&2
    echo "test-services: a server on that port does not serve the test database (one another checkout started?):" \
      "stop it (\`$0 stop\` from that checkout, or \`fuser -k PORT/tcp\`) or choose another port with the variable named above" >&2
    exit 1
  fi
}

stop() {
  [ -d "$state/pg" ] && as_pg "$pg_bin/pg_ctl" -D "$state/pg" -m fast stop >/dev/null 2>&1 || true
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  mariadb-admin --no-defaults -S "$state/mariadb/sock" -u root shutdown >/dev/null 2>&1 || true
  [ -f "$state/django/pid" ] && kill "$(cat "$state/django/pid")" 2>/dev/null || true
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
