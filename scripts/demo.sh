#!/usr/bin/env bash
# Shows dosync updating a real stack: starts the local engine and registry (test/env/up.sh), pushes
# demo/web 1.0.0, 1.1.0 and 2.0.0, runs a one-service stack on 1.0.0, and lets dosync move it to 1.1.0
# (the newest release that does not cross the major version).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/test/env/up.sh" >/dev/null
reg=127.0.0.1:5000
work=${DEMO_DIR:-/tmp/dosync-demo}
rm -rf "$work" && mkdir -p "$work"
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
docker compose -p dosync-demo up -d --wait >/dev/null 2>&1
echo "== running before: $(docker compose -p dosync-demo exec -T web wget -qO- http://127.0.0.1:8080/)"
echo "== dosync sync --once"
node "$root/bin/dosync.js" sync -f docker-compose.yml --once --health-stable 2s --log-format pretty
echo "== running after: $(docker compose -p dosync-demo exec -T web wget -qO- http://127.0.0.1:8080/)"
echo "== compose file change (backup in $work/backups):"
diff backups/*.bak docker-compose.yml || true
echo "== clean up with: docker compose -p dosync-demo -f $work/docker-compose.yml down"
