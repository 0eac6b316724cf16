#!/usr/bin/env bash
# Makes the two images the Dockerfile builds FROM when Docker Hub cannot be reached (CI, this machine):
#
#   dosync-base/node:20          stands in for node:20-bookworm-slim: a Debian bookworm minbase made with
#                                debootstrap from Debian's mirror, plus this machine's node and npm under /usr/local
#   dosync-base/docker-cli:local stands in for docker:cli: only the docker CLI and the compose plugin, at the
#                                paths docker:cli has them (/usr/local/bin/docker,
#                                /usr/local/libexec/docker/cli-plugins/docker-compose)
#
#   docker build --build-arg BASE_IMAGE=dosync-base/node:20 \
#                --build-arg DOCKER_CLI_IMAGE=dosync-base/docker-cli:local -t dosync:dev .
#
# Idempotent and cached: an image that exists is kept (FORCE=1 rebuilds). The debootstrap tree is cached in
# $DOSYNC_BASE_CACHE (default /var/cache/dosync-base) so a rebuild after `docker rmi` takes seconds.
# Needs root (debootstrap), the Docker engine, and Debian's mirror (apt sources of this machine).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

NODE_IMAGE=${NODE_IMAGE:-dosync-base/node:20}
CLI_IMAGE=${CLI_IMAGE:-dosync-base/docker-cli:local}
cache=${DOSYNC_BASE_CACHE:-/var/cache/dosync-base}
suite=bookworm
# The mirror this machine's apt uses, so debootstrap goes where apt is allowed to go.
mirror=${DEBIAN_MIRROR:-$( (grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true) \
  | grep -oE 'https?://[^ ]+' | grep -v security | head -1)}
mirror=${mirror:-http://deb.debian.org/debian}

have_image() { [ "${FORCE:-0}" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }
log() { echo "build-base-image: $*"; }

# ---- docker CLI + compose plugin -------------------------------------------------------------------
if have_image "$CLI_IMAGE"; then
  log "$CLI_IMAGE exists"
else
  docker_bin=$(command -v docker)
  compose_bin=""
  for p in /usr/local/lib/docker/cli-plugins/docker-compose /usr/local/libexec/docker/cli-plugins/docker-compose \
           /usr/libexec/docker/cli-plugins/docker-compose /usr/lib/docker/cli-plugins/docker-compose; do
    [ -x "$p" ] && { compose_bin=$p; break; }
  done
  [ -n "$compose_bin" ] || { echo "build-base-image: no docker compose plugin on this machine (run test/env/install.sh)" >&2; exit 1; }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/root/usr/local/bin" "$tmp/root/usr/local/libexec/docker/cli-plugins"
  # Strip debug info when we can: the static Go binaries carry tens of MB of it.
  cp "$(readlink -f "$docker_bin")" "$tmp/root/usr/local/bin/docker"
  cp "$(readlink -f "$compose_bin")" "$tmp/root/usr/local/libexec/docker/cli-plugins/docker-compose"
  if command -v strip >/dev/null; then strip "$tmp/root/usr/local/bin/docker" "$tmp/root/usr/local/libexec/docker/cli-plugins/docker-compose" 2>/dev/null || true; fi
  tar -C "$tmp/root" -c . | docker import -m "docker CLI $("$docker_bin" --version | cut -d' ' -f3 | tr -d ,) + compose plugin from the build machine" - "$CLI_IMAGE" >/dev/null
  rm -rf "$tmp"; trap - EXIT
  log "imported $CLI_IMAGE"
fi

# ---- Debian bookworm minbase + node ----------------------------------------------------------------
if have_image "$NODE_IMAGE"; then
  log "$NODE_IMAGE exists"
  exit 0
fi
command -v debootstrap >/dev/null || { apt-get update -qq; apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }

rootfs=$cache/rootfs-$suite
if [ ! -f "$rootfs/.complete" ]; then
  log "debootstrap $suite (minbase) from $mirror into $rootfs"
  rm -rf "$rootfs"
  mkdir -p "$cache"
  debootstrap --variant=minbase --include=ca-certificates "$suite" "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  # What the -slim images leave out: apt lists and caches, docs, man pages, non-English locales.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
         "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true
  touch "$rootfs/.complete"
fi

node_bin=$(readlink -f "$(command -v node)")
npm_dir=""
for d in /usr/lib/node_modules/npm /usr/local/lib/node_modules/npm "$(dirname "$node_bin")/../lib/node_modules/npm"; do
  [ -f "$d/bin/npm-cli.js" ] && { npm_dir=$(readlink -f "$d"); break; }
done
[ -n "$npm_dir" ] || { echo "build-base-image: npm not found next to $node_bin" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# A copy of the cached tree, so the cache stays pristine; node goes where the official image has it.
cp -a "$rootfs/." "$stage/"
rm -f "$stage/.complete"
install -m 0755 "$node_bin" "$stage/usr/local/bin/node"
# node's shared libraries: bookworm has the same ones; copy any that the tree lacks (a node built elsewhere).
for lib in $(ldd "$node_bin" | awk '/=> \//{print $3}'); do
  [ -e "$stage$lib" ] || { mkdir -p "$stage$(dirname "$lib")"; cp -L "$lib" "$stage$lib"; }
done
mkdir -p "$stage/usr/local/lib/node_modules"
cp -a "$npm_dir" "$stage/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$stage/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$stage/usr/local/bin/npx"
# Trust what this machine trusts (a proxy's CA for the npm registry, say): the stand-in is made from this
# machine, and `npm ci` inside the build must reach the registry the way the host does.
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  mkdir -p "$stage/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$stage/usr/local/share/ca-certificates/"
  chroot "$stage" /usr/sbin/update-ca-certificates >/dev/null 2>&1
fi
# The official image runs as root by default and has a `node` user (uid 1000); keep both true.
chroot "$stage" /usr/sbin/groupadd --gid 1000 node 2>/dev/null || true
chroot "$stage" /usr/sbin/useradd --uid 1000 --gid node --shell /bin/bash --create-home node 2>/dev/null || true

tar -C "$stage" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c "ENV NODE_VERSION=$("$node_bin" --version | tr -d v)" \
  -c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  -c 'CMD ["node"]' \
  -m "debian $suite minbase + node $("$node_bin" --version) (stand-in for node:20-bookworm-slim)" - "$NODE_IMAGE" >/dev/null
log "imported $NODE_IMAGE ($(docker image inspect -f '{{.Size}}' "$NODE_IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
