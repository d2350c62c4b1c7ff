import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeJsonAtomic } from '../src/fs/atomic.js';
import type { GpuRecording } from '../src/compare/gpu.js';
import type { ParitySample } from '../src/compare/parity.js';
import { seriesColour } from '../src/report/plots.js';
import { generateReport } from '../src/report/generate.js';
import type { ResultsIndex } from '../src/report/results-index.js';
import { loadResultSchema, type LoadResult } from '../src/load/result-schema.js';
import { assertNonTrivialPng, countPixelsNear } from './report-assertions.js';

const execFileAsync = promisify(execFile);
const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../src/cli.js');

let workDir: string;
before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'embedbench-report-'));
});
after(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** A load result as the drivers write it (validated by the real schema below). */
function loadResult(backend: string, batchSize: number, requestsPerSecond: number, successRate = 1): LoadResult {
  const total = Math.round(requestsPerSecond * 10);
  const succeeded = Math.round(total * successRate);
  const timing = { mean: 5, p50: 4, p99: 12 };
  return loadResultSchema.parse({
    schemaVersion: 1,
    testid: `${backend}-b${batchSize}`,
    driver: 'builtin',
    backend,
    model: 'answerdotai/ModernBERT-base',
    embeddingDim: 3,
    baseUrl: 'http://127.0.0.1:8000',
    scenario: 'closed',
    batchSize,
    load: { vus: 4, rate: null, maxVus: null },
    startedAt: '2026-01-01T10:00:00.000Z',
    finishedAt: '2026-01-01T10:00:10.000Z',
    durationSeconds: 10,
    requests: { total, succeeded, failed: total - succeeded, dropped: 0 },
    embeddings: succeeded * batchSize,
    successRate,
    errorsByStatus: total > succeeded ? { '503': total - succeeded } : {},
    throughput: { requestsPerSecond, embeddingsPerSecond: (succeeded * batchSize) / 10, tokensPerSecond: null },
    latencyMs: { min: 1, mean: 1000 / requestsPerSecond, p50: 900 / requestsPerSecond, p90: 1500 / requestsPerSecond, p95: 1800 / requestsPerSecond, p99: 2500 / requestsPerSecond, max: 4000 / requestsPerSecond },
    serverTimingMs: { queue: timing, tokenization: timing, inference: timing, total: timing },
    serverMetrics: { requests: total, tokens: null },
    thresholds: { p99TargetMs: 1000, maxErrorRate: 0.01, passed: successRate >= 0.99 },
    saturation: null,
    environment: { hostname: 'h', os: 'Linux', cpuModel: 'cpu', cpuCount: 2, memoryBytes: 1024, gpus: ['NVIDIA L40S'], runtime: 'node v20', embedbenchVersion: '0.1.0', gitSha: null },
  });
}

function gpuRecording(utilization: number): GpuRecording {
  return {
    source: 'dcgm-exporter',
    detail: 'http://dcgm:9400/metrics',
    pollSeconds: 1,
    startedAt: '2026-01-01T10:00:00.000Z',
    finishedAt: '2026-01-01T10:00:10.000Z',
    samples: Array.from({ length: 10 }, (_, second) => ({
      timestamp: new Date(Date.parse('2026-01-01T10:00:00.000Z') + second * 1000).toISOString(),
      gpu: '0',
      utilizationPercent: utilization + (second % 3) * 5,
      memoryUsedMiB: 4000 + second,
      memoryTotalMiB: 46068,
      powerWatts: 200,
      temperatureCelsius: 60,
    })),
    errors: [],
  };
}

/** transformers is the baseline; onnx is close to it (cosine 0.99995 on one passage) or its opposite. */
const paritySample = (backend: string, flip: boolean): ParitySample => ({
  backend,
  capturedAt: '2026-01-01T10:00:00.000Z',
  pids: ['a', 'b'],
  embeddings: backend === 'transformers' ? [[1, 0, 0], [0, 1, 0]] : flip ? [[-1, 0, 0], [0, -1, 0]] : [[1, 0, 0], [0, 1, 0.01]],
});

/**
 * A results directory as `compare` leaves it: transformers slower than onnx at both batch sizes,
 * onnx batch 64 crashed, with GPU samples from dcgm-exporter.
 */
async function writeResults(dir: string, options: { onnxEmbeddingsWrong: boolean }): Promise<void> {
  const runs: ResultsIndex['runs'] = [];
  const figures: Array<[string, number, number | undefined]> = [
    ['transformers', 16, 10], ['transformers', 64, 4], ['onnx', 16, 25], ['onnx', 64, undefined],
  ];
  for (const [backend, batchSize, rps] of figures) {
    const name = `${backend}_batch${batchSize}_20260101_100000`;
    if (rps === undefined) {
      runs.push({ backend, batchSize, repeat: 1, status: 'failed', startedAt: '2026-01-01T10:00:00.000Z', finishedAt: '2026-01-01T10:00:05.000Z', logFile: `logs/${name}.log`, error: 'backend crashed mid-run (killed by SIGKILL)', logTail: '{"msg":"model ready"}\nSegmentation fault' });
      continue;
    }
    await writeJsonAtomic(join(dir, `stress_${name}.json`), loadResult(backend, batchSize, rps));
    await writeJsonAtomic(join(dir, `gpu_${name}.json`), { backend, batchSize, repeat: 1, ...gpuRecording(backend === 'onnx' ? 70 : 35) });
    runs.push({ backend, batchSize, repeat: 1, status: 'completed', startedAt: '2026-01-01T10:00:00.000Z', finishedAt: '2026-01-01T10:00:12.000Z', stressFile: `stress_${name}.json`, gpuFile: `gpu_${name}.json`, logFile: `logs/${name}.log` });
  }
  await writeJsonAtomic(join(dir, 'parity_transformers.json'), paritySample('transformers', false));
  await writeJsonAtomic(join(dir, 'parity_onnx.json'), paritySample('onnx', options.onnxEmbeddingsWrong));
  const index: ResultsIndex = {
    schemaVersion: 1,
    createdAt: '2026-01-01T10:00:00.000Z',
    updatedAt: '2026-01-01T10:01:00.000Z',
    model: { id: 'answerdotai/ModernBERT-base', path: '/models/ModernBERT-base', synthetic: false, provenance: 'fetched from the Hugging Face Hub' },
    data: { path: 'data/passages.jsonl', passages: 100000 },
    settings: { backends: ['transformers', 'onnx'], batchSizes: [16, 64], durationSeconds: 10, maxConcurrentRequests: 4, scenario: 'closed', warmupSeconds: 2, repeats: 1, driver: 'builtin', runtime: 'local' },
    gpu: { source: 'dcgm-exporter', detail: 'http://dcgm:9400/metrics' },
    parity: { threshold: 0.99, samples: [{ backend: 'transformers', file: 'parity_transformers.json' }, { backend: 'onnx', file: 'parity_onnx.json' }], errors: [] },
    runs,
  };
  await writeJsonAtomic(join(dir, 'results_index.json'), index);
}

test('`embedbench report` regenerates summary, plots and html from the JSON files alone', { timeout: 60_000 }, async () => {
  const dir = join(workDir, 'good');
  await writeResults(dir, { onnxEmbeddingsWrong: false });
  const { stdout } = await execFileAsync(process.execPath, [CLI, 'report', '--results-dir', dir]);
  assert.match(stdout, /wrote .*summary_report\.txt/);

  const summary = await readFile(join(dir, 'summary_report.txt'), 'utf8');
  assert.equal(stdout.startsWith(summary), true, 'the printed summary is the file');
  assert.match(summary, /Model: +answerdotai\/ModernBERT-base \(real weights/);
  assert.doesNotMatch(summary, /SYNTHETIC/);
  assert.match(summary, /batch 16: winner onnx, 2\.50x the throughput of transformers/);
  assert.match(summary, /batch 64: only transformers qualified; onnx excluded: no completed run/);
  assert.match(summary, /onnx +transformers +2 +0\.99995 +0\.9999\d +0\.99 +agrees/);
  assert.match(summary, /onnx batch 64 repeat 1: backend crashed mid-run \(killed by SIGKILL\)/);
  assert.match(summary, /\| Segmentation fault/);
  assert.match(summary, /Server time per request[^\n]*\n.*\n.*\n16 +transformers +5\.0 +5\.0 +5\.0\n/);
  assert.match(summary, /16 +onnx +1\/0 +25\.00 +400\.0 .* 100\.00 +74\.5 +4009/, 'GPU utilization mean and memory max appear');

  for (const plot of ['throughput_comparison', 'latency_comparison', 'gpu_utilization']) await assertNonTrivialPng(join(dir, 'plots', `${plot}.png`));
  // Each run's GPU series is drawn in its own colour.
  for (let series = 0; series < 3; series++) {
    assert.ok((await countPixelsNear(join(dir, 'plots/gpu_utilization.png'), seriesColour(series))) > 200, `GPU series ${series} drawn`);
  }
  const html = await readFile(join(dir, 'report.html'), 'utf8');
  assert.equal(html.match(/src="data:image\/png;base64,/g)?.length, 3);
  assert.match(html, /winner onnx, 2\.50x/);
  assert.match(html, /Segmentation fault/);

  // Deleting the outputs and regenerating gives the same summary: nothing but the JSON is read.
  const before = await stat(join(dir, 'report.html'));
  await rm(join(dir, 'plots'), { recursive: true });
  await rm(join(dir, 'summary_report.txt'));
  await generateReport(dir);
  assert.equal(await readFile(join(dir, 'summary_report.txt'), 'utf8'), summary);
  assert.ok((await stat(join(dir, 'plots/gpu_utilization.png'))).size > 0);
  assert.ok((await stat(join(dir, 'report.html'))).mtimeMs >= before.mtimeMs);
});

test('a faster backend whose embeddings disagree with the baseline does not win', async () => {
  const dir = join(workDir, 'wrong');
  await writeResults(dir, { onnxEmbeddingsWrong: true });
  const { summary } = await generateReport(dir);
  assert.match(summary, /batch 16: only transformers qualified; onnx excluded: embeddings disagree with the baseline \(min cosine -1\.0000 < 0\.99 against transformers\)/);
  assert.match(summary, /onnx +transformers +2 .* DISAGREES/);
});

test('a backend failing requests cannot win on the speed of its successes', async () => {
  const dir = join(workDir, 'errors');
  await writeResults(dir, { onnxEmbeddingsWrong: false });
  await writeJsonAtomic(join(dir, 'stress_onnx_batch16_20260101_100000.json'), loadResult('onnx', 16, 25, 0.9));
  const { summary } = await generateReport(dir);
  assert.match(summary, /batch 16: only transformers .*; onnx excluded: success rate 90\.00% is below 99%/);
});

test('report errors are clear: missing index, corrupt index, unreadable result file', async () => {
  const missing = join(workDir, 'nothing');
  await assert.rejects(
    execFileAsync(process.execPath, [CLI, 'report', '--results-dir', missing]),
    (error: { code: number; stderr: string }) => error.code === 1 && /results_index\.json not found: run `embedbench compare/.test(error.stderr) && error.stderr.trim().split('\n').length === 1,
  );

  const corrupt = join(workDir, 'corrupt');
  await writeResults(corrupt, { onnxEmbeddingsWrong: false });
  await writeFile(join(corrupt, 'stress_transformers_batch16_20260101_100000.json'), '{"truncated": ');
  const { summary } = await generateReport(corrupt);
  assert.match(summary, /transformers batch 16 repeat 1: could not read stress_transformers_batch16_20260101_100000\.json/);
  assert.match(summary, /batch 16: only onnx qualified/);

  await writeFile(join(corrupt, 'results_index.json'), '{"schemaVersion": 2}');
  await assert.rejects(generateReport(corrupt), /results_index\.json is not a valid results index/);
  await writeFile(join(corrupt, 'results_index.json'), 'not json');
  await assert.rejects(generateReport(corrupt), /results_index\.json is not valid JSON/);
});
