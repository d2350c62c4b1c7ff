#!/usr/bin/env bash
# Builds the per-backend images from docker/Dockerfile with the right arguments and tags:
#   embedbench/transformers:latest, embedbench/onnx:latest   (VARIANT=gpu, CUDA 12 + cuDNN 9; onnx adds TensorRT 10)
#   embedbench/transformers:cpu,    embedbench/onnx:cpu      (VARIANT=cpu, no CUDA)
# Usage: docker/build-images.sh [--engine docker|podman] [--variant gpu|cpu] [--backend transformers|onnx|all]
#                               [-- EXTRA BUILD ARGUMENTS, e.g. --build-arg MODEL_SOURCE=fetch --secret id=hf_token,src=TOKEN_FILE]
set -euo pipefail
cd "$(dirname "$0")/.."

engine=${EMBEDBENCH_CONTAINER_ENGINE:-$(command -v docker >/dev/null && echo docker || echo podman)}
variant=gpu
backends=(transformers onnx)
while [ $# -gt 0 ]; do
  case "$1" in
    --engine) engine=$2; shift 2 ;;
    --variant) variant=$2; shift 2 ;;
    --backend) [ "$2" = all ] || backends=("$2"); shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-images: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$variant" in gpu) tag=latest ;; cpu) tag=cpu ;; *) echo "build-images: --variant must be gpu or cpu" >&2; exit 2 ;; esac
command -v "$engine" >/dev/null || { echo "build-images: container engine '$engine' not found" >&2; exit 1; }

# podman writes OCI images by default, and OCI has no HEALTHCHECK; the Docker format keeps it.
format_args=()
[ "$(basename "$engine")" = podman ] && format_args=(--format docker)

for backend in "${backends[@]}"; do
  case "$backend" in transformers) port=8000 ;; onnx) port=8002 ;; *) echo "build-images: unknown backend $backend" >&2; exit 2 ;; esac
  echo "build-images: embedbench/$backend:$tag"
  "$engine" build "${format_args[@]}" -f docker/Dockerfile \
    --build-arg VARIANT="$variant" --build-arg BACKEND="$backend" --build-arg PORT="$port" \
    -t "embedbench/$backend:$tag" "$@" .
done
