#!/usr/bin/env bash
# Builds the tiny busybox-based base image used by every test image (nothing can be pulled from
# Docker Hub here, so the base is made FROM scratch with Debian's static busybox).
set -euo pipefail
if docker image inspect dosync-test/base:1 >/dev/null 2>&1; then exit 0; fi
ctx=$(mktemp -d)
mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/www" "$ctx/rootfs/tmp"
cp /bin/busybox "$ctx/rootfs/bin/busybox"
for app in sh sleep echo cat httpd wget nc true false ls test; do ln -s busybox "$ctx/rootfs/bin/$app"; done
cat > "$ctx/Dockerfile" <<'DF'
FROM scratch
COPY rootfs/ /
ENV PATH=/bin
CMD ["sh", "-c", "echo ${APP_VERSION:-base} > /www/index.html; exec httpd -f -p 8080 -h /www"]
DF
DOCKER_BUILDKIT=0 docker build -q -t dosync-test/base:1 "$ctx" >/dev/null
rm -rf "$ctx"
echo "seed: built dosync-test/base:1"
