import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { runComparison } from '../src/compare/orchestrator.js';
import { gpuFileSchema, loadResultSchema, resultsIndexSchema } from '../src/result-files/schemas.js';
import { REPO_ROOT, TINY_MODEL, tinyModelContext, writeTestPassages, type TestPassages } from './compare-support.js';
import { assertNonTrivialPng } from './report-assertions.js';

const execFileAsync = promisify(execFile);
const CLI = join(REPO_ROOT, 'bench/dist/src/cli.js');

let workDir: string;
let data: TestPassages;

before(async () => {
  assert.ok(existsSync(join(TINY_MODEL, 'config.json')), `${TINY_MODEL} is missing: the test command synthesizes it before the tests`);
  workDir = await mkdtemp(join(tmpdir(), 'embedbench-compare-'));
  data = await writeTestPassages(workDir, 120, 11);
});

after(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8'));
}

test('compare end to end: local runtime, both backends, batch sizes 1 and 4, every output file', { timeout: 180_000 }, async () => {
  const resultsDir = join(workDir, 'e2e');
  const { stdout } = await execFileAsync(process.execPath, [
    CLI, 'compare',
    '--model', TINY_MODEL,
    '--data', data.path,
    '--config.batch-sizes', '1', '4',
    '--duration-seconds', '2',
    '--warmup', '0.5',
    '--config.max-concurrent-requests', '2',
    '--repeats', '1',
    '--driver', 'builtin',
    '--parity-sample', '8',
    '--results-dir', resultsDir,
  ], { cwd: workDir, maxBuffer: 16 * 1024 * 1024 });
  assert.match(stdout, /model: +modernbert-tiny \(SYNTHETIC weights/);

  const index = resultsIndexSchema.parse(await readJson(join(resultsDir, 'results_index.json')));
  assert.equal(index.model.synthetic, true, 'the synth marker is detected');
  assert.deepEqual(index.runs.map((run) => [run.backend, run.batchSize, run.status]), [
    ['transformers', 1, 'completed'], ['onnx', 1, 'completed'], ['onnx', 4, 'completed'], ['transformers', 4, 'completed'],
  ], 'batch size by batch size, the backends interleaved with the starting one rotated');
  assert.equal(index.gpu.source, 'none');

  const files = await readdir(resultsDir);
  for (const run of index.runs) {
    assert.match(run.stressFile!, new RegExp(`^stress_${run.backend}_batch${run.batchSize}_\\d{8}_\\d{6}\\.json$`));
    assert.match(run.gpuFile!, new RegExp(`^gpu_${run.backend}_batch${run.batchSize}_\\d{8}_\\d{6}\\.json$`));
    assert.ok(files.includes(run.stressFile!) && files.includes(run.gpuFile!));
    const stress = loadResultSchema.parse(await readJson(join(resultsDir, run.stressFile!)));
    assert.equal(stress.backend, run.backend);
    assert.equal(stress.batchSize, run.batchSize);
    assert.ok(stress.requests.succeeded > 0 && stress.successRate === 1, `${run.stressFile}: ${stress.requests.succeeded} ok, success ${stress.successRate}`);
    assert.equal(stress.embeddings, stress.requests.succeeded * run.batchSize);
    assert.equal(stress.embeddingDim, 64);
    const gpu = gpuFileSchema.parse(await readJson(join(resultsDir, run.gpuFile!)));
    assert.equal(gpu.source, 'none');
    assert.match(gpu.detail, /no GPU metrics/);
    assert.ok(existsSync(join(resultsDir, run.logFile!)), `${run.logFile} exists`);
  }
  assert.equal(index.parity.samples.length, 2);
  assert.equal(files.filter((file) => /^(stress|gpu)_.*\.json$/.test(file)).length, 8, 'no stray result files');
  assert.ok(!files.some((file) => file.endsWith('.tmp')), 'no temp files left');

  const summary = await readFile(join(resultsDir, 'summary_report.txt'), 'utf8');
  assert.match(summary, /SYNTHETIC weights/);
  assert.match(summary, /no GPU metrics/);
  // One repeat shows no spread, so no winner is named however far apart the two are.
  assert.match(summary, /batch 1: no clear difference: (transformers|onnx) \d+\.\d\dx the throughput of (transformers|onnx), but from a single repeat/);
  assert.match(summary, /batch 4: no clear difference: (transformers|onnx) \d+\.\d\dx the throughput of (transformers|onnx), but from a single repeat/);
  // Same weights, fp32 on CPU for both: the two backends must produce the same embeddings.
  assert.match(summary, /onnx +transformers +8 +(0\.99\d{3}|1\.00000) +\S+ +0\.99 +agrees/);

  for (const plot of ['throughput_comparison', 'latency_comparison', 'gpu_utilization']) await assertNonTrivialPng(join(resultsDir, 'plots', `${plot}.png`));
  const html = await readFile(join(resultsDir, 'report.html'), 'utf8');
  assert.equal(html.match(/src="data:image\/png;base64,/g)?.length, 3);
  assert.match(html, /<table>/);
  assert.match(html, /SYNTHETIC weights/);
});

test('a backend killed mid-run (real SIGKILL) is recorded as failed with its log tail; the other runs complete', { timeout: 120_000 }, async () => {
  const resultsDir = join(workDir, 'crash');
  let killed = false;
  let killedPid: number | undefined;
  const pids = new Map<string, number | undefined>();
  const index = await runComparison(tinyModelContext(resultsDir, data, { backends: ['transformers', 'onnx'], batchSizes: [4], durationSeconds: 4 }), {
    onBackendReady: (run, backend) => pids.set(run.backend, backend.pid),
    onProgress: (progress) => {
      if (killed || progress.backend !== 'transformers' || progress.phase !== 'load' || progress.elapsedSeconds < 1) return;
      killed = true;
      killedPid = pids.get('transformers');
      process.kill(killedPid!, 'SIGKILL');
    },
  });
  assert.ok(killed && killedPid !== undefined, 'the crash was injected');
  const [crashed, survivor] = index.runs;
  assert.equal(crashed?.status, 'failed');
  assert.match(crashed?.error ?? '', /crashed mid-run \(killed by SIGKILL\)/);
  assert.match(crashed?.logTail ?? '', /"backend":"transformers"/, 'the log tail is the backend\'s own output');
  assert.match(await readFile(join(resultsDir, crashed!.logFile!), 'utf8'), /"msg":"model ready"/, 'the whole log is kept in the results');
  assert.equal(crashed?.stressFile, undefined, 'a crashed run leaves no stress result');
  assert.equal(survivor?.status, 'completed');
  assert.ok(existsSync(join(resultsDir, survivor!.stressFile!)));
  assert.throws(() => process.kill(killedPid!, 0), /ESRCH/, 'the killed backend is gone');
  assert.throws(() => process.kill(pids.get('onnx')!, 0), /ESRCH/, 'the surviving backend was stopped after its run');

  const onDisk = resultsIndexSchema.parse(await readJson(join(resultsDir, 'results_index.json')));
  assert.deepEqual(onDisk.runs, index.runs, 'the index on disk holds both runs');
});

test('a backend that cannot start fails fast with its log tail, and the next backend is still tried', { timeout: 60_000 }, async () => {
  const resultsDir = join(workDir, 'bad-model');
  const emptyModel = join(workDir, 'empty-model');
  await mkdir(emptyModel);
  const started = Date.now();
  const index = await runComparison(tinyModelContext(resultsDir, data, { backends: ['onnx', 'transformers'], batchSizes: [2], durationSeconds: 1 }, { modelDir: emptyModel }));
  assert.deepEqual(index.runs.map((run) => [run.backend, run.status]), [['onnx', 'failed'], ['transformers', 'failed']]);
  for (const run of index.runs) {
    assert.match(run.error ?? '', /failed to start: .*exited before becoming healthy/);
    assert.ok((run.logTail ?? '').length > 0, `${run.backend} log tail recorded`);
  }
  assert.ok(Date.now() - started < 45_000, 'failed start-ups do not wait for the start-up timeout');

  // A second comparison into the same directory keeps the first one's index under another name.
  const notes: string[] = [];
  await runComparison(tinyModelContext(resultsDir, data, { backends: ['onnx'], batchSizes: [2], durationSeconds: 1 }, { modelDir: emptyModel }), { onNote: (note) => notes.push(note) });
  const archived = (await readdir(resultsDir)).filter((file) => /^results_index\.previous-\d{8}_\d{6}\.json$/.test(file));
  assert.equal(archived.length, 1);
  assert.match(notes.join('\n'), new RegExp(archived[0]!.replace(/\./g, '\\.')));
  assert.deepEqual(resultsIndexSchema.parse(await readJson(join(resultsDir, archived[0]!))).runs, index.runs);
  assert.equal(resultsIndexSchema.parse(await readJson(join(resultsDir, 'results_index.json'))).runs.length, 1);
});
