#!/usr/bin/env bash
# Installs dosync on a host from this source tree, as a systemd service:
#   /opt/dosync/                     the built CLI and its production dependencies
#   /usr/local/bin/dosync            launcher (the node found at install time, so systemd's PATH does not matter)
#   /etc/dosync/dosync.yaml          sample configuration (0600, kept if present)
#   /etc/dosync/dosync.env           DOSYNC_FILE, CHECK_INTERVAL, registry credentials (0600, kept if present)
#   /etc/systemd/system/dosync.service (+ dosync.service.d/compose.conf with --compose-file), enabled
#
#   sudo ./install.sh --compose-file /srv/app/docker-compose.yml
#   sudo ./install.sh --compose-file /srv/blog/compose.yml     a second stack: runs as dosync@blog, the first keeps going
#   sudo ./install.sh --all [--projects-root /srv]             one host-wide unit for every compose project
#   sudo ./install.sh --uninstall [--keep-config]
#   ./install.sh --prefix /tmp/root --dry-run        (a throwaway root: nothing outside it is touched)
#
# Idempotent: running it again updates the program and the unit and keeps configuration and state.
set -euo pipefail

usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'
Options:
  --prefix DIR         install into DIR instead of / (also: DESTDIR=DIR); systemctl is not called then
  --compose-file PATH  the compose file dosync manages (written to dosync.env; its directory becomes writable for the unit).
                       When dosync.service already manages another file, this one is installed as dosync@NAME
                       (NAME: --name, else the directory's name) with /etc/dosync/NAME.env; both stay writable.
  --name NAME          the instance name for --compose-file (dosync@NAME)
  --all                host-wide: dosync.service runs `dosync sync --all`; ReadWritePaths are the projects' directories
                       found on this host's engine now, or --projects-root
  --projects-root DIR  with --all: only projects under DIR (DOSYNC_PROJECTS_ROOT), and DIR is what the unit may write
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
all=0
projects_root=""
instance=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) root=${2:?--prefix needs a directory}; shift 2 ;;
    --prefix=*) root=${1#*=}; shift ;;
    --compose-file) compose_file=${2:?--compose-file needs a path}; shift 2 ;;
    --compose-file=*) compose_file=${1#*=}; shift ;;
    --name) instance=${2:?--name needs a name}; shift 2 ;;
    --name=*) instance=${1#*=}; shift ;;
    --all) all=1; shift ;;
    --projects-root) projects_root=${2:?--projects-root needs a directory}; shift 2 ;;
    --projects-root=*) projects_root=${1#*=}; shift ;;
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
TEMPLATE=/etc/systemd/system/dosync@.service
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
  run rm -f "$R$WANTS" "$R$UNIT" "$R$BIN" "$R$TEMPLATE"
  run rm -f "$R"/etc/systemd/system/multi-user.target.wants/dosync@*.service
  run rm -rf "$R$DROPIN" "$R$OPT" "$R"/etc/systemd/system/dosync@*.service.d
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
# The source tree's compiled-code cache is its own (other runs write it meanwhile); the service keeps one in /var/cache.
run rm -rf "$R$OPT/dist/.cache"
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

# ---- systemd units -----------------------------------------------------------------------------------
make_dir "$(dirname "$UNIT")" 0755
write_file "$UNIT" 0644 <"$src/systemd/dosync.service"
# The template: one instance per project (dosync@blog), each with its own env file, state dir and heartbeat.
sed -e 's|^Description=.*|Description=dosync for the compose project %i (settings in /etc/dosync/%i.env)|' \
    -e 's|^EnvironmentFile=/etc/dosync/dosync.env|EnvironmentFile=/etc/dosync/%i.env|' \
    -e 's|^Environment=DOSYNC_HEARTBEAT_FILE=.*|Environment=DOSYNC_STATE_DIR=/var/lib/dosync/%i|' \
    -e 's|^Environment=DOSYNC_BACKUP_DIR=.*|Environment=DOSYNC_BACKUP_DIR=/var/lib/dosync/%i/backups|' \
    -e 's|^StateDirectory=dosync$|StateDirectory=dosync/%i|' \
    -e 's|^WorkingDirectory=/var/lib/dosync$|WorkingDirectory=/var/lib/dosync/%i|' \
    -e 's|^ReadWritePaths=/var/lib/dosync$|ReadWritePaths=/var/lib/dosync/%i|' \
    "$src/systemd/dosync.service" | write_file "$TEMPLATE" 0644

# rw_dropin FILE HEADER DIR...: the drop-in that lets a unit write the stacks' directories.
rw_dropin() {
  local file=$1 header=$2 d home=0
  shift 2
  {
    echo "# $header"
    echo "[Service]"
    for d in "$@"; do
      echo "ReadWritePaths=$d"
      case "$d/" in /home/*|/root/*) home=1 ;; esac
    done
    if [ $home = 1 ]; then echo "ProtectHome=no"; fi
  } | write_file "$file" 0644
}

main_file=$( { sed -n "s/^DOSYNC_FILE=//p" "$R$ETC/dosync.env" 2>/dev/null || true; } | head -n1)
enable_units=()
if [ $all = 1 ]; then
  # Host-wide: the projects' directories, from --projects-root or from the engine's containers now.
  if [ -n "$projects_root" ]; then
    rw_dirs=("$(realpath -m "$projects_root")")
  else
    mapfile -t rw_dirs < <(docker ps -a --filter label=com.docker.compose.project --format '{{.Label "com.docker.compose.project.working_dir"}}' 2>/dev/null | sort -u | sed '/^$/d')
    if [ ${#rw_dirs[@]} -eq 0 ]; then
      say "warning: no compose project runs here now; pass --projects-root DIR (e.g. /srv) so the unit may write the projects' files"
    else
      say "the unit may write the directories of the ${#rw_dirs[@]} project(s) running now; projects started later in other directories need --projects-root (run this again)"
    fi
  fi
  make_dir "$DROPIN" 0755
  {
    echo "# Written by install.sh --all: one dosync for every compose project on this host."
    echo "[Service]"
    echo "Environment=DOSYNC_STATE_DIR=/var/lib/dosync"
    if [ -n "$projects_root" ]; then echo "Environment=DOSYNC_PROJECTS_ROOT=$(realpath -m "$projects_root")"; fi
    echo "ExecStart="
    echo "ExecStart=/usr/local/bin/dosync sync --all"
  } | write_file "$DROPIN/all.conf" 0644
  if [ ${#rw_dirs[@]} -gt 0 ]; then rw_dropin "$DROPIN/projects.conf" "Written by install.sh --all: the projects' directories dosync may write." "${rw_dirs[@]}"; fi
  enable_units+=(dosync.service)
elif [ -n "$compose_file" ] && { [ -n "$instance" ] || { [ -n "$main_file" ] && [ "$main_file" != "$compose_file" ]; }; }; then
  # Another stack: dosync.service keeps its own; this one runs as an instance of the template.
  name=${instance:-$(basename "$(dirname "$compose_file")" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9_-')}
  [ -n "$name" ] || { echo "install.sh: cannot name an instance after $(dirname "$compose_file"); pass --name NAME" >&2; exit 2; }
  if [ -f "$R$ETC/$name.env" ] && ! grep -qx "DOSYNC_FILE=$compose_file" "$R$ETC/$name.env"; then
    echo "install.sh: dosync@$name already manages $(sed -n 's/^DOSYNC_FILE=//p' "$R$ETC/$name.env"); pass --name OTHER for $compose_file" >&2; exit 2
  fi
  [ -n "$main_file" ] && say "dosync.service keeps managing $main_file (unchanged); $compose_file is installed as dosync@$name.service"
  printf '# Environment of dosync@%s (systemd EnvironmentFile; keep it private).\nDOSYNC_FILE=%s\nCHECK_INTERVAL=5m\n' "$name" "$compose_file" | write_file "$ETC/$name.env" 0600 keep
  make_dir "/etc/systemd/system/dosync@$name.service.d" 0755
  rw_dropin "/etc/systemd/system/dosync@$name.service.d/compose.conf" "Written by install.sh --compose-file $compose_file: dosync rewrites image lines there." "$(dirname "$compose_file")"
  enable_units+=("dosync@$name.service")
elif [ -n "$compose_file" ]; then
  make_dir "$DROPIN" 0755
  rw_dropin "$DROPIN/compose.conf" "Written by install.sh --compose-file $compose_file: dosync rewrites image lines there." "$(dirname "$compose_file")"
  enable_units+=(dosync.service)
fi
if [ ${#enable_units[@]} -eq 0 ]; then enable_units=(dosync.service); fi

if systemd_usable; then
  run systemctl daemon-reload
  for u in "${enable_units[@]}"; do
    if [ "$u" != dosync.service ] || [ $all = 1 ] || [ -n "$compose_file" ] || grep -q '^DOSYNC_FILE=.' "$R$ETC/dosync.env" 2>/dev/null; then
      run systemctl enable --now "$u"
      run systemctl restart "$u"
    else
      run systemctl enable "$u"
      say "set DOSYNC_FILE in $ETC/dosync.env, then: systemctl start dosync"
    fi
  done
else
  # What `systemctl enable` does for WantedBy=multi-user.target (an instance links to the template).
  make_dir "$(dirname "$WANTS")" 0755
  for u in "${enable_units[@]}"; do
    target=$UNIT
    case "$u" in dosync@*) target=$TEMPLATE ;; esac
    run ln -sfn "$target" "$R/etc/systemd/system/multi-user.target.wants/$u"
    say "enabled $u by linking /etc/systemd/system/multi-user.target.wants/$u"
  done
fi

# Record the directories this run created (added to those of earlier runs).
if [ ${#created_dirs[@]} -gt 0 ]; then
  if [ $dry = 1 ]; then echo "would record created directories in $R$MANIFEST"
  else printf '%s\n' "${created_dirs[@]}" >>"$R$MANIFEST"; fi
fi
say "installed dosync $("$node_bin" -p "require('$src/package.json').version") into $root"
