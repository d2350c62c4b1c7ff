import assert from 'node:assert/strict';
import { test } from 'node:test';
import { latencyStats, percentile, sortedSamples } from '@embedbench/loadtest/percentiles';
import { LatencyRecorder } from '../src/load/histogram.js';

/** A deterministic spread of latencies at microsecond resolution, like the driver records. */
function samples(count: number, maxMs: number, seed: number): number[] {
  let state = seed;
  const values: number[] = [];
  for (let index = 0; index < count; index++) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const skewed = (state / 2 ** 31) ** 3; // a long tail, as latencies have
    values.push(Math.round(skewed * maxMs * 1000) / 1000);
  }
  return values;
}

function recorded(values: number[]): LatencyRecorder {
  const recorder = new LatencyRecorder();
  for (const value of values) recorder.record(value);
  return recorder;
}

test('the driver (HDR histogram) and the k6 definition give identical percentiles for the same samples', () => {
  for (const [count, seed] of [[1, 1], [2, 2], [7, 3], [1000, 4], [20_000, 5]] as const) {
    const values = samples(count, 250, seed);
    const exact = latencyStats(sortedSamples(values));
    const driver = latencyStats(recorded(values));
    assert.ok(exact && driver);
    for (const key of ['min', 'p50', 'p90', 'p95', 'p99', 'max'] as const) {
      assert.equal(driver[key], exact[key], `${key} of ${count} samples`);
    }
    assert.ok(Math.abs(driver.mean - exact.mean) < 1e-9 * Math.max(1, exact.mean));
  }
});

test('above 262 ms the histogram stays within its 5-significant-digit precision', () => {
  const values = samples(5000, 30_000, 9);
  for (const percent of [50, 90, 99, 99.9]) {
    const exact = percentile(sortedSamples(values), percent);
    const driver = percentile(recorded(values), percent);
    assert.ok(Math.abs(driver - exact) <= exact * 1e-5 + 0.001, `p${percent}: ${driver} vs ${exact}`);
  }
});

test('the recorder answers ranks in order and rejects ranks it does not hold', () => {
  const recorder = recorded([3, 1, 2, 2]);
  assert.deepEqual([0, 1, 2, 3].map((rank) => recorder.valueAtRank(rank)), [1, 2, 2, 3]);
  assert.throws(() => recorder.valueAtRank(4), RangeError);
  assert.equal(latencyStats(new LatencyRecorder()), null);
});
