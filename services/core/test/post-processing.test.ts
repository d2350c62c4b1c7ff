import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { l2Normalize } from '@embedbench/loadtest/contract';
import { postProcess } from '../src/post-processing.js';

describe('postProcess', () => {
  it('truncates to `dimensions` then renormalizes, or keeps raw values without normalize', () => {
    const row = Float32Array.of(3, 4, 12);
    assert.deepEqual(Array.from(postProcess(row, { normalize: true, dimensions: 2 })), Array.from(l2Normalize(Float32Array.of(3, 4))));
    assert.deepEqual(Array.from(postProcess(row, { normalize: false, dimensions: 2 })), [3, 4]);
    assert.deepEqual(Array.from(postProcess(row, { normalize: false })), [3, 4, 12]);
  });
});
