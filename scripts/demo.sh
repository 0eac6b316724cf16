#!/usr/bin/env bash
# Shows dosync updating a real stack: pushes demo/web 1.0.0, 1.1.0 and 2.0.0 to a registry of its own
# (127.0.0.1:$DEMO_REGISTRY_PORT, default 5055; never whatever answers on 127.0.0.1:5000), runs a one-service
# stack on 1.0.0 as compose project "dosync-demo", and lets dosync move it to 1.1.0 (the newest release that
# does not cross the major version). Says what it would install before it installs anything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
port=${DEMO_REGISTRY_PORT:-5055}
reg=127.0.0.1:$port
project=${DEMO_PROJECT:-dosync-demo}
work=${DEMO_DIR:-/tmp/dosync-demo}

# What test/env/install.sh would add: asked for first, installed only with a yes.
missing=()
command -v dockerd >/dev/null || missing+=("docker.io (the Docker engine)")
command -v docker-registry >/dev/null || missing+=("docker-registry (a local registry)")
[ -x /bin/busybox ] || command -v busybox >/dev/null || missing+=("busybox-static (for the tiny demo images)")
docker compose version >/dev/null 2>&1 || missing+=("the Compose v2 plugin (from Debian trixie: an apt source added for the download, then removed)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "demo: this machine lacks:"
  printf '  - %s\n' "${missing[@]}"
  echo "demo: test/env/install.sh would install them with apt-get (as root)."
  if [ "${DEMO_INSTALL:-}" != yes ]; then
    if [ -t 0 ]; then read -r -p "install them now? [y/N] " answer; else answer=n; fi
    case "$answer" in y|Y|yes) ;; *) echo "demo: nothing installed; run again with DEMO_INSTALL=yes, or install them yourself" >&2; exit 2 ;; esac
  fi
  bash "$root/test/env/install.sh"
fi
if ! docker info >/dev/null 2>&1; then
  echo "demo: no Docker engine answers; start it (systemctl start docker, or sudo dockerd &) and run again" >&2
  exit 2
fi
bash "$root/test/env/seed-images.sh" >/dev/null

rm -rf "$work" && mkdir -p "$work/registry"
# The demo's own registry: refuse a port someone else uses rather than push there.
if curl -s -o /dev/null "http://$reg/v2/"; then
  echo "demo: something already answers on $reg; set DEMO_REGISTRY_PORT to a free port" >&2
  exit 2
fi
cat > "$work/registry/config.yml" <<CFG
version: 0.1
log: { level: warn }
storage: { filesystem: { rootdirectory: $work/registry/data } }
http: { addr: $reg }
CFG
docker-registry serve "$work/registry/config.yml" >"$work/registry/log" 2>&1 &
registry_pid=$!
trap 'kill "$registry_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -fsS -o /dev/null "http://$reg/v2/" && break; sleep 0.2; done
curl -fsS -o /dev/null "http://$reg/v2/" || { echo "demo: the registry did not start, see $work/registry/log" >&2; exit 1; }

for v in 1.0.0 1.1.0 2.0.0; do
  printf 'FROM dosync-test/base:1\nENV APP_VERSION=%s\nHEALTHCHECK --interval=1s --retries=3 CMD wget -q -O /dev/null http://127.0.0.1:8080/\n' "$v" > "$work/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q -t "$reg/demo/web:$v" "$work" >/dev/null 2>&1
  docker push -q "$reg/demo/web:$v" >/dev/null
  docker rmi -f "$reg/demo/web:$v" >/dev/null
done
rm "$work/Dockerfile"
cat > "$work/docker-compose.yml" <<YML
# A demo stack. dosync changes only the image value below.
services:
  web:
    image: $reg/demo/web:1.0.0 # moved by dosync
    restart: unless-stopped
YML
cd "$work"
docker compose -p "$project" up -d --wait >/dev/null 2>&1
echo "== running before: $(docker compose -p "$project" exec -T web wget -qO- http://127.0.0.1:8080/)"
echo "== dosync check"
node "$root/bin/dosync.js" check -f docker-compose.yml -p "$project" || true
echo "== dosync sync --once"
node "$root/bin/dosync.js" sync -f docker-compose.yml -p "$project" --once --health-stable 2s --log-format pretty
echo "== running after: $(docker compose -p "$project" exec -T web wget -qO- http://127.0.0.1:8080/)"
echo "== compose file change (backup in $work/backups):"
diff backups/*.bak docker-compose.yml || true
echo "== the demo registry stops now; clean up the stack with: docker compose -p $project -f $work/docker-compose.yml down"
