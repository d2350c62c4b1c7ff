import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeJsonAtomic } from '../src/fs/atomic.js';
import { seriesColour } from '../src/report/plots.js';
import { latencyStats, sortedSamples } from '@embedbench/loadtest/percentiles';
import { LatencyRecorder } from '../src/load/histogram.js';
import { loadReportData } from '../src/report/dataset.js';
import { generateReport } from '../src/report/generate.js';
import { seededRandom } from '../src/report/statistics.js';
import type { GpuRecording, HostUsage, ParitySample, ResultsIndex, ServiceInfo, Timeline } from '../src/result-files/schemas.js';
import { assertNonTrivialPng, countPixelsNear } from './report-assertions.js';
import { loadResult } from './report-fixtures.js';

const execFileAsync = promisify(execFile);
const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../src/cli.js');

let workDir: string;
before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'embedbench-report-'));
});
after(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** Latencies of one run: spread around `centreMs`, seeded, so that pooled percentiles differ from averaged ones. */
function latencies(centreMs: number, count: number, seed: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => centreMs * (0.5 + random() * (random() < 0.1 ? 6 : 1)));
}

/** Ten 1-second windows of `requests` requests each; `drift` multiplies the last third's throughput. */
function timeline(backend: string, batchSize: number, repeat: number, requestsPerSecond: number, samples: readonly number[], drift = 1): Timeline {
  const recorder = new LatencyRecorder();
  for (const sample of samples) recorder.record(sample);
  const meanLatency = samples.reduce((sum, value) => sum + value, 0) / samples.length;
  return {
    embedbenchVersion: '0.1.0',
    backend,
    batchSize,
    repeat,
    windowSeconds: 1,
    windows: Array.from({ length: 10 }, (_, second) => {
      const requests = Math.round(requestsPerSecond * (second >= 7 ? drift : 1));
      return { requests, failed: 0, embeddings: requests * batchSize, latencySumMs: requests * meanLatency / (second >= 7 ? drift : 1), latencyCount: requests, latencyMaxMs: meanLatency * 2 };
    }),
    latency: recorder.encode(),
  };
}

const QUIET_HOST: HostUsage = { cpuCount: 2, loadAverage1m: 2.1, busyShare: 0.97, ownShare: 0.95, othersShare: 0.02, stealShare: 0 };
const ON_GPU: ServiceInfo = {
  executionProvider: 'cuda',
  dtype: 'fp16',
  gpuAvailable: true,
  providers: [
    { provider: 'tensorrt', status: 'unavailable', reason: 'not installed: libonnxruntime_providers_tensorrt.so missing' },
    { provider: 'cuda', status: 'in use', reason: 'NVIDIA GPU' },
    { provider: 'cpu', status: 'not needed', reason: 'cuda comes first' },
  ],
};

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

/** Repeat-to-repeat factors on throughput: within 2%, so that 10 vs 25 req/s are clearly apart. */
const REPEAT_FACTORS = [0.98, 1, 1.02];

/**
 * A results directory as `compare` leaves it: transformers slower than onnx at batch 16 over three
 * interleaved repeats, onnx batch 64 crashed every time, GPU samples from dcgm-exporter, and the
 * flaws a report must show: a drifting run, a run on a busy host, a run whose p99 threshold
 * failed, a run that fell back to the CPU, and a load result that the index does not list.
 */
