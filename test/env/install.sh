#!/usr/bin/env bash
# Installs what the integration tests need: Docker engine, a CNCF registry, busybox (for tiny images),
# the Compose v2 plugin (from Debian trixie's docker-compose package) and apache2-utils (htpasswd), cosign (from trixie); the benchmarks install skopeo themselves.
# Idempotent: skips what is already there.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-registry >/dev/null || need+=(docker-registry)
[ -x /bin/busybox ] || command -v busybox >/dev/null || need+=(busybox-static)
command -v htpasswd >/dev/null || need+=(apache2-utils)
command -v systemd-analyze >/dev/null || need+=(systemd)
# Packaging tests: completion scripts are parsed by each shell; the image's stand-in base is made with debootstrap.
command -v zsh >/dev/null || need+=(zsh)
command -v fish >/dev/null || need+=(fish)
command -v debootstrap >/dev/null || need+=(debootstrap)
# Dashboard tests drive Debian's chromium (puppeteer-core, never a downloaded browser); MQTT tests start mosquitto.
command -v chromium >/dev/null || need+=(chromium)
command -v mosquitto >/dev/null || need+=(mosquitto)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Extracts one binary from a Debian trixie package (static Go binaries that run here) without installing the
# package or keeping trixie in the sources: from_trixie PACKAGE PATH-IN-PACKAGE DESTINATION
from_trixie() {
  local pkg=$1 inside=$2 dest=$3 tmp
  tmp=$(mktemp -d)
  echo "deb http://deb.debian.org/debian trixie main" > /etc/apt/sources.list.d/trixie-dosync.list
  cat > /etc/apt/preferences.d/trixie-dosync <<'PREF'
Package: *
Pin: release n=trixie
Pin-Priority: 50
PREF
  apt-get update -qq
  (cd "$tmp" && apt-get download -qq -t trixie "$pkg" >/dev/null)
  dpkg -x "$tmp"/"$pkg"_*.deb "$tmp/x"
  mkdir -p "$(dirname "$dest")"
  cp "$tmp/x/$inside" "$dest"
  chmod +x "$dest"
  rm -rf "$tmp" /etc/apt/sources.list.d/trixie-dosync.list /etc/apt/preferences.d/trixie-dosync
  apt-get update -qq
}
# Compose v2 is not packaged for bookworm.
plugin=/usr/local/lib/docker/cli-plugins/docker-compose
[ -x "$plugin" ] || from_trixie docker-compose usr/libexec/docker/cli-plugins/docker-compose "$plugin"
# Signature tests sign with the real cosign (trixie packages 2.5).
[ -x /usr/local/bin/cosign ] || from_trixie cosign usr/bin/cosign /usr/local/bin/cosign
echo "install: docker $(dockerd --version | cut -d' ' -f3 | tr -d ,), compose $(docker compose version --short 2>/dev/null || echo none), cosign $(command -v cosign || echo none)"
