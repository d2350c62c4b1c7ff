import assert from 'node:assert/strict';
import { test } from 'node:test';
import { thresholdFailures } from '../lib/result.ts';

const latency = (p99: number) => ({ min: 1, mean: p99 / 2, p50: p99 / 2, p90: p99, p95: p99, p99, max: p99 });
const targets = { p99TargetMs: 1000, maxErrorRate: 0.01 };
const closedRun = { scenario: 'closed' as const, saturation: null, thresholds: targets };

test('a run within both thresholds has no failures', () => {
  assert.deepEqual(thresholdFailures({ ...closedRun, requests: { total: 100, failed: 1 }, latencyMs: latency(1000) }), []);
});

test('each missed threshold is named with its value and the margin', () => {
  assert.deepEqual(thresholdFailures({ ...closedRun, requests: { total: 40, failed: 2 }, latencyMs: latency(11234.56) }), [
    'error rate 5.00% > 1.00% limit (2 of 40 requests failed)',
    'p99 11234.6 ms > 1000 ms target (+10234.6 ms)',
  ]);
});

test('a run without any request fails both, saying why p99 is unknown', () => {
  assert.deepEqual(thresholdFailures({ ...closedRun, requests: { total: 0, failed: 0 }, latencyMs: null }), [
    'error rate 100.00% > 1.00% limit (0 of 0 requests failed)',
    'p99 unknown (no request succeeded), target 1000 ms',
  ]);
});

test('saturation passes when some step sustained its rate', () => {
  const saturation = (sustainedRate: number | null) => ({ p99TargetMs: 1000, sustainedRate, steps: [] });
  const run = { scenario: 'saturation' as const, requests: { total: 10, failed: 5 }, latencyMs: latency(5000), thresholds: targets };
  assert.deepEqual(thresholdFailures({ ...run, saturation: saturation(4) }), []);
  assert.deepEqual(thresholdFailures({ ...run, saturation: saturation(null) }), ['no step sustained its rate with p99 within 1000 ms']);
});
