import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDurationSeconds, parseRunParameters } from '../lib/parameters.ts';

const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);

test('parseRunParameters applies the documented defaults', () => {
  const parameters = parseRunParameters({}, NOW);
  assert.equal(parameters.baseUrl, 'http://localhost:8000');
  assert.equal(parameters.batchSize, 32);
  assert.equal(parameters.durationSeconds, 60);
  assert.equal(parameters.scenario, 'closed');
  assert.equal(parameters.dataset, 'data/passages.jsonl');
  assert.equal(parameters.expectedDim, null);
  assert.equal(parameters.testid, 'unknown-b32-closed-20260102T030405Z');
  assert.deepEqual(parameters.saturation, { startRate: 1, maxRate: 10, steps: 5 });
});

test('parseRunParameters reads every variable and trims a trailing slash from BASE_URL', () => {
  const parameters = parseRunParameters(
    {
      BASE_URL: 'http://host:8002/',
      BACKEND: 'onnx',
      BATCH_SIZE: '64',
      DURATION: '1m30s',
      SCENARIO: 'saturation',
      VUS: '3',
      RATE: '40',
      MAX_VUS: '20',
      DATASET: '/d.jsonl',
      TESTID: 'run-1',
      P99_TARGET_MS: '250',
      MAX_ERROR_RATE: '0.05',
      EXPECTED_DIM: '768',
      TIMEOUT: '10s',
      SATURATION_START_RATE: '5',
      SATURATION_MAX_RATE: '80',
      SATURATION_STEPS: '4',
    },
    NOW,
  );
  assert.deepEqual(parameters, {
    baseUrl: 'http://host:8002',
    backend: 'onnx',
    batchSize: 64,
    durationSeconds: 90,
    scenario: 'saturation',
    vus: 3,
    rate: 40,
    maxVus: 20,
    dataset: '/d.jsonl',
    testid: 'run-1',
    p99TargetMs: 250,
    maxErrorRate: 0.05,
    expectedDim: 768,
    timeoutSeconds: 10,
    saturation: { startRate: 5, maxRate: 80, steps: 4 },
  });
});

test('parseRunParameters rejects bad values with the variable name', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ SCENARIO: 'spike' }, /SCENARIO must be one of closed\|open\|saturation/],
    [{ BATCH_SIZE: '0' }, /BATCH_SIZE must be a positive integer/],
    [{ BATCH_SIZE: '2.5' }, /BATCH_SIZE must be a positive integer/],
    [{ VUS: 'many' }, /VUS must be a positive integer/],
    [{ RATE: '-1' }, /RATE must be a positive integer/],
    [{ DURATION: '10 minutes' }, /DURATION must be a duration/],
    [{ DURATION: '0s' }, /DURATION must be longer than zero/],
    [{ BASE_URL: 'localhost:8000' }, /BASE_URL must be an http\(s\) URL/],
    [{ MAX_ERROR_RATE: '2' }, /MAX_ERROR_RATE must be within 0\.\.1/],
    [{ P99_TARGET_MS: 'fast' }, /P99_TARGET_MS must be a positive number/],
    [{ TESTID: 'a b' }, /TESTID may only hold/],
    [{ SCENARIO: 'saturation', SATURATION_START_RATE: '50', SATURATION_MAX_RATE: '10' }, /must not exceed SATURATION_MAX_RATE/],
  ];
  for (const [source, message] of cases) assert.throws(() => parseRunParameters(source, NOW), message, JSON.stringify(source));
});

test('parseDurationSeconds accepts k6 duration spellings', () => {
  assert.equal(parseDurationSeconds('D', '90'), 90);
  assert.equal(parseDurationSeconds('D', '1.5m'), 90);
  assert.equal(parseDurationSeconds('D', '2h'), 7200);
  assert.equal(parseDurationSeconds('D', '1m30s'), 90);
  assert.equal(parseDurationSeconds('D', '500ms'), 0.5);
  assert.throws(() => parseDurationSeconds('D', '5x'), /D must be a duration/);
  assert.throws(() => parseDurationSeconds('D', '1m 30s'), /D must be a duration/);
});
