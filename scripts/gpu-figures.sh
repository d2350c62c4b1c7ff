#!/usr/bin/env bash
# The GPU figures in README.md, in one run on a GPU host with the project built (node on PATH; no
# npm or network needed). Writes every figure and log under OUT_DIR and a summary to stdout.
#   scripts/gpu-figures.sh OUT_DIR
# Settings (environment): SIZE=base (model size), PASSAGES=8192, BATCH=128, CLIENTS=16,
# SECONDS_PER_RUN=30, WARMUP=10.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/gpu-figures.sh OUT_DIR}
SIZE=${SIZE:-base} PASSAGES=${PASSAGES:-8192} BATCH=${BATCH:-128} CLIENTS=${CLIENTS:-16}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-30} WARMUP=${WARMUP:-10}
mkdir -p "$OUT"
# Rows of at most 512 tokens, the serve default, also where an older default would differ.
export EMBEDBENCH_MAX_INPUT_TOKENS=512
WORK=$(mktemp -d)
MODEL="$WORK/modernbert-$SIZE-synthetic" DATA="$WORK/passages.jsonl"
cli() { node bench/bin/embedbench.js "$@"; }
step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%T)"; }

step doctor
cli doctor 2>&1 | tee "$OUT/doctor.txt"

step "model and passages"
cli model synth --arch modernbert --size "$SIZE" --out "$MODEL" 2>&1 | tail -n 1
cli data prepare --source synthetic --count "$PASSAGES" --out "$DATA" 2>&1 | tail -n 1

for batch in "$BATCH" $((BATCH * 2)); do
  step "raw session.run, webgpu fp16, sorted batches of $batch: padded to the longest row vs to the backend's lengths"
  timeout 240 node bench/dist/src/benchmarks/raw-session.js --model "$MODEL" --data "$DATA" --provider webgpu --dtype fp16 \
    --batch-size "$batch" --passages 2048 2>&1 | grep -v '^Warning' | tee -a "$OUT/raw-webgpu.jsonl"
done

step "compare: onnx (webgpu fp16) vs transformers (webgpu fp32), batch $BATCH x $CLIENTS clients, ${SECONDS_PER_RUN} s"
timeout 420 node bench/bin/embedbench.js compare --model "$MODEL" --data "$DATA" --batch-sizes "$BATCH" \
  --max-concurrent-requests "$CLIENTS" --duration-seconds "$SECONDS_PER_RUN" --warmup "$WARMUP" --repeats 1 \
  --gpu-poll-seconds 1 --results-dir "$WORK/results" 2>&1 | grep -v '^Warning' | tee "$OUT/compare.txt"

step "onnx service with 2 inference workers on the GPU"
cli serve --backend onnx --model "$MODEL" --port 18002 --workers 2 > "$WORK/onnx-workers2.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 240); do curl -sf localhost:18002/health >/dev/null 2>&1 && break; sleep 1; done
curl -s localhost:18002/info > "$OUT/onnx-workers2-info.json"
timeout 120 node bench/bin/embedbench.js load --base-url http://localhost:18002 --backend onnx-workers2 --batch-size "$BATCH" \
  --vus "$CLIENTS" --duration "${SECONDS_PER_RUN}s" --warmup "${WARMUP}s" --dataset "$DATA" --p99-target-ms 60000 \
  --out "$WORK/onnx-workers2.json" 2>&1 | tail -n 3 | tee "$OUT/onnx-workers2.txt"
kill "$SERVER"; wait "$SERVER" 2>/dev/null

if command -v python3 >/dev/null; then
  step "Python transformers loads the synthesized folder"
  python3 - "$MODEL" <<'PY' 2>&1 | tail -n 3 | tee "$OUT/python-autoconfig.txt"
import sys
from transformers import AutoConfig, AutoModel
config = AutoConfig.from_pretrained(sys.argv[1])
model = AutoModel.from_config(config)  # the folder holds ONNX weights only; this builds the PyTorch model from config.json
print(f"AutoConfig and AutoModel accept config.json: {type(config).__name__} -> {type(model).__name__}, {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters")
PY
fi

tar -C "$WORK" -czf "$OUT/results.tar.gz" results onnx-workers2.log onnx-workers2.json 2>/dev/null
rm -rf "$WORK"
