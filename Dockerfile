# dosync sidecar image: node + the built CLI + the packages it loads at run time + the compose plugin, under tini.
#
#   docker build --build-arg VERSION=$(node -p "require('./package.json').version") \
#                --build-arg REVISION=$(git rev-parse HEAD) -t dosync:latest .
#
# Without Docker Hub (CI, air-gapped hosts) build FROM local stand-ins made by test/env/build-base-image.sh:
#   docker build --build-arg BASE_IMAGE=dosync-base/node:20 \
#                --build-arg DOCKER_CLI_IMAGE=dosync-base/docker-cli:local -t dosync:latest .
# Works with the classic builder and with BuildKit (no BuildKit-only syntax).
#
# What is in it (docs/operations.md has the measured sizes): Debian bookworm slim with node (the base), tini,
# the compose v2 binary (no docker CLI: dosync talks to the engine over its API and runs only `compose up`),
# dist/ (the bundled CLI) and only the node_modules the bundle leaves external (cloud SDKs, prom-client,
# nodemailer, pino-pretty), without source maps, type declarations or browser builds. npm is not in it.
ARG BASE_IMAGE=node:20-bookworm-slim
# Source of the static compose plugin (docker:cli keeps it at the path copied below).
ARG DOCKER_CLI_IMAGE=docker:27-cli

FROM ${DOCKER_CLI_IMAGE} AS docker-cli

FROM ${BASE_IMAGE} AS build
ARG REVISION=unknown
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs an install script (ssh2's optional native speed-up is skipped).
RUN npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
COPY tsconfig.json ./
COPY src ./src
COPY bin ./bin
COPY scripts/bundle.mjs scripts/externals.json scripts/prune-runtime.mjs ./scripts/
RUN DOSYNC_REVISION=${REVISION} npm run build \
 && npm prune --omit=dev --no-audit --no-fund --ignore-scripts --loglevel=error \
 && node scripts/prune-runtime.mjs node_modules \
 && rm -rf dist/*.map dist/.cache

# The runtime file system, flattened below into one layer: files deleted here (npm, docs) really leave the image.
FROM ${BASE_IMAGE} AS rootfs
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends tini >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old /var/log/* \
           /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/include \
           /usr/share/doc/* /usr/share/man/* /usr/share/info/* \
 # Nothing at run time converts charsets with iconv (node has ICU), runs perl or installs packages:
 # glibc's gconv modules, perl and apt go (dpkg's status stays, for image scanners). ~25 MB.
 && rm -rf /usr/lib/*-linux-gnu/gconv /usr/lib/*-linux-gnu/perl-base /usr/bin/perl* /usr/share/perl5 \
           /usr/bin/apt* /usr/lib/apt /usr/lib/*-linux-gnu/libapt-* /var/cache/apt /etc/apt
# Found by dosync as `docker-compose` (its fallback when there is no `docker compose`).
COPY --from=docker-cli /usr/local/libexec/docker/cli-plugins/docker-compose /usr/local/bin/docker-compose
COPY --from=build /src/package.json /opt/dosync/package.json
COPY --from=build /src/node_modules /opt/dosync/node_modules
COPY --from=build /src/dist /opt/dosync/dist
COPY --from=build /src/bin /opt/dosync/bin
RUN ln -s /opt/dosync/bin/dosync.js /usr/local/bin/dosync && dosync --version && docker-compose version --short && tini --version

FROM scratch
COPY --from=rootfs / /
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="dosync" \
      org.opencontainers.image.description="Keeps the services of a Docker Compose stack on the newest image a policy allows." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT"
# DOSYNC_FILE: the compose file the sidecar manages, so `docker compose exec dosync dosync check` needs no -f.
# MALLOC_ARENA_MAX: glibc gives each thread that allocates its own malloc arena, and freed memory stays in
# them: two arenas keep the idle daemon ~5 MB smaller (bench/ item 5).
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_ENV=production \
    DOSYNC_REVISION=${REVISION} \
    DOSYNC_FILE=/app/docker-compose.yml \
    MALLOC_ARENA_MAX=2
# The compose file is mounted at /app/docker-compose.yml, backups go next to it (/app/backups), and a
# dosync.yaml mounted at /app/dosync.yaml is found from the working directory. DOSync's environment
# variables work: CHECK_INTERVAL=1m, VERBOSE=--verbose, registry credentials (DOCKERHUB_PASSWORD, GITHUB_PAT ...).
WORKDIR /app
# Healthy while the daemon's last cycle is recent (its heartbeat file), see `dosync health --help`.
HEALTHCHECK --interval=1m --timeout=10s --start-period=2m --retries=3 CMD ["dosync", "health"]
# Runs as root: the Docker socket's group differs from host to host. tini is PID 1: it forwards SIGTERM to
# dosync and reaps the zombies compose and exec'd hooks can leave behind.
ENTRYPOINT ["tini", "--", "dosync"]
CMD ["sync", "-f", "/app/docker-compose.yml"]
