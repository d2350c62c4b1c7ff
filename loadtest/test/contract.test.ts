import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { base64ToFloat32, cosineSimilarity, float32ToBase64, l2Normalize } from '../lib/contract.ts';

describe('contract vector math', () => {
  it('L2-normalizes, leaving a zero row at zero', () => {
    assert.deepEqual(Array.from(l2Normalize(Float32Array.of(3, 4))), [0.6000000238418579, 0.800000011920929]);
    assert.deepEqual(Array.from(l2Normalize(Float32Array.of(0, 0))), [0, 0]);
  });

  it('encodes base64 as little-endian float32 bytes', () => {
    assert.equal(float32ToBase64(Float32Array.of(1)), Buffer.from([0x00, 0x00, 0x80, 0x3f]).toString('base64'));
    const row = Float32Array.of(0.25, -1.5, 3.1415927);
    assert.deepEqual(base64ToFloat32(float32ToBase64(row)), row);
  });

  it('encodes and decodes base64 exactly as Node does, for every padding length', () => {
    for (let length = 0; length <= 6; length++) {
      const row = Float32Array.from({ length }, (_, i) => (i + 1) * -0.3711);
      const expected = Buffer.from(row.buffer).toString('base64');
      assert.equal(float32ToBase64(row), expected, `${length} values`);
      assert.deepEqual(base64ToFloat32(expected), row, `${length} values`);
    }
    assert.throws(() => base64ToFloat32('AAC*'), /not base64/);
  });

  it('computes cosine similarity and rejects vectors of different lengths', () => {
    assert.equal(cosineSimilarity([1, 0], [0, 1]), 0);
    assert.ok(Math.abs(cosineSimilarity([1, 2], [2, 4]) - 1) < 1e-12);
    assert.throws(() => cosineSimilarity([1], [1, 2]), /different lengths/);
  });

  it('gives 0, not NaN, when a vector is all zeros', () => {
    assert.equal(cosineSimilarity([0, 0], [1, 1]), 0);
    assert.equal(cosineSimilarity(Float32Array.of(0, 0), Float32Array.of(0, 0)), 0);
  });
});
