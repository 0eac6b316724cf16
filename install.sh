#!/usr/bin/env bash
# Installs dosync on a host from this source tree, as a systemd service:
#   /opt/dosync/                     the built CLI and its production dependencies
#   /usr/local/bin/dosync            launcher (the node found at install time, so systemd's PATH does not matter)
#   /etc/dosync/dosync.yaml          sample configuration (0600, kept if present)
#   /etc/dosync/dosync.env           DOSYNC_FILE, CHECK_INTERVAL, registry credentials (0600, kept if present)
#   /etc/systemd/system/dosync.service (+ dosync.service.d/compose.conf with --compose-file), enabled
#
#   sudo ./install.sh --compose-file /srv/app/docker-compose.yml
#   sudo ./install.sh --uninstall [--keep-config]
#   ./install.sh --prefix /tmp/root --dry-run        (a throwaway root: nothing outside it is touched)
#
# Idempotent: running it again updates the program and the unit and keeps configuration and state.
set -euo pipefail

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'
Options:
  --prefix DIR         install into DIR instead of / (also: DESTDIR=DIR); systemctl is not called then
  --compose-file PATH  the compose file dosync manages (written to dosync.env; its directory becomes writable for the unit)
  --uninstall          remove everything this script installed (with --keep-config: keep /etc/dosync and /var/lib/dosync)
  --keep-config        see --uninstall
  --dry-run            print what would be done, change nothing
  -h, --help           this text
EOF
}

root=${DESTDIR:-/}
compose_file=""
mode=install
dry=0
keep_config=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) root=${2:?--prefix needs a directory}; shift 2 ;;
    --prefix=*) root=${1#*=}; shift ;;
    --compose-file) compose_file=${2:?--compose-file needs a path}; shift 2 ;;
    --compose-file=*) compose_file=${1#*=}; shift ;;
    --uninstall) mode=uninstall; shift ;;
    --keep-config) keep_config=1; shift ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(realpath -m "$root")
R=${root%/}                        # prefix for every path below ("" for the real root)
OPT=/opt/dosync BIN=/usr/local/bin/dosync ETC=/etc/dosync STATE=/var/lib/dosync
UNIT=/etc/systemd/system/dosync.service DROPIN=/etc/systemd/system/dosync.service.d
WANTS=/etc/systemd/system/multi-user.target.wants/dosync.service
MANIFEST=$OPT/.installed-dirs       # directories this script created, removed again by --uninstall

say() { echo "install.sh: $*"; }
run() { if [ $dry = 1 ]; then echo "would run: $*"; else "$@"; fi; }
run_in() { local dir=$1; shift; if [ $dry = 1 ]; then echo "would run in $dir: $*"; else (cd "$dir" && "$@"); fi; }

# Directories are created through here so --uninstall can remove the ones that did not exist before.
created_dirs=()
make_dir() { # path(without root) mode
  local d=$1 m=$2 missing=() p=$1
  while [ ! -d "$R$p" ] && [ "$p" != / ]; do missing=("$p" "${missing[@]}"); p=$(dirname "$p"); done
  if [ ${#missing[@]} -eq 0 ]; then return 0; fi
  run mkdir -p "$R$d"
  run chmod "$m" "$R$d"
  created_dirs+=("${missing[@]}")
}

# write_file PATH MODE [keep]: content from stdin; with "keep" an existing file is left alone.
write_file() {
  local path=$1 m=$2 keep=${3:-}
  if [ "$keep" = keep ] && [ -e "$R$path" ]; then say "keeping existing $path"; cat >/dev/null; return 0; fi
  if [ $dry = 1 ]; then echo "would write: $R$path (mode $m)"; cat >/dev/null; return 0; fi
  local tmp
  tmp=$(mktemp "$R$(dirname "$path")/.dosync-install.XXXXXX")
  cat >"$tmp"
  chmod "$m" "$tmp"
  mv -f "$tmp" "$R$path"
}

# systemctl only on the real root of a machine booted with systemd; otherwise say why it is skipped.
systemd_usable() {
  if [ -n "$R" ]; then say "skipping systemctl: installing into $root, not /"; return 1; fi
  if [ ! -d /run/systemd/system ]; then say "skipping systemctl: this machine was not booted with systemd"; return 1; fi
  command -v systemctl >/dev/null || { say "skipping systemctl: not installed"; return 1; }
}

uninstall() {
  if systemd_usable; then
    run systemctl disable --now dosync.service || true
  fi
  local dirs=()
  [ -f "$R$MANIFEST" ] && mapfile -t dirs <"$R$MANIFEST"
  run rm -f "$R$WANTS" "$R$UNIT" "$R$BIN"
  run rm -rf "$R$DROPIN" "$R$OPT"
  if [ $keep_config = 1 ]; then
    say "keeping $ETC and $STATE (--keep-config)"
  else
    run rm -rf "$R$ETC" "$R$STATE"
  fi
  if systemd_usable 2>/dev/null >/dev/null; then run systemctl daemon-reload; fi
  # Directories the install created, deepest first, when nothing else has appeared in them.
  local i
  for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do
    if [ $keep_config = 1 ] && { [ "${dirs[i]}" = "$ETC" ] || [ "${dirs[i]}" = "$STATE" ]; }; then continue; fi
    if [ -d "$R${dirs[i]}" ]; then run rmdir --ignore-fail-on-non-empty "$R${dirs[i]}"; fi
  done
  say "uninstalled from $root"
}

if [ $mode = uninstall ]; then uninstall; exit 0; fi

# ---- checks -----------------------------------------------------------------------------------------
node_bin=$(command -v node || true)
[ -n "$node_bin" ] || { echo "install.sh: Node.js is not installed; install Node.js 20.18 or newer (e.g. apt-get install nodejs) and run this again" >&2; exit 1; }
node_bin=$(readlink -f "$node_bin")
if ! "$node_bin" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=18)?0:1)'; then
  echo "install.sh: Node.js $("$node_bin" --version) is too old; dosync needs 20.18 or newer" >&2; exit 1
