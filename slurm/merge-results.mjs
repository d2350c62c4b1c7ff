#!/usr/bin/env node
// Merges the results of slurm/array.sbatch's tasks (RESULTS_DIR/tasks/*/results_index.json, each one
// backend x one batch size) into one RESULTS_DIR/results_index.json that `embedbench report` reads.
// File references are rewritten relative to RESULTS_DIR; a task that left no index (it crashed or
// was cancelled) becomes a failed run, so the report shows it instead of silently omitting it.
//   node slurm/merge-results.mjs --results-dir DIR --backends "transformers onnx" --batch-sizes "16 32 64"
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readResultsIndex, writeResultsIndex, RESULTS_INDEX_FILE } from 'embedbench/result-files/index-file';

function fail(message) {
  process.stderr.write(`merge-results: ${message}\n`);
  process.exit(1);
}

const { values } = parseArgs({ options: { 'results-dir': { type: 'string' }, backends: { type: 'string' }, 'batch-sizes': { type: 'string' } } });
const list = (text) => (text ?? '').split(/[\s,]+/).filter(Boolean);
const resultsDir = values['results-dir'] ?? fail('--results-dir is required');
const backendOrder = list(values.backends);
const batchSizeList = list(values['batch-sizes']).map(Number);
if (backendOrder.length === 0 || batchSizeList.length === 0 || batchSizeList.some((n) => !Number.isInteger(n) || n <= 0)) {
  fail('--backends and --batch-sizes must list the array job\'s backends and positive batch sizes');
}

// The task directories array.sbatch writes: task i = backend i / n, batch size i % n.
const tasks = backendOrder.flatMap((backend, b) =>
  batchSizeList.map((batchSize, s) => ({ name: `${String(b * batchSizeList.length + s).padStart(3, '0')}-${backend}-b${batchSize}`, backend, batchSize })),
);
const tasksDir = join(resultsDir, 'tasks');

const merged = [];
const missing = [];
for (const task of tasks) {
  try {
    merged.push({ name: task.name, index: await readResultsIndex(join(tasksDir, task.name)) });
  } catch (error) {
    missing.push({ ...task, reason: error instanceof Error ? error.message : String(error) });
  }
}
if (merged.length === 0) fail(`no task wrote a readable ${RESULTS_INDEX_FILE}:\n  ${missing.map((m) => m.reason).join('\n  ')}`);

const first = merged[0].index;
for (const { name, index } of merged) {
  if (index.model.id !== first.model.id || index.model.path !== first.model.path) {
    fail(`task ${name} used model ${index.model.id} (${index.model.path}), task ${merged[0].name} ${first.model.id} (${first.model.path})`);
  }
}

const relocate = (name, file) => (file === undefined ? undefined : join('tasks', name, file));

// Every task takes the same parity sample for its backend; one per backend is enough.
const paritySamples = new Map();
const parityErrors = [];
for (const { name, index } of merged) {
  for (const sample of index.parity.samples) {
    if (!paritySamples.has(sample.backend)) paritySamples.set(sample.backend, { backend: sample.backend, file: relocate(name, sample.file) });
  }
  parityErrors.push(...index.parity.errors.filter((e) => !parityErrors.some((known) => known.backend === e.backend && known.error === e.error)));
}

const runs = merged.flatMap(({ name, index }) =>
  index.runs.map((run) => ({
    ...run,
    stressFile: relocate(name, run.stressFile),
    gpuFile: relocate(name, run.gpuFile),
    timelineFile: relocate(name, run.timelineFile),
    logFile: relocate(name, run.logFile),
  })),
);
// Each task ran one variant; together, in the order the array job listed them.
const variants = [...new Map(merged.flatMap(({ index }) => index.settings.variants).map((variant) => [variant.label, variant])).values()].sort(
  (a, b) => backendOrder.indexOf(a.label) - backendOrder.indexOf(b.label),
);
const now = new Date().toISOString();
for (const { name, backend, batchSize, reason } of missing) {
  runs.push({ backend, batchSize, repeat: 1, status: 'failed', startedAt: now, finishedAt: now, error: `array task ${name} left no results: ${reason}` });
}

await writeResultsIndex(resultsDir, {
  ...first,
  createdAt: merged.map(({ index }) => index.createdAt).sort()[0],
  settings: { ...first.settings, variants, batchSizes: [...batchSizeList].sort((a, b) => a - b) },
  parity: { threshold: first.parity.threshold, samples: [...paritySamples.values()], errors: parityErrors },
  runs,
});
process.stdout.write(`merge-results: ${runs.length} runs from ${tasks.length} tasks (${missing.length} without results) into ${join(resultsDir, RESULTS_INDEX_FILE)}\n`);
