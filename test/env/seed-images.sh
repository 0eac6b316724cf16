#!/usr/bin/env bash
# Builds the tiny busybox-based base image used by every test image (nothing can be pulled from
# Docker Hub here, so the base is made FROM scratch with Debian's static busybox).
set -euo pipefail
# Bump REV when the base changes: the image is rebuilt when its label differs.
REV=2
have=$(docker image inspect -f '{{index .Config.Labels "dosync.test.base"}}' dosync-test/base:1 2>/dev/null || true)
if [ "$have" = "$REV" ]; then exit 0; fi
ctx=$(mktemp -d)
mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/www" "$ctx/rootfs/tmp"
cp /bin/busybox "$ctx/rootfs/bin/busybox"
for app in sh sleep echo cat httpd wget nc true false ls test; do ln -s busybox "$ctx/rootfs/bin/$app"; done
cat > "$ctx/Dockerfile" <<'DF'
FROM scratch
COPY rootfs/ /
ENV PATH=/bin
LABEL dosync.test.base=REV
# A shell as PID 1 ignores SIGTERM unless it traps it: without the trap every stop waits 10s for SIGKILL.
CMD ["sh", "-c", "echo ${APP_VERSION:-base} > /www/index.html; trap 'exit 0' TERM INT; httpd -f -p 8080 -h /www & wait"]
DF
sed -i "s/=REV/=$REV/" "$ctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t dosync-test/base:1 "$ctx" >/dev/null
rm -rf "$ctx"
echo "seed: built dosync-test/base:1"