fi
command -v npm >/dev/null || { echo "install.sh: npm is missing (it comes with Node.js)" >&2; exit 1; }
command -v docker >/dev/null || say "warning: no docker CLI on PATH; dosync needs it (with the compose plugin) to recreate services"
if [ -n "$compose_file" ]; then
  compose_file=$(realpath -m "$compose_file")
  [ -f "$compose_file" ] || [ -n "$R" ] || say "warning: $compose_file does not exist (yet)"
fi
if [ ! -f "$src/dist/dosync.cjs" ]; then
  say "building from source (npm ci && npm run build in $src)"
  run_in "$src" npm ci --no-audit --no-fund
  run_in "$src" npm run build
fi

# ---- program ----------------------------------------------------------------------------------------
make_dir "$OPT" 0755
make_dir "$(dirname "$BIN")" 0755
lock_sum=$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)
if [ -f "$R$OPT/.lock-sha256" ] && [ "$(cat "$R$OPT/.lock-sha256")" = "$lock_sum" ] && [ -d "$R$OPT/node_modules" ]; then
  say "production dependencies are current"
  need_deps=0
else
  need_deps=1
fi
run rm -rf "$R$OPT/dist" "$R$OPT/bin"
run cp -R "$src/dist" "$src/bin" "$R$OPT/"
run cp "$src/package.json" "$src/package-lock.json" "$R$OPT/"
[ -f "$src/README.md" ] && run cp "$src/README.md" "$R$OPT/"
if [ $need_deps = 1 ]; then
  say "installing production dependencies into $OPT (npm ci --omit=dev)"
  # --prefer-offline: a machine that already ran npm ci for the source tree installs from its cache.
  run_in "$R$OPT" npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error
  [ $dry = 1 ] || echo "$lock_sum" >"$R$OPT/.lock-sha256"
fi
write_file "$BIN" 0755 <<EOF
#!/bin/sh
# dosync launcher written by install.sh
exec $node_bin $OPT/bin/dosync.js "\$@"
EOF

# ---- configuration (kept when present) --------------------------------------------------------------
make_dir "$ETC" 0700
make_dir "$STATE" 0700
write_file "$ETC/dosync.env" 0600 keep <<EOF
# Environment of the dosync service (systemd EnvironmentFile). Keep it private: credentials go here.
# The compose file to manage (several: a.yml:b.yml).
DOSYNC_FILE=${compose_file}
# Time between checks.
CHECK_INTERVAL=5m
# Debug logs: VERBOSE=--verbose
# Registry credentials, as DOSync reads them (only those you need):
# DOCKERHUB_USERNAME=
# DOCKERHUB_PASSWORD=
# GITHUB_PAT=
# AWS_ACCESS_KEY_ID=
# AWS_SECRET_ACCESS_KEY=
# DOCR_TOKEN=
# QUAY_TOKEN=
EOF
write_file "$ETC/dosync.yaml" 0600 keep <<'EOF'
# dosync configuration (all keys optional); `dosync config validate -c /etc/dosync/dosync.yaml` checks it.
# ${VAR} is read from the environment, i.e. from /etc/dosync/dosync.env.
interval: 5m
keep_backups: 10
prune: true
health:
  timeout: 2m
  stable: 10s
# registry:
#   dockerhub:
#     username: ${DOCKERHUB_USERNAME}
#     password: ${DOCKERHUB_PASSWORD}
#   ghcr:
#     token: ${GITHUB_PAT}
# services:
#   db:
#     skip: true
EOF

# ---- systemd unit -----------------------------------------------------------------------------------
make_dir "$(dirname "$UNIT")" 0755
write_file "$UNIT" 0644 <"$src/systemd/dosync.service"
if [ -n "$compose_file" ]; then
  compose_dir=$(dirname "$compose_file")
  make_dir "$DROPIN" 0755
  {
    echo "# Written by install.sh --compose-file $compose_file: dosync rewrites image lines there."
    echo "[Service]"
    echo "ReadWritePaths=$compose_dir"
    case "$compose_dir/" in /home/*|/root/*) echo "ProtectHome=no" ;; esac
  } | write_file "$DROPIN/compose.conf" 0644
fi
if systemd_usable; then
  run systemctl daemon-reload
  if [ -n "$compose_file" ] || grep -q '^DOSYNC_FILE=.' "$R$ETC/dosync.env" 2>/dev/null; then
    run systemctl enable --now dosync.service
    run systemctl restart dosync.service
  else
    run systemctl enable dosync.service
    say "set DOSYNC_FILE in $ETC/dosync.env, then: systemctl start dosync"
  fi
else
  # What `systemctl enable` does for WantedBy=multi-user.target.
  make_dir "$(dirname "$WANTS")" 0755
  run ln -sfn "$UNIT" "$R$WANTS"
  say "enabled by linking $WANTS"
fi

# Record the directories this run created (added to those of earlier runs).
if [ ${#created_dirs[@]} -gt 0 ]; then
  if [ $dry = 1 ]; then echo "would record created directories in $R$MANIFEST"
  else printf '%s\n' "${created_dirs[@]}" >>"$R$MANIFEST"; fi
fi
say "installed dosync $("$node_bin" -p "require('$src/package.json').version") into $root"
