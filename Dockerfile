# dosync sidecar image: node + the built CLI + production dependencies + the docker CLI and compose plugin.
#
#   docker build -t dosync:latest .
#
# Without Docker Hub (CI, air-gapped hosts) build FROM local stand-ins made by test/env/build-base-image.sh:
#   docker build --build-arg BASE_IMAGE=dosync-base/node:20 \
#                --build-arg DOCKER_CLI_IMAGE=dosync-base/docker-cli:local -t dosync:latest .
# Works with the classic builder and with BuildKit (no BuildKit-only syntax).
ARG BASE_IMAGE=node:20-bookworm-slim
# Source of the static docker CLI and compose plugin (docker:cli keeps them at the paths copied below).
ARG DOCKER_CLI_IMAGE=docker:27-cli

FROM ${DOCKER_CLI_IMAGE} AS docker-cli

FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs an install script (ssh2's optional native speed-up is skipped).
RUN npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
COPY tsconfig.json ./
COPY src ./src
COPY bin ./bin
COPY scripts/bundle.mjs ./scripts/
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund --ignore-scripts --loglevel=error \
 && rm -rf dist/*.map dist/.cache

FROM ${BASE_IMAGE}
COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/docker
COPY --from=docker-cli /usr/local/libexec/docker/cli-plugins/docker-compose /usr/local/libexec/docker/cli-plugins/docker-compose
COPY --from=build /src/package.json /opt/dosync/package.json
COPY --from=build /src/node_modules /opt/dosync/node_modules
COPY --from=build /src/dist /opt/dosync/dist
COPY --from=build /src/bin /opt/dosync/bin
RUN ln -s /opt/dosync/bin/dosync.js /usr/local/bin/dosync && dosync --version && docker compose version
ENV NODE_ENV=production
# glibc gives each thread that allocates its own malloc arena, and freed memory stays in them: two arenas
# keep the idle daemon ~5 MB smaller (bench/ item 5).
ENV MALLOC_ARENA_MAX=2
# The compose file is mounted at /app/docker-compose.yml, backups go next to it (/app/backups), and a
# dosync.yaml mounted at /app/dosync.yaml is found from the working directory. DOSync's environment
# variables work: CHECK_INTERVAL=1m, VERBOSE=--verbose, registry credentials (DOCKERHUB_PASSWORD, GITHUB_PAT ...).
WORKDIR /app
# Healthy while the daemon's last cycle is recent (its heartbeat file), see `dosync health --help`.
HEALTHCHECK --interval=1m --timeout=10s --start-period=2m --retries=3 CMD ["dosync", "health"]
# Runs as root: the Docker socket's group differs from host to host.
ENTRYPOINT ["dosync"]
CMD ["sync", "-f", "/app/docker-compose.yml"]
