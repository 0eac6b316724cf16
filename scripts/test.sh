#!/usr/bin/env bash
# `npm test`: brings up the test environment when it is missing (as root: Docker engine, registries, seed
# images, tools; idempotent and quick when everything is there, see test/env/up.sh), then typechecks,
# bundles and runs the whole suite. Arguments go to test/run.mjs (`npm test -- unit`).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
  bash test/env/up.sh
elif ! docker info >/dev/null 2>&1 || ! curl -fsS -o /dev/null http://127.0.0.1:5000/v2/; then
  echo "npm test: the test environment is not up (a Docker engine, the registries on 127.0.0.1:5000/5001); run npm test as root once, or sudo bash test/env/up.sh" >&2
  exit 2
fi
npx tsc -p tsconfig.test.json
node scripts/bundle.mjs
exec node test/run.mjs "$@"