async function writeResults(dir: string, options: { onnxEmbeddingsWrong: boolean }): Promise<Map<string, number[]>> {
  const runs: ResultsIndex['runs'] = [];
  const pooled = new Map<string, number[]>();
  const figures: Array<[string, number, number | undefined]> = [
    ['transformers', 16, 10], ['onnx', 16, 25], ['transformers', 64, 4], ['onnx', 64, undefined],
  ];
  for (let repeat = 1; repeat <= 3; repeat++) {
    for (const [backend, batchSize, baseRps] of figures) {
      const name = `${backend}_batch${batchSize}_20260101_100000_r${repeat}`;
      if (baseRps === undefined) {
        runs.push({ backend, batchSize, repeat, status: 'failed', startedAt: '2026-01-01T10:00:00.000Z', finishedAt: '2026-01-01T10:00:05.000Z', logFile: `logs/${name}.log`, error: 'backend crashed mid-run (killed by SIGKILL)', logTail: '{"msg":"model ready"}\nSegmentation fault' });
        continue;
      }
      const rps = baseRps * REPEAT_FACTORS[repeat - 1]!;
      const samples = latencies(1000 / rps, Math.round(rps * 10), repeat * 89 + batchSize);
      pooled.set(`${backend}|${batchSize}`, [...(pooled.get(`${backend}|${batchSize}`) ?? []), ...samples]);
      const thresholdFails = backend === 'transformers' && batchSize === 64 && repeat === 2;
      await writeJsonAtomic(join(dir, `stress_${name}.json`), loadResult(backend, batchSize, rps, samples, 1, thresholdFails ? 100 : 100_000));
      await writeJsonAtomic(join(dir, `gpu_${name}.json`), { embedbenchVersion: '0.1.0', backend, batchSize, repeat, ...gpuRecording(backend === 'onnx' ? 70 : 35) });
      const drift = backend === 'onnx' && repeat === 3 ? 0.5 : 1;
      await writeJsonAtomic(join(dir, `timeline_${name}.json`), timeline(backend, batchSize, repeat, rps, samples, drift));
      runs.push({
        backend,
        batchSize,
        repeat,
        status: 'completed',
        startedAt: '2026-01-01T10:00:00.000Z',
        finishedAt: '2026-01-01T10:00:12.000Z',
        stressFile: `stress_${name}.json`,
        gpuFile: `gpu_${name}.json`,
        timelineFile: `timeline_${name}.json`,
        logFile: `logs/${name}.log`,
        service: backend === 'transformers' && batchSize === 64 && repeat === 1 ? { executionProvider: 'cpu', dtype: 'fp32', gpuAvailable: false } : ON_GPU,
        host: backend === 'transformers' && batchSize === 16 && repeat === 2 ? { ...QUIET_HOST, ownShare: 0.5, othersShare: 0.47 } : QUIET_HOST,
      });
    }
  }
  await writeJsonAtomic(join(dir, 'parity_transformers.json'), paritySample('transformers', false));
  await writeJsonAtomic(join(dir, 'parity_onnx.json'), paritySample('onnx', options.onnxEmbeddingsWrong));
  await writeJsonAtomic(join(dir, 'onnx-b8-closed-20260101.result.json'), loadResult('onnx', 8, 5, [10, 20]));
  const index: ResultsIndex = {
    schemaVersion: 2,
    embedbenchVersion: '0.1.0',
    createdAt: '2026-01-01T10:00:00.000Z',
    updatedAt: '2026-01-01T10:01:00.000Z',
    model: { id: 'answerdotai/ModernBERT-base', path: '/models/ModernBERT-base', synthetic: false, provenance: 'fetched from the Hugging Face Hub' },
    data: { path: 'data/passages.jsonl', passages: 100000 },
    settings: {
      variants: [
        { label: 'transformers', backend: 'transformers', options: {}, fileName: 'transformers' },
        { label: 'onnx', backend: 'onnx', options: {}, fileName: 'onnx' },
      ],
      batchSizes: [16, 64],
      durationSeconds: 10,
      maxConcurrentRequests: 4,
      scenario: 'closed',
      warmupSeconds: 2,
      repeats: 3,
      driver: 'builtin',
      runtime: 'local',
      useGpu: true,
    },
    gpu: { source: 'dcgm-exporter', detail: 'http://dcgm:9400/metrics' },
    parity: { threshold: 0.99, samples: [{ backend: 'transformers', file: 'parity_transformers.json' }, { backend: 'onnx', file: 'parity_onnx.json' }], errors: [] },
    runs,
  };
  await writeJsonAtomic(join(dir, 'results_index.json'), index);
  return pooled;
}

