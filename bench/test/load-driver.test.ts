import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CliError } from '../src/errors.js';
import { runLoad } from '../src/load/driver.js';
import type { LoadProgress } from '../src/load/driver.js';
import { loadResultSchema } from '../src/load/result-schema.js';
import { PASSAGES, startFixture } from './load-fixture.js';

test('closed model: counts, embeddings and server timings agree with what the server saw', async () => {
  const fixture = await startFixture({ dimension: 16, serviceMs: 2 });
  try {
    const progress: LoadProgress[] = [];
    const result = await runLoad({
      baseUrl: fixture.url,
      backend: 'fixture',
      batchSize: 4,
      duration: '1s',
      vus: 3,
      passages: PASSAGES,
      onProgress: (update) => progress.push(update),
      progressIntervalMs: 200,
    });
    assert.ok(loadResultSchema.safeParse(result).success);
    assert.equal(result.driver, 'builtin');
    assert.equal(result.model, 'fixture-model');
    assert.equal(result.embeddingDim, 16);
    assert.ok(result.requests.total > 10, `only ${result.requests.total} requests`);
    assert.equal(result.requests.total, fixture.embedRequests());
    assert.equal(result.serverMetrics.requests, fixture.embedRequests());
    assert.equal(result.requests.succeeded, result.requests.total);
    assert.equal(result.embeddings, result.requests.total * 4);
    assert.ok(result.throughput.tokensPerSecond !== null && result.throughput.tokensPerSecond > 0);
    assert.ok(result.latencyMs && result.latencyMs.min > 1 && result.latencyMs.p50 <= result.latencyMs.p99);
    assert.ok(result.serverTimingMs.inference && result.serverTimingMs.inference.p50 > 1);
    assert.ok(result.durationSeconds >= 1 && result.durationSeconds < 3, `duration ${result.durationSeconds}`);
    assert.ok(result.thresholds.passed);
    const last = progress[progress.length - 1];
    assert.equal(last?.phase, 'measure');
    assert.equal(last?.requests, result.requests.total);
  } finally {
    await fixture.close();
  }
});

test('max-requests bounds the run, and warm-up requests stay out of the result', async () => {
  const fixture = await startFixture();
  try {
    const result = await runLoad({ baseUrl: fixture.url, duration: '30s', vus: 4, maxRequests: 25, warmup: '200ms', passages: PASSAGES });
    assert.equal(result.requests.total, 25);
    assert.equal(result.serverMetrics.requests, 25);
    assert.ok(fixture.embedRequests() > 25, 'the warm-up sent requests too');
    assert.ok(result.durationSeconds < 5);
  } finally {
    await fixture.close();
  }
});

test('open model: requests start on schedule and latency runs from the intended start (no coordinated omission)', async () => {
  // One connection to a server that needs 100 ms per request, asked for 20 req/s: requests queue
  // up in the client. Service time stays 100 ms; latency from the intended start must grow.
  const fixture = await startFixture({ serviceMs: 100, serial: true });
  try {
    const result = await runLoad({ baseUrl: fixture.url, scenario: 'open', rate: 20, duration: '1s', maxVus: 1, passages: PASSAGES, p99TargetMs: 5000 });
    assert.equal(result.requests.total, 20);
    const service = result.serverTimingMs.inference;
    assert.ok(service && result.latencyMs, 'service time and latency recorded');
    // The k-th request is due at k * 50 ms but can only finish at (k + 1) * 100 ms.
    assert.ok(result.latencyMs.p50 > 3 * service.p50, `latency p50 ${result.latencyMs.p50} vs service ${service.p50}`);
    assert.ok(result.latencyMs.max > 900, `latency max ${result.latencyMs.max}`);
    assert.ok(result.throughput.requestsPerSecond < 11, 'the server could not keep up with 20 req/s');
  } finally {
    await fixture.close();
  }
});

test('errors are counted by status, fail the thresholds, and still match the server count', async () => {
  const fixture = await startFixture({ failEvery: { n: 4, status: 429 } });
  try {
    const result = await runLoad({ baseUrl: fixture.url, scenario: 'open', rate: 40, duration: '1s', passages: PASSAGES });
    assert.equal(result.requests.total, 40);
    assert.equal(result.serverMetrics.requests, fixture.embedRequests());
    assert.deepEqual(result.errorsByStatus, { '429': 10 });
    assert.equal(result.requests.failed, 10);
    assert.equal(result.successRate, 0.75);
    assert.equal(result.thresholds.passed, false);
  } finally {
    await fixture.close();
  }
});

test('a 200 with the wrong number of embeddings counts as invalid_response', async () => {
  const fixture = await startFixture({ wrongCount: true });
  try {
    const result = await runLoad({ baseUrl: fixture.url, maxRequests: 5, vus: 1, passages: PASSAGES });
    assert.deepEqual(result.errorsByStatus, { invalid_response: 5 });
    assert.equal(result.embeddings, 0);
  } finally {
    await fixture.close();
  }
});

test('an unreachable service gives network errors and unknown server metrics, not a crash', async () => {
  const fixture = await startFixture();
  const url = fixture.url;
  await fixture.close();
  const result = await runLoad({ baseUrl: url, maxRequests: 3, vus: 1, passages: PASSAGES });
  assert.deepEqual(result.errorsByStatus, { network: 3 });
  assert.equal(result.latencyMs, null);
  assert.deepEqual(result.serverMetrics, { requests: null, tokens: null });
  assert.equal(result.throughput.tokensPerSecond, null);
  assert.equal(result.model, null);
});

test('aborting stops the run early and still returns a valid result', async () => {
  const fixture = await startFixture({ serviceMs: 5 });
  try {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 300);
    const started = performance.now();
    const result = await runLoad({ baseUrl: fixture.url, duration: '60s', vus: 2, passages: PASSAGES, signal: stop.signal });
    assert.ok(performance.now() - started < 5000);
    assert.ok(result.requests.total > 0);
    assert.ok(loadResultSchema.safeParse(result).success);
  } finally {
    await fixture.close();
  }
});

test('bad options are user errors naming the option', async () => {
  await assert.rejects(runLoad({ batchSize: 0, passages: PASSAGES }), (error: unknown) => error instanceof CliError && /BATCH_SIZE/.test(error.message));
  await assert.rejects(runLoad({ maxRequests: -1, passages: PASSAGES }), /--max-requests must be a positive integer/);
  await assert.rejects(runLoad({ dataset: '/nonexistent/passages.jsonl' }), /cannot read dataset \/nonexistent\/passages\.jsonl/);
});
