#!/usr/bin/env bash
# The GPU figures in README.md, in one run on a GPU host with the project built (node on PATH; no
# npm or network needed). Writes every figure and log under OUT_DIR and a summary to stdout.
#   scripts/gpu-figures.sh OUT_DIR
# Settings (environment): SIZE=base (model size), PASSAGES=8192, BATCH=128, CLIENTS=16,
# SECONDS_PER_RUN=25, WARMUP=5.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/gpu-figures.sh OUT_DIR}
SIZE=${SIZE:-base} PASSAGES=${PASSAGES:-8192} BATCH=${BATCH:-128} CLIENTS=${CLIENTS:-16}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-25} WARMUP=${WARMUP:-5}
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

# fp16 is the GPU default; q8f16 (8-bit MatMulNBits weights) is kept or dropped on these figures.
for dtype in fp16 q8f16; do
  step "raw session.run, webgpu $dtype, sorted batches of $BATCH: padded to the longest row vs to the backend's lengths"
  timeout 100 node bench/dist/src/benchmarks/raw-session.js --model "$MODEL" --data "$DATA" --provider webgpu --dtype "$dtype" \
    --batch-size "$BATCH" --passages 2048 2>&1 | grep -v '^Warning' | tee -a "$OUT/raw-webgpu.jsonl"
done

step "compare: onnx (webgpu fp16, token budget 16384 and 32768; q8f16) vs transformers (webgpu fp32), batch $BATCH x $CLIENTS clients"
timeout 360 node bench/bin/embedbench.js compare --model "$MODEL" --data "$DATA" --batch-sizes "$BATCH" \
  --backends onnx 'onnx[max-batch-tokens=32768]' 'onnx[dtype=q8f16]' transformers \
  --max-concurrent-requests "$CLIENTS" --duration-seconds "$SECONDS_PER_RUN" --warmup "$WARMUP" --repeats 1 \
  --gpu-poll-seconds 1 --results-dir "$WORK/results" 2>&1 | grep -v '^Warning' | tee "$OUT/compare.txt"
cp "$WORK/results/summary_report.txt" "$OUT/" 2>/dev/null

step "shapes the warm-up did not run: first vs second time (a compile on the request path shows as a ratio well above 1)"
timeout 100 node bench/dist/src/benchmarks/shape-compile.js --model "$MODEL" --backend onnx --device webgpu --shapes 12 \
  2>&1 | grep -v '^Warning' | tee "$OUT/shapes.jsonl"

tar -C "$WORK" -czf "$OUT/results.tar.gz" results 2>/dev/null
rm -rf "$WORK"
