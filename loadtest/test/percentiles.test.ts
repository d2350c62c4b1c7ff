import assert from 'node:assert/strict';
import { test } from 'node:test';
import { latencyStats, percentile, sortedSamples } from '../lib/percentiles.ts';

test('percentile interpolates between neighbouring ranks as k6 TrendSink does', () => {
  // rank = p * (n - 1): for 1..10, p90 -> rank 8.1 -> 9 + 0.1 * (10 - 9)
  const samples = sortedSamples([10, 1, 9, 2, 8, 3, 7, 4, 6, 5]);
  assert.equal(percentile(samples, 50), 5.5);
  assert.ok(Math.abs(percentile(samples, 90) - 9.1) < 1e-12);
  assert.ok(Math.abs(percentile(samples, 95) - 9.55) < 1e-12);
  assert.equal(percentile(samples, 0), 1);
  assert.equal(percentile(samples, 100), 10);
});

test('percentile of no samples is 0 and of one sample is that sample', () => {
  assert.equal(percentile(sortedSamples([]), 99), 0);
  assert.equal(percentile(sortedSamples([42.5]), 99), 42.5);
});

test('percentile rejects a percent outside 0..100', () => {
  assert.throws(() => percentile(sortedSamples([1, 2]), 101), /within 0\.\.100/);
  assert.throws(() => percentile(sortedSamples([1, 2]), Number.NaN), /within 0\.\.100/);
});

test('latencyStats reports min, mean, percentiles and max, and null for no samples', () => {
  assert.equal(latencyStats(sortedSamples([])), null);
  const stats = latencyStats(sortedSamples([4, 1, 3, 2]));
  assert.deepEqual(stats, { min: 1, mean: 2.5, p50: 2.5, p90: 3.7, p95: 3.8499999999999996, p99: 3.9699999999999998, max: 4 });
});
