#!/usr/bin/env bash
# Starts (when not already running) the Docker engine and a CNCF registry on 127.0.0.1:5000,
# then builds and pushes the tiny seed images the integration tests use. Safe to run repeatedly.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=${DOSYNC_TEST_STATE:-/tmp/dosync-test-env}
mkdir -p "$state"
bash "$here/install.sh"

if ! docker info >/dev/null 2>&1; then
  echo "up: starting dockerd"
  # vfs/overlay choice: overlay2 works on this kernel; fall back to vfs when it does not.
  (dockerd --host unix:///var/run/docker.sock >"$state/dockerd.log" 2>&1 &)
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo "up: dockerd did not start, see $state/dockerd.log" >&2; tail -20 "$state/dockerd.log" >&2; exit 1; }
fi

start_registry() { # name port [extra config yaml]
  local name=$1 port=$2 extra=${3:-}
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null || curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" 2>/dev/null | grep -q 401; then
    return 0
  fi
  mkdir -p "$state/$name/data"
  cat > "$state/$name/config.yml" <<CFG
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $state/$name/data }
  delete: { enabled: true }
http:
  addr: 127.0.0.1:$port
$extra
CFG
  (docker-registry serve "$state/$name/config.yml" >"$state/$name.log" 2>&1 &)
  for _ in $(seq 1 40); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" || true)
    [ "$code" = 200 ] || [ "$code" = 401 ] && return 0
    sleep 0.25
  done
  echo "up: registry $name on :$port did not start" >&2; cat "$state/$name.log" >&2; exit 1
}
start_registry registry 5000

# htpasswd-protected registry (Basic auth) for credential tests.
if [ ! -f "$state/htpasswd" ]; then htpasswd -Bbn dosync s3cret-pass > "$state/htpasswd"; fi
start_registry registry-basic 5001 "auth:
  htpasswd: { realm: dosync-test, path: $state/htpasswd }"

bash "$here/seed-images.sh"
echo "up: engine $(docker version -f '{{.Server.Version}}'), registries :5000 (anonymous) :5001 (basic dosync/s3cret-pass)"
