import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resultFromK6Summary } from '@embedbench/loadtest/k6-summary';
import type { K6RunContext, K6SummaryData } from '@embedbench/loadtest/k6-summary';
import { parseRunParameters } from '@embedbench/loadtest/parameters';
import { saturationSteps } from '@embedbench/loadtest/schedule';
import { loadResultSchema, parseLoadResult } from '../src/load/result-schema.js';

const trend = (values: Record<string, number>, thresholds?: Record<string, { ok: boolean }>) => ({
  type: 'trend',
  contains: 'time',
  values,
  ...(thresholds ? { thresholds } : {}),
});
const counter = (count: number, seconds: number) => ({ type: 'counter', contains: 'default', values: { count, rate: count / seconds } });
const rate = (passes: number, fails: number) => ({ type: 'rate', contains: 'default', values: { rate: passes / (passes + fails), passes, fails } });

/** The argument k6 v1 passes to handleSummary after `k6 run -e BACKEND=onnx -e BATCH_SIZE=32 loadtest/embed.ts` (closed, 8 VUs, 60 s). */
function recordedClosedSummary(): K6SummaryData & Record<string, unknown> {
  return {
    root_group: { name: '', path: '', id: 'd41d8cd98f00b204e9800998ecf8427e', groups: [], checks: [
      { name: 'status is 200', path: '::status is 200', id: '6210a8cd14cd70477eba5c5e4cb3fb5f', passes: 2394, fails: 6 },
      { name: 'one embedding per input', path: '::one embedding per input', id: 'a1', passes: 2394, fails: 6 },
      { name: 'embedding dimension', path: '::embedding dimension', id: 'a2', passes: 2394, fails: 6 },
    ] },
    options: { summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'], summaryTimeUnit: '', noColor: false },
    state: { isStdOutTTY: true, isStdErrTTY: true, testRunDurationMs: 60412.338 },
    metrics: {
      http_reqs: counter(2402, 60.412),
      'http_reqs{endpoint:embed}': { ...counter(2400, 60.412), thresholds: { 'count>0': { ok: true } } },
      http_req_duration: trend({ avg: 199.4, min: 1.02, med: 188.1, max: 1204.7, 'p(90)': 281.9, 'p(95)': 322.4, 'p(99)': 611.3, count: 2402 }),
      'http_req_duration{endpoint:embed}': trend(
        { avg: 199.57, min: 61.27, med: 188.2, max: 1204.7, 'p(90)': 282.0, 'p(95)': 322.5, 'p(99)': 611.4, count: 2400 },
        { 'p(99)<=1000': { ok: true } },
      ),
      'http_req_duration{expected_response:true}': trend({ avg: 199.1, min: 1.02, med: 188.0, max: 1204.7, 'p(90)': 281.8, 'p(95)': 322.3, 'p(99)': 610.9, count: 2396 }),
      http_req_failed: rate(6, 2396),
      http_req_blocked: trend({ avg: 0.01, min: 0.001, med: 0.003, max: 1.2, 'p(90)': 0.004, 'p(95)': 0.005, 'p(99)': 0.01, count: 2402 }),
      http_req_waiting: trend({ avg: 198.8, min: 0.9, med: 187.6, max: 1203.9, 'p(90)': 281.1, 'p(95)': 321.6, 'p(99)': 610.5, count: 2402 }),
      iterations: counter(2400, 60.412),
      iteration_duration: trend({ avg: 201.3, min: 62.8, med: 190.0, max: 1207.1, 'p(90)': 284.2, 'p(95)': 324.9, 'p(99)': 614.0, count: 2400 }),
      vus: { type: 'gauge', contains: 'default', values: { value: 8, min: 8, max: 8 } },
      vus_max: { type: 'gauge', contains: 'default', values: { value: 8, min: 8, max: 8 } },
      data_sent: { type: 'counter', contains: 'data', values: { count: 10_233_440, rate: 169_393.2 } },
      data_received: { type: 'counter', contains: 'data', values: { count: 1_502_312_004, rate: 24_868_421.1 } },
      checks: rate(7182, 18),
      embeddings: counter(76_608, 60.412),
      embed_failures: { ...rate(6, 2394), thresholds: { 'rate<=0.01': { ok: true } } },
      errors_429: counter(4, 60.412),
      errors_503: counter(2, 60.412),
      server_queue_time: trend({ avg: 88.1, min: 0.01, med: 80.2, max: 702.3, 'p(90)': 150.2, 'p(95)': 170.7, 'p(99)': 300.1, count: 2394 }),
      server_tokenization_time: trend({ avg: 2.1, min: 0.8, med: 2.0, max: 9.9, 'p(90)': 2.9, 'p(95)': 3.2, 'p(99)': 4.4, count: 2394 }),
      server_inference_time: trend({ avg: 101.2, min: 55.0, med: 98.7, max: 480.0, 'p(90)': 121.3, 'p(95)': 130.1, 'p(99)': 290.2, count: 2394 }),
      server_total_time: trend({ avg: 191.8, min: 58.1, med: 182.0, max: 1190.2, 'p(90)': 270.4, 'p(95)': 310.0, 'p(99)': 600.3, count: 2394 }),
      server_embed_requests_delta: counter(2400, 60.412),
      server_tokens_delta: counter(4_213_776, 60.412),
    },
    setup_data: { testid: 'onnx-b32-closed-20260102T030405Z' },
  };
}

function context(scenario: 'closed' | 'saturation', extra: Record<string, string> = {}): K6RunContext {
  const parameters = parseRunParameters({ BACKEND: 'onnx', BATCH_SIZE: '32', SCENARIO: scenario, ...extra }, Date.UTC(2026, 0, 2, 3, 4, 5));
  return {
    parameters,
    model: 'answerdotai/ModernBERT-base',
    embeddingDim: 768,
    startedAtMs: Date.UTC(2026, 0, 2, 3, 4, 5),
    finishedAtMs: Date.UTC(2026, 0, 2, 3, 5, 6),
    steps: scenario === 'saturation' ? saturationSteps(parameters.saturation, parameters.durationSeconds) : null,
    environment: {
      hostname: 'gpu-node-07',
      os: null,
      cpuModel: null,
      cpuCount: null,
      memoryBytes: null,
      gpus: null,
      runtime: 'k6 v1.3.0',
      embedbenchVersion: '0.1.0',
      gitSha: '0123456789abcdef0123456789abcdef01234567',
    },
  };
}

test('a recorded k6 closed-model summary becomes a result the zod schema accepts', () => {
  const result = loadResultSchema.parse(resultFromK6Summary(recordedClosedSummary(), context('closed')));
  assert.equal(result.driver, 'k6');
  assert.equal(result.testid, 'onnx-b32-closed-20260102T030405Z');
  assert.deepEqual(result.requests, { total: 2400, succeeded: 2394, failed: 6, dropped: 0 });
  assert.deepEqual(result.errorsByStatus, { '429': 4, '503': 2 });
  assert.equal(result.successRate, 2394 / 2400);
  assert.deepEqual(result.latencyMs, { min: 61.27, mean: 199.57, p50: 188.2, p90: 282.0, p95: 322.5, p99: 611.4, max: 1204.7 });
  assert.deepEqual(result.serverTimingMs.inference, { mean: 101.2, p50: 98.7, p99: 290.2 });
  const seconds = 60_412.338 / 1000;
  assert.equal(result.durationSeconds, seconds);
  assert.equal(result.throughput.embeddingsPerSecond, 76_608 / seconds);
  assert.equal(result.throughput.tokensPerSecond, 4_213_776 / seconds);
  assert.deepEqual(result.serverMetrics, { requests: 2400, tokens: 4_213_776 });
  assert.deepEqual(result.load, { vus: 8, rate: null, maxVus: null });
  assert.equal(result.thresholds.passed, true);
  assert.equal(result.saturation, null);
});

test('a k6 summary without /metrics deltas reports tokens/s as unknown', () => {
  const summary = recordedClosedSummary();
  delete summary.metrics.server_tokens_delta;
  delete summary.metrics.server_embed_requests_delta;
  const result = loadResultSchema.parse(resultFromK6Summary(summary, context('closed')));
  assert.equal(result.throughput.tokensPerSecond, null);
  assert.deepEqual(result.serverMetrics, { requests: null, tokens: null });
});

test('a k6 saturation summary yields the highest sustained step', () => {
  const summary = recordedClosedSummary();
  // SATURATION 2 -> 10 req/s in 3 steps of 10 s: planned 20, 58 (1 s ramp 2->6, then 6/s) and 98 requests.
  const steps = [
    { requests: 20, failed: 0, p99: 120.5 },
    { requests: 58, failed: 0, p99: 450.2 },
    { requests: 97, failed: 3, p99: 2300.9 },
  ];
  steps.forEach((step, index) => {
    summary.metrics[`http_reqs{rate_step:${index}}`] = { ...counter(step.requests, 30), thresholds: { 'count>=0': { ok: true } } } as never;
    summary.metrics[`embed_failures{rate_step:${index}}`] = rate(step.failed, step.requests - step.failed);
    summary.metrics[`http_req_duration{rate_step:${index}}`] = trend({ avg: 1, min: 1, med: 1, max: step.p99, 'p(90)': 1, 'p(95)': 1, 'p(99)': step.p99, count: step.requests });
  });
  const result = loadResultSchema.parse(
    resultFromK6Summary(summary, context('saturation', { DURATION: '30s', SATURATION_START_RATE: '2', SATURATION_MAX_RATE: '10', SATURATION_STEPS: '3' })),
  );
  assert.ok(result.saturation);
  assert.equal(result.saturation.sustainedRate, 6);
  assert.deepEqual(result.saturation.steps.map((step) => [step.rate, step.plannedRequests, step.sustained]), [
    [2, 20, true],
    [6, 58, true],
    [10, 98, false],
  ]);
  assert.equal(result.thresholds.passed, true);
  assert.deepEqual(result.load, { vus: null, rate: null, maxVus: 100 });
});

test('a k6 summary missing the configured trend stats is an error, not a silent zero', () => {
  const summary = recordedClosedSummary();
  const metric = summary.metrics['http_req_duration{endpoint:embed}'];
  assert.ok(metric);
  delete metric.values['p(99)'];
  assert.throws(() => resultFromK6Summary(summary, context('closed')), /lacks http_req_duration\{endpoint:embed\} p\(99\)/);
});

test('parseLoadResult names the first wrong field', () => {
  const result = resultFromK6Summary(recordedClosedSummary(), context('closed'));
  assert.equal(parseLoadResult(JSON.parse(JSON.stringify(result)), 'r.json').testid, result.testid);
  assert.throws(() => parseLoadResult({ ...result, schemaVersion: 2 }, 'r.json'), /r\.json: not a load result \(schema v1\): schemaVersion/);
  assert.throws(() => parseLoadResult({ ...result, successRate: 1.5 }, 'r.json'), /successRate/);
  assert.throws(() => parseLoadResult({ ...result, errorsByStatus: { '418': 1 } }, 'r.json'), /errorsByStatus/);
});
