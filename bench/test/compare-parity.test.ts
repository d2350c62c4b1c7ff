import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cosineSimilarity } from '@embedbench/loadtest/contract';
import { compareParity } from '../src/compare/parity.js';
import type { ParitySample } from '../src/result-files/schemas.js';

const sample = (backend: string, pids: string[], embeddings: number[][]): ParitySample => ({ backend, capturedAt: '2026-01-01T00:00:00Z', pids, embeddings });

test('cosineSimilarity: 1 for parallel, -1 for opposite, 0 for orthogonal or zero vectors', () => {
  assert.equal(cosineSimilarity([1, 2, 3], [2, 4, 6]), 1);
  assert.equal(cosineSimilarity([1, 0], [-3, 0]), -1);
  assert.equal(cosineSimilarity([1, 0], [0, 5]), 0);
  assert.equal(cosineSimilarity([0, 0], [1, 1]), 0);
  assert.throws(() => cosineSimilarity([1], [1, 2]), /1 and 2 dimensions/);
});

test('compareParity matches passages by pid and judges the minimum cosine against the threshold', () => {
  const baseline = sample('transformers', ['a', 'b'], [[1, 0], [0, 1]]);
  const close = sample('onnx', ['b', 'a'], [[0.01, 1], [1, 0.01]]);
  const verdict = compareParity(baseline, close, 0.99);
  assert.equal(verdict.passages, 2);
  assert.ok(verdict.minCosine > 0.999);
  assert.equal(verdict.agrees, true);

  const wrong = sample('onnx', ['a', 'b'], [[1, 0], [1, 0]]);
  const bad = compareParity(baseline, wrong, 0.99);
  assert.equal(bad.agrees, false);
  assert.equal(bad.minCosine, 0);
  assert.equal(bad.meanCosine, 0.5);
});

test('compareParity reports a problem instead of a number when samples cannot be compared', () => {
  const baseline = sample('transformers', ['a'], [[1, 0]]);
  assert.match(compareParity(baseline, sample('onnx', ['z'], [[1, 0]]), 0.99).problem ?? '', /no passage in common/);
  const differentDims = compareParity(baseline, sample('onnx', ['a'], [[1, 0, 0]]), 0.99);
  assert.equal(differentDims.agrees, false);
  assert.match(differentDims.problem ?? '', /dimensions/);
});
