/**
 * Backend variants end to end with the tiny model on the local runtime: an A/A comparison through
 * the CLI (interleaving, per-run files, /info, host CPU use, versions, the report's verdict), and
 * a variant made clearly slower by a real serve setting, which the report must call.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { runComparison } from '../src/compare/orchestrator.js';
import { generateReport } from '../src/report/generate.js';
import { gpuFileSchema, loadResultSchema, paritySampleSchema, resultsIndexSchema, timelineSchema } from '../src/result-files/schemas.js';
import { REPO_ROOT, TINY_MODEL, tinyModelContext, writeTestPassages, type TestPassages } from './compare-support.js';

const execFileAsync = promisify(execFile);
const CLI = join(REPO_ROOT, 'bench/dist/src/cli.js');
const VERSION = (JSON.parse(await readFile(join(REPO_ROOT, 'bench/package.json'), 'utf8')) as { version: string }).version;

let workDir: string;
let data: TestPassages;

before(async () => {
  assert.ok(existsSync(join(TINY_MODEL, 'config.json')), `${TINY_MODEL} is missing: the test command synthesizes it before the tests`);
  workDir = await mkdtemp(join(tmpdir(), 'embedbench-variants-'));
  data = await writeTestPassages(workDir, 64, 5);
});

after(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8'));
}

test('A/A through the CLI: interleaved repeats, one file set per run with its version, /info and host CPU use, and no winner', { timeout: 120_000 }, async () => {
  const resultsDir = join(workDir, 'aa');
  const { stdout } = await execFileAsync(process.execPath, [
    CLI, 'compare',
    '--model', TINY_MODEL,
    '--data', data.path,
    '--backends', 'onnx', 'onnx',
    '--batch-sizes', '4',
    '--duration-seconds', '2',
    '--warmup', '0.5',
    '--repeats', '3',
    '--max-concurrent-requests', '2',
    '--driver', 'builtin',
    '--parity-sample', '4',
    '--results-dir', resultsDir,
  ], { cwd: workDir, maxBuffer: 16 * 1024 * 1024 });
  assert.match(stdout, /runs: +onnx#1, onnx#2 x batch 4 x 3 repeats \(interleaved\)/);

  const index = resultsIndexSchema.parse(await readJson(join(resultsDir, 'results_index.json')));
  assert.equal(index.embedbenchVersion, VERSION);
  assert.deepEqual(index.settings.variants.map((variant) => variant.label), ['onnx#1', 'onnx#2']);
  assert.deepEqual(
    index.runs.map((run) => `${run.backend} r${run.repeat}`),
    ['onnx#1 r1', 'onnx#2 r1', 'onnx#2 r2', 'onnx#1 r2', 'onnx#1 r3', 'onnx#2 r3'],
    'variants alternate, and the one that starts a round rotates',
  );
  for (const run of index.runs) {
    assert.equal(run.status, 'completed', `${run.backend} r${run.repeat}: ${run.error ?? ''}`);
    const stem = `${run.backend === 'onnx#1' ? 'onnx-1' : 'onnx-2'}_batch4_\\d{8}_\\d{6}_r${run.repeat}\\.json`;
    assert.match(run.stressFile!, new RegExp(`^stress_${stem}$`));
    assert.match(run.timelineFile!, new RegExp(`^timeline_${stem}$`));
    const stress = loadResultSchema.parse(await readJson(join(resultsDir, run.stressFile!)));
    assert.equal(stress.environment.embedbenchVersion, VERSION);
    assert.equal(gpuFileSchema.parse(await readJson(join(resultsDir, run.gpuFile!))).embedbenchVersion, VERSION);
    const timeline = timelineSchema.parse(await readJson(join(resultsDir, run.timelineFile!)));
    assert.equal(timeline.embedbenchVersion, VERSION);
    assert.equal(timeline.windows.reduce((sum, window) => sum + window.requests, 0), stress.requests.total, 'every measured request is in a window');
    assert.equal(timeline.latency.count, stress.requests.total);
    // The service's own account of how it ran, and the host's CPU use during the run.
    assert.equal(run.service?.executionProvider, 'cpu');
    assert.equal(run.service?.gpuAvailable, false);
    assert.ok(run.host && run.host.cpuCount !== null && run.host.busyShare !== null && run.host.ownShare !== null && run.host.othersShare !== null, JSON.stringify(run.host));
    assert.ok(run.host.ownShare! > 0, 'this process and the backend used CPU time');
  }
  for (const sample of index.parity.samples) {
    assert.match(sample.file, /^parity_onnx-[12]_\d{8}_\d{6}\.json$/);
    assert.equal(paritySampleSchema.parse(await readJson(join(resultsDir, sample.file))).embedbenchVersion, VERSION);
  }

  const summary = await readFile(join(resultsDir, 'summary_report.txt'), 'utf8');
  assert.match(summary, /batch 4: no clear difference \(±\d+%\): onnx#[12] \d+\.\d\dx the throughput of onnx#[12] \(95% interval/);
  assert.match(summary, /onnx#1 batch 4 repeat 1: [^\n]*thresholds (passed|FAILED)[^\n]*provider cpu/);
  assert.match(summary, /onnx#2 batch 4 repeat 3: provider cpu, dtype \w+, GPU available no; providers [^;]*cpu in use; load average [\d.]+, CPU busy \d+% \(ours \d+%, other processes \d+%\)/);
  assert.match(summary, /Version: +report by EmbedBench [\d.]+; results written by EmbedBench [\d.]+/);
  const html = await readFile(join(resultsDir, 'report.html'), 'utf8');
  assert.doesNotMatch(html, /`/, 'no literal backticks in report.html');
  assert.match(html, /made by <code>embedbench model synth<\/code>/);

  // A load result dropped into the directory by hand is listed as ignored by `embedbench report`.
  await copyFile(join(resultsDir, index.runs[0]!.stressFile!), join(resultsDir, 'onnx-b4-closed.result.json'));
  await writeFile(join(resultsDir, 'notes.json'), '{}');
  const report = await execFileAsync(process.execPath, [CLI, 'report', '--results-dir', resultsDir]);
  assert.match(report.stdout, /read \(21\): [^\n]*results_index\.json/);
  assert.match(report.stdout, /ignored \(2\):\n +notes\.json: not listed in results_index\.json\n +onnx-b4-closed\.result\.json: a load result that results_index\.json does not list/);
});

/** Every eighth passage is long (16 passages joined), the others a few words: each request of 8 holds one long text. */
async function writeMixedLengthPassages(dir: string): Promise<TestPassages> {
  const passages = data.passages.slice(0, 64).map((passage, index) => ({
    pid: `mixed${index}`,
    text: index % 8 === 0 ? Array.from({ length: 16 }, (_, k) => data.passages[(index + k) % data.passages.length]!.text).join(' ') : passage.text.split(' ').slice(0, 6).join(' '),
  }));
  const path = join(dir, 'mixed.jsonl');
  await writeFile(path, passages.map((passage) => JSON.stringify(passage)).join('\n') + '\n');
  return { path, passages };
}

test('a variant made slower by a real setting (a token budget so large that short texts are padded to the long one) is called the loser', { timeout: 120_000 }, async () => {
  const resultsDir = join(workDir, 'slower');
  const mixed = await writeMixedLengthPassages(workDir);
  const index = await runComparison(
    tinyModelContext(resultsDir, mixed, { backends: ['onnx', 'onnx[max-batch-tokens=1000000]'], batchSizes: [8], durationSeconds: 3, warmup: 0.5, repeats: 3 }),
  );
  assert.ok(index.runs.every((run) => run.status === 'completed'), JSON.stringify(index.runs.map((run) => run.error)));
  const { summary } = await generateReport(resultsDir);
  assert.match(summary, /batch 8: winner onnx, \d+\.\d\dx the throughput of onnx\[max-batch-tokens=1000000\] \(95% interval \d+\.\d\dx–\d+\.\d\dx\)/, summary);
  assert.match(summary, /onnx\[max-batch-tokens=1000000\] +onnx +4 +(0\.99\d{3}|1\.00000) .* agrees/, 'the same embeddings: only the speed differs');
});
