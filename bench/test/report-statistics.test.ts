/**
 * The winner line's statistics on synthesized per-repeat figures: an A/A comparison (one variant
 * twice) must say "no clear difference" in at least 19 of 20 seeded cases even on a noisy,
 * drifting host, and a real difference must be called. The figures go through the same files and
 * code as a real comparison's (results_index.json and stress_*.json read by loadReportData).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeJsonAtomic } from '../src/fs/atomic.js';
import { loadReportData, verdicts } from '../src/report/dataset.js';
import { meanInterval, ratioInterval, seededRandom } from '../src/report/statistics.js';
import { verdictSentence } from '../src/report/summary.js';
import type { ResultsIndex } from '../src/result-files/schemas.js';
import { loadResult } from './report-fixtures.js';

let workDir: string;
before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'embedbench-statistics-'));
});
after(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** A standard normal draw (Box-Muller). */
function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

const REPEATS = 3;

/**
 * A comparison of two variants at batch 8 whose true throughputs are `requestsPerSecond` x
 * `speedups`, run interleaved (A B, B A, A B) on a host that slows down by `drift` per run,
 * with run-to-run noise of coefficient of variation `noise`. Returns the winner line.
 */
async function comparison(name: string, seed: number, speedups: readonly [number, number], noise: number, drift: number): Promise<string> {
  const dir = join(workDir, name);
  const random = seededRandom(seed);
  const labels = speedups[0] === speedups[1] ? ['onnx#1', 'onnx#2'] : ['onnx', 'onnx[dtype=q8]'];
  const runs: ResultsIndex['runs'] = [];
  let position = 0;
  for (let repeat = 1; repeat <= REPEATS; repeat++) {
    const order = repeat % 2 === 1 ? [0, 1] : [1, 0];
    for (const variant of order) {
      const requestsPerSecond = 30 * speedups[variant]! * (1 - drift * position++) * Math.exp(noise * normal(random));
      const stressFile = `stress_${variant}_r${repeat}.json`;
      await writeJsonAtomic(join(dir, stressFile), loadResult(labels[variant]!, 8, requestsPerSecond, [100, 120, 150]));
      runs.push({ backend: labels[variant]!, batchSize: 8, repeat, status: 'completed', startedAt: '2026-01-01T10:00:00.000Z', finishedAt: '2026-01-01T10:00:10.000Z', stressFile });
    }
  }
  const index: ResultsIndex = {
    schemaVersion: 2,
    embedbenchVersion: '0.1.0',
    createdAt: '2026-01-01T10:00:00.000Z',
    updatedAt: '2026-01-01T10:01:00.000Z',
    model: { id: 'tiny', path: '/m', synthetic: true, provenance: 'test' },
    data: { path: 'data.jsonl', passages: 100 },
    settings: {
      variants: labels.map((label, i) => ({ label, backend: 'onnx', options: label === 'onnx[dtype=q8]' ? { dtype: 'q8' } : ({} as Record<string, string>), fileName: `v${i}` })),
      batchSizes: [8],
      durationSeconds: 10,
      maxConcurrentRequests: 2,
      scenario: 'closed',
      warmupSeconds: 0,
      repeats: REPEATS,
      driver: 'builtin',
      runtime: 'local',
      useGpu: false,
    },
    gpu: { source: 'none', detail: 'none' },
    parity: { threshold: 0.99, samples: [], errors: [] },
    runs,
  };
  await writeJsonAtomic(join(dir, 'results_index.json'), index);
  const [verdict] = verdicts(await loadReportData(dir));
  return verdictSentence(verdict!);
}

test('A/A: the same variant twice says "no clear difference" in at least 19 of 20 seeded cases, on a noisy host slowing down 4% per run', async () => {
  const lines: string[] = [];
  for (let seed = 1; seed <= 20; seed++) lines.push(await comparison(`aa-${seed}`, seed, [1, 1], 0.15, 0.04));
  const clear = lines.filter((line) => line.startsWith('no clear difference (±'));
  assert.ok(clear.length >= 19, `only ${clear.length} of 20 A/A comparisons said no clear difference:\n${lines.join('\n')}`);
  for (const line of clear) assert.match(line, /^no clear difference \(±\d+%\): onnx#[12] \d\.\d\dx the throughput of onnx#[12] \(95% interval \d\.\d\dx–\d\.\d\dx\)/);
});

test('a real 2x difference under 5% run-to-run noise is called for the faster variant', async () => {
  const lines: string[] = [];
  for (let seed = 1; seed <= 20; seed++) lines.push(await comparison(`ab-${seed}`, 100 + seed, [1, 2], 0.05, 0.01));
  const called = lines.filter((line) => /^winner onnx\[dtype=q8\], [12]\.\d\dx the throughput of onnx \(95% interval/.test(line));
  assert.ok(called.length >= 19, `only ${called.length} of 20 comparisons named the faster variant:\n${lines.join('\n')}`);
  assert.ok(!lines.some((line) => line.startsWith('winner onnx,')), 'the slower variant never wins');
});

test('intervals: reproducible for a seed, wider for fewer repeats, none from one repeat; the ratio interval covers the ratio', () => {
  const values = [100, 104, 97];
  assert.deepEqual(meanInterval(values, seededRandom(7)), meanInterval(values, seededRandom(7)));
  const three = meanInterval(values, seededRandom(7))!;
  const six = meanInterval([...values, 101, 99, 102], seededRandom(7))!;
  assert.ok(three.low < 97 && three.high > 104, `with three repeats the interval reaches beyond the repeats: ${three.low}–${three.high}`);
  assert.ok(six.high - six.low < three.high - three.low);
  assert.equal(meanInterval([100], seededRandom(7)), undefined);
  const ratio = ratioInterval([150, 155, 148], values, seededRandom(7))!;
  assert.ok(ratio.low < ratio.ratio && ratio.ratio < ratio.high && ratio.low > 1.3 && ratio.high < 1.7, JSON.stringify(ratio));
});
