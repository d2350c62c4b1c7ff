#!/usr/bin/env bash
# The project's one test command (README and .ci/run). On a fresh Debian machine it installs and
# starts what the tests use for real (Prometheus, Chromium, a single-node Slurm cluster, podman with
# a Docker-compatible socket and the CPU images built from local base images), then runs lint,
# type-check and every test suite. Tests that need one of these fail, never skip, under CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."

for setup in setup-prometheus setup-chromium setup-slurm setup-images; do
  echo "== scripts/$setup.sh"
  bash "scripts/$setup.sh"
done

echo "== npm ci"
npm ci --no-audit --no-fund
echo "== npm test"
npm test
