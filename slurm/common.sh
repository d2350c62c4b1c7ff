# shellcheck shell=bash
# Shared by the EmbedBench sbatch scripts and slurm/submit-array.sh (sourced, not run).
# Every knob is an environment variable with the default listed below; sbatch passes
# the submitting shell's environment to the job (--export=ALL), so `BENCH_X=... sbatch ...` works.
#   BENCH_REPO         the EmbedBench checkout (default: the directory sbatch was run from)
#   BENCH_MODULES      environment modules to load first, e.g. "nodejs/20 apptainer" (default: none)
#   BENCH_SETUP        0 skips npm ci and the build, for a checkout prepared beforehand (default 1)
#   BENCH_MODEL        model directory (default models/ModernBERT-base, fetched when missing)
#   BENCH_MODEL_ID     Hub id fetched into BENCH_MODEL when it is missing (default answerdotai/ModernBERT-base)
#   BENCH_DATA         prepared passages, JSON Lines (default data/passages.jsonl, prepared when missing)
#   BENCH_DATA_SOURCE  msmarco|synthetic|PATH.tsv for `embedbench data prepare` (default msmarco)
#   BENCH_NUM_SENTENCES, BENCH_DURATION_MINUTES, BENCH_BATCH_SIZES, BENCH_MAX_CONCURRENT_REQUESTS,
#   BENCH_BACKENDS     the comparison's settings (defaults 100000, 10, "16 32 64", 10, "transformers onnx")
#   BENCH_RUNTIME      apptainer|local (default: apptainer when the command and BENCH_SIF exist, else local)
#   BENCH_SIF          Apptainer image built from apptainer.def (default embedbench.sif in BENCH_REPO)
#   BENCH_RESULTS_DIR  where results go (default results/slurm-JOBID in the submit directory)
#   BENCH_COMPARE_ARGS extra `embedbench compare` arguments, e.g. "--duration-seconds 30 --warmup 0"

: "${BENCH_REPO:=${SLURM_SUBMIT_DIR:-$PWD}}"
: "${BENCH_MODEL:=models/ModernBERT-base}"
: "${BENCH_MODEL_ID:=answerdotai/ModernBERT-base}"
: "${BENCH_DATA:=data/passages.jsonl}"
: "${BENCH_DATA_SOURCE:=msmarco}"
: "${BENCH_NUM_SENTENCES:=100000}"
: "${BENCH_DURATION_MINUTES:=10}"
: "${BENCH_BATCH_SIZES:=16 32 64}"
: "${BENCH_MAX_CONCURRENT_REQUESTS:=10}"
: "${BENCH_BACKENDS:=transformers onnx}"
: "${BENCH_SIF:=embedbench.sif}"
: "${BENCH_COMPARE_ARGS:=}"

bench_log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
bench_fail() { printf 'embedbench job: %s\n' "$*" >&2; exit 1; }

embedbench() { node "$BENCH_REPO/bench/dist/src/cli.js" "$@"; }

# Modules, the checkout, dependencies and the build. npm ci runs only when the installed tree is
# missing or older than package-lock.json, so repeated jobs on a shared file system start at once.
bench_setup() {
  if [ -n "${BENCH_MODULES:-}" ]; then
    command -v module >/dev/null || bench_fail "BENCH_MODULES is set but the 'module' command is missing"
    # shellcheck disable=SC2086
    module load $BENCH_MODULES
  fi
  cd "$BENCH_REPO" || bench_fail "BENCH_REPO=$BENCH_REPO is not a directory"
  { [ -f package.json ] && [ -d bench ]; } || bench_fail "$BENCH_REPO is not an EmbedBench checkout (set BENCH_REPO)"
  command -v node >/dev/null || bench_fail "node is not on PATH (set BENCH_MODULES, e.g. BENCH_MODULES=nodejs/20)"
  [ "${BENCH_SETUP:-1}" != 0 ] || return 0
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    bench_log "npm ci"
    npm ci --no-audit --no-fund
  fi
  bench_log "build (npm run build)"
  npm run build
}

# The model and the passages, each made only when missing.
bench_prepare_inputs() {
  if [ ! -d "$BENCH_MODEL" ]; then
    bench_log "fetching $BENCH_MODEL_ID into $BENCH_MODEL"
    embedbench model fetch "$BENCH_MODEL_ID" --out "$BENCH_MODEL"
  fi
  if [ ! -s "$BENCH_DATA" ]; then
    bench_log "preparing $BENCH_NUM_SENTENCES passages ($BENCH_DATA_SOURCE) into $BENCH_DATA"
    embedbench data prepare --source "$BENCH_DATA_SOURCE" --count "$BENCH_NUM_SENTENCES" --out "$BENCH_DATA"
  fi
}

# Sets bench_runtime_args: Apptainer when it is installed and the image exists, native otherwise.
bench_choose_runtime() {
  local runtime=${BENCH_RUNTIME:-}
  if [ -z "$runtime" ]; then
    if command -v apptainer >/dev/null && [ -f "$BENCH_SIF" ]; then runtime=apptainer; else runtime=local; fi
  fi
  case "$runtime" in
    apptainer)
      command -v apptainer >/dev/null || bench_fail "BENCH_RUNTIME=apptainer but apptainer is not on PATH"
      [ -f "$BENCH_SIF" ] || bench_fail "BENCH_SIF=$BENCH_SIF not found (apptainer build $BENCH_SIF apptainer.def)"
      bench_runtime_args=(--runtime apptainer)
      local backend
      for backend in $BENCH_BACKENDS; do bench_runtime_args+=(--image "$backend=$BENCH_SIF"); done ;;
    local) bench_runtime_args=(--runtime local) ;;
    *) bench_fail "BENCH_RUNTIME must be apptainer or local, got '$runtime'" ;;
  esac
  bench_log "runtime: $runtime"
}

# embedbench compare with the job's settings; extra arguments are appended.
bench_compare() {
  # shellcheck disable=SC2086
  embedbench compare "${bench_runtime_args[@]}" \
    --model "$BENCH_MODEL" --data "$BENCH_DATA" \
    --num-sentences "$BENCH_NUM_SENTENCES" --duration-minutes "$BENCH_DURATION_MINUTES" \
    --max-concurrent-requests "$BENCH_MAX_CONCURRENT_REQUESTS" \
    "$@" $BENCH_COMPARE_ARGS
}
