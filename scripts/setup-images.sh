#!/usr/bin/env bash
# Builds the CPU images embedbench/transformers:cpu and embedbench/onnx:cpu with podman from the
# locally made base images (no registry is reachable here), for the deployment and docker-runtime
# tests. The base images carry this host's CA bundle at the standard path, which npm inside the
# build must trust. Layers are cached, so a rerun with unchanged sources takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-podman.sh
bash scripts/make-base-images.sh
docker/build-images.sh --engine podman --variant cpu --backend all -- \
  --build-arg NODE_IMAGE=localhost/embedbench-node-base:20 \
  --build-arg CPU_IMAGE=localhost/embedbench-debian-base:bookworm \
  --build-arg NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
  --quiet
echo "setup-images: $(podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' --filter reference='embedbench/*' | tr '\n' ' ')"
