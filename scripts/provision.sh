#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian machine, idempotently:
# Postgres and Redis servers (for the runner's tests, on loopback), xmllint (to
# validate JUnit), and a Docker engine with a compose tool. Prints what it does.
set -euo pipefail

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

[ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ] || need_pkgs+=(postgresql)
have redis-server || need_pkgs+=(redis-server)
have xmllint || need_pkgs+=(libxml2-utils)
have debootstrap || need_pkgs+=(debootstrap)
if ! have docker; then need_pkgs+=(docker.io); fi
if ! have docker-compose && ! docker compose version >/dev/null 2>&1; then need_pkgs+=(docker-compose); fi

if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "provision: installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

if ! timeout 10 docker info >/dev/null 2>&1; then
  echo "provision: starting dockerd"
  (dockerd >/var/log/dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do timeout 5 docker info >/dev/null 2>&1 && break; sleep 1; done
  timeout 10 docker info >/dev/null 2>&1 || { echo "provision: dockerd did not start; see /var/log/dockerd.log" >&2; exit 3; }
fi
echo "provision: ok (docker $(docker version --format '{{.Server.Version}}' 2>/dev/null), $(docker-compose version --short 2>/dev/null || docker compose version --short))"