test('`embedbench report` regenerates summary, plots and html from the JSON files alone, with spread, thresholds, stability and environment', { timeout: 60_000 }, async () => {
  const dir = join(workDir, 'good');
  const pooled = await writeResults(dir, { onnxEmbeddingsWrong: false });
  const { stdout } = await execFileAsync(process.execPath, [CLI, 'report', '--results-dir', dir]);
  assert.match(stdout, /wrote .*summary_report\.txt/);

  const summary = await readFile(join(dir, 'summary_report.txt'), 'utf8');
  assert.equal(stdout.startsWith(summary), true, 'the printed summary is the file');
  assert.match(summary, /Version: +report by EmbedBench \d+\.\d+\.\d+\S*; results written by EmbedBench 0\.1\.0/);
  assert.match(summary, /Model: +answerdotai\/ModernBERT-base \(real weights/);
  assert.doesNotMatch(summary, /SYNTHETIC/);
  assert.match(summary, /batch 16: winner onnx, 2\.50x the throughput of transformers \(95% interval 2\.\d\dx–2\.\d\dx\)/);
  assert.match(summary, /batch 64: only transformers qualified; onnx excluded: no completed run/);
  assert.match(summary, /16 +onnx +3\/0 +400\.0 +392\.0–408\.0 +400\.0 \(3\d\d\.\d–4\d\d\.\d\)/, 'median, min–max and the mean with its interval');
  assert.match(summary, /onnx +transformers +2 +0\.99995 +0\.9999\d +0\.99 +agrees/);
  assert.match(summary, /onnx batch 64 repeat 1: backend crashed mid-run \(killed by SIGKILL\)/);
  assert.match(summary, /\| Segmentation fault/);
  assert.match(summary, /Server time per request[^\n]*\n.*\n.*\n16 +transformers +5\.0 +5\.0 +5\.0\n/);

  // Thresholds, stability, the host and the service, run by run.
  assert.match(summary, /Thresholds: +1 of 9 measured runs FAILED their p99 or error-rate threshold/);
  assert.match(summary, /transformers batch 64 repeat 2: [^\n]*thresholds FAILED: p99 \d+ ms > 100 ms FAILED, error rate 0\.00% <= 1\.00% passed/);
  assert.match(summary, /onnx batch 16 repeat 3: [^\n]*DRIFTING: last third vs first: throughput -50%, mean latency \+100%/);
  assert.match(summary, /onnx batch 16 repeat 1: [^\n]*steady \(throughput CV \d+%\)/);
  assert.match(summary, /transformers batch 16 repeat 2: [^\n]*BUSY HOST: other processes used 47% of the CPU time/);
  assert.match(summary, /transformers batch 64 repeat 1: [^\n]*provider cpu, dtype fp32; ran on CPU although a GPU was requested/);
  assert.doesNotMatch(summary, /onnx batch 16 repeat 1: [^\n]*although a GPU/);
  assert.match(summary, /onnx batch 16 repeat 2: provider cuda, dtype fp16, GPU available yes; providers tensorrt unavailable, cuda in use, cpu not needed; load average 2\.10, CPU busy 97% \(ours 95%, other processes 2%\), steal 0%/);
  assert.match(summary, /Providers not used, and why: tensorrt unavailable: not installed: libonnxruntime_providers_tensorrt\.so missing\n/);
  assert.match(summary, /Other processes used the CPU noticeably during 1 of 12 runs/);

  // Which files made the report, and which were left out.
  assert.match(summary, /read \(30\): [^\n]*results_index\.json[^\n]*timeline_onnx_batch16_20260101_100000_r3\.json/);
  assert.match(summary, /ignored \(1\):\n +onnx-b8-closed-20260101\.result\.json: a load result that results_index\.json does not list/);

  // Latency percentiles over repeats come from the merged histograms, not from averaging each run's.
  const data = await loadReportData(dir);
  const cell = data.cells.find((c) => c.backend === 'transformers' && c.batchSize === 16)!;
  const exact = latencyStats(sortedSamples(pooled.get('transformers|16')!))!;
  for (const percentile of ['p50', 'p90', 'p99'] as const) {
    assert.ok(Math.abs(cell.latencyMs![percentile] - exact[percentile]) / exact[percentile] < 1e-4, `${percentile}: ${cell.latencyMs![percentile]} vs exact ${exact[percentile]}`);
  }
  const averagedP99 = cell.p99PerRepeat.reduce((sum, value) => sum + value, 0) / cell.p99PerRepeat.length;
  assert.ok(Math.abs(averagedP99 - exact.p99) / exact.p99 > 0.01, 'the fixture tells pooled from averaged percentiles apart');

  for (const plot of ['throughput_comparison', 'latency_comparison', 'gpu_utilization']) await assertNonTrivialPng(join(dir, 'plots', `${plot}.png`));
  // Each run's GPU series is drawn in its own colour.
  for (let series = 0; series < 3; series++) {
    assert.ok((await countPixelsNear(join(dir, 'plots/gpu_utilization.png'), seriesColour(series))) > 200, `GPU series ${series} drawn`);
  }
  // The repeats are drawn over the throughput bars (dark dots and whiskers).
  assert.ok((await countPixelsNear(join(dir, 'plots/throughput_comparison.png'), '#222222', 8)) > 150, 'per-repeat marks drawn');
  const html = await readFile(join(dir, 'report.html'), 'utf8');
  assert.equal(html.match(/src="data:image\/png;base64,/g)?.length, 3);
  assert.match(html, /winner onnx, 2\.50x/);
  assert.match(html, /Segmentation fault/);
  assert.match(html, /<span class="flagged">[^<]*transformers batch 64 repeat 2: [^<]*thresholds FAILED/);
  assert.match(html, /ran on CPU although a GPU was requested/);
  assert.match(html, /onnx-b8-closed-20260101\.result\.json/);
  assert.doesNotMatch(html, /`/, 'no literal backticks: commands are shown as code');
  assert.match(html, /<code>embedbench load<\/code>/);

  // Deleting the outputs and regenerating gives the same summary: nothing but the JSON is read.
  const before = await stat(join(dir, 'report.html'));
  await rm(join(dir, 'plots'), { recursive: true });
  await rm(join(dir, 'summary_report.txt'));
  await generateReport(dir);
  assert.equal(await readFile(join(dir, 'summary_report.txt'), 'utf8'), summary, 'the same figures, bootstrap intervals included');
  assert.ok((await stat(join(dir, 'plots/gpu_utilization.png'))).size > 0);
  assert.ok((await stat(join(dir, 'report.html'))).mtimeMs >= before.mtimeMs);
});

test('a faster variant whose embeddings disagree with the baseline does not win', async () => {
  const dir = join(workDir, 'wrong');
  await writeResults(dir, { onnxEmbeddingsWrong: true });
  const { summary } = await generateReport(dir);
  assert.match(summary, /batch 16: only transformers qualified; onnx excluded: embeddings disagree with the baseline \(min cosine -1\.0000 < 0\.99 against transformers\)/);
  assert.match(summary, /onnx +transformers +2 .* DISAGREES/);
});

test('a variant failing requests cannot win on the speed of its successes', async () => {
  const dir = join(workDir, 'errors');
  await writeResults(dir, { onnxEmbeddingsWrong: false });
  for (const repeat of [1, 2, 3]) await writeJsonAtomic(join(dir, `stress_onnx_batch16_20260101_100000_r${repeat}.json`), loadResult('onnx', 16, 25, [40, 50], 0.9));
  const { summary } = await generateReport(dir);
  assert.match(summary, /batch 16: only transformers .*; onnx excluded: success rate 90\.00% is below 99%/);
});

test('report errors are clear: missing index, corrupt or old index, unreadable result file', async () => {
  const missing = join(workDir, 'nothing');
  await assert.rejects(
    execFileAsync(process.execPath, [CLI, 'report', '--results-dir', missing]),
    (error: { code: number; stderr: string }) => error.code === 1 && /results_index\.json not found: run `embedbench compare/.test(error.stderr) && error.stderr.trim().split('\n').length === 1,
  );

  const corrupt = join(workDir, 'corrupt');
  await writeResults(corrupt, { onnxEmbeddingsWrong: false });
  await writeFile(join(corrupt, 'stress_transformers_batch16_20260101_100000_r1.json'), '{"truncated": ');
  const { summary } = await generateReport(corrupt);
  assert.match(summary, /transformers batch 16 repeat 1: could not read stress_transformers_batch16_20260101_100000_r1\.json/);
  assert.match(summary, /16 +transformers +2\/1 /, 'the unreadable repeat counts as failed, the other two still count');

  await writeFile(join(corrupt, 'results_index.json'), '{"schemaVersion": 2}');
  await assert.rejects(generateReport(corrupt), /results_index\.json is not a valid results index/);
  await writeFile(join(corrupt, 'results_index.json'), '{"schemaVersion": 1, "runs": []}');
  await assert.rejects(generateReport(corrupt), /written by an older embedbench \(index schema v1, this one reads v2\): rerun `embedbench compare`/);
  await writeFile(join(corrupt, 'results_index.json'), 'not json');
  await assert.rejects(generateReport(corrupt), /results_index\.json is not valid JSON/);
});
