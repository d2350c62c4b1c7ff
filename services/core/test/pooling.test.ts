import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { base64ToFloat32, cosineSimilarity, float32ToBase64, l2Normalize } from '@embedbench/loadtest/contract';
import { postProcess } from '../src/pooling.js';

describe('pooling helpers', () => {
  it('L2-normalizes, leaving a zero row at zero', () => {
    assert.deepEqual(Array.from(l2Normalize(Float32Array.of(3, 4))), [0.6000000238418579, 0.800000011920929]);
    assert.deepEqual(Array.from(l2Normalize(Float32Array.of(0, 0))), [0, 0]);
  });

  it('truncates to `dimensions` then renormalizes, or keeps raw values without normalize', () => {
    const row = Float32Array.of(3, 4, 12);
    assert.deepEqual(Array.from(postProcess(row, { normalize: true, dimensions: 2 })), Array.from(l2Normalize(Float32Array.of(3, 4))));
    assert.deepEqual(Array.from(postProcess(row, { normalize: false, dimensions: 2 })), [3, 4]);
    assert.deepEqual(Array.from(postProcess(row, { normalize: false })), [3, 4, 12]);
  });

  it('encodes base64 as little-endian float32 bytes', () => {
    assert.equal(float32ToBase64(Float32Array.of(1)), Buffer.from([0x00, 0x00, 0x80, 0x3f]).toString('base64'));
    const row = Float32Array.of(0.25, -1.5, 3.1415927);
    assert.deepEqual(base64ToFloat32(float32ToBase64(row)), row);
  });

  it('computes cosine similarity and rejects vectors of different lengths', () => {
    assert.equal(cosineSimilarity([1, 0], [0, 1]), 0);
    assert.ok(Math.abs(cosineSimilarity([1, 2], [2, 4]) - 1) < 1e-12);
    assert.throws(() => cosineSimilarity([1], [1, 2]), /different lengths/);
  });
});
