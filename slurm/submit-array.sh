#!/usr/bin/env bash
# Submits the comparison as a job array: every backend x batch size its own job (on its own node:
# --exclusive, unless BENCH_EXCLUSIVE=0), then a job that waits for all of them (afterany), merges
# their results and builds the report. Set-up and input preparation run here, once, on the login
# node (where the Hub is reachable). Extra arguments go to every sbatch call (e.g. -p gpu -A proj).
#   cd /path/to/embedbench && slurm/submit-array.sh [SBATCH ARGS...]
# Settings: BENCH_* variables (slurm/common.sh); BENCH_RESULTS_DIR defaults to results/array-<time>.
set -euo pipefail
export BENCH_REPO=${BENCH_REPO:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=slurm/common.sh
source "$BENCH_REPO/slurm/common.sh"

submit_dir=$PWD
bench_setup
bench_prepare_inputs
read -r -a backends <<<"$BENCH_BACKENDS"
read -r -a batch_sizes <<<"$BENCH_BATCH_SIZES"
tasks=$(( ${#backends[@]} * ${#batch_sizes[@]} ))
(( tasks > 0 )) || bench_fail "BENCH_BACKENDS and BENCH_BATCH_SIZES must not be empty"

# Model and data as absolute paths (relative ones are relative to the checkout, where set-up ran).
BENCH_MODEL=$(realpath "$BENCH_MODEL")
BENCH_DATA=$(realpath "$BENCH_DATA")
# The jobs start, and write their slurm_*.out files, in the submit directory.
cd "$submit_dir"
export BENCH_RESULTS_DIR=${BENCH_RESULTS_DIR:-$submit_dir/results/array-$(date -u +%Y%m%d_%H%M%S)}
mkdir -p "$BENCH_RESULTS_DIR"
export BENCH_MODEL BENCH_DATA BENCH_BACKENDS BENCH_BATCH_SIZES BENCH_NUM_SENTENCES BENCH_DURATION_MINUTES BENCH_MAX_CONCURRENT_REQUESTS \
  BENCH_COMPARE_ARGS BENCH_SIF
exclusive=()
[ "${BENCH_EXCLUSIVE:-1}" = 0 ] || exclusive=(--exclusive)

array_job=$(sbatch --parsable "${exclusive[@]}" --array="0-$((tasks - 1))" "$@" "$BENCH_REPO/slurm/array.sbatch")
array_job=${array_job%%;*}
merge_job=$(sbatch --parsable --dependency="afterany:$array_job" "$@" "$BENCH_REPO/slurm/merge.sbatch")
merge_job=${merge_job%%;*}
echo "array job $array_job ($tasks tasks), merge job $merge_job; results in $BENCH_RESULTS_DIR"
