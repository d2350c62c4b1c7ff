import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketFor, lengthBuckets, padBatch } from '../src/padding.js';

describe('padBatch', () => {
  it('right-pads every row to the longest with the pad id and masks the padding', () => {
    const padded = padBatch([Int32Array.of(5, 6, 7), Int32Array.of(8)], 1);
    assert.equal(padded.sequenceLength, 3);
    assert.deepEqual([...padded.inputIds], [5n, 6n, 7n, 8n, 1n, 1n]);
    assert.deepEqual([...padded.attentionMask], [1n, 1n, 1n, 1n, 0n, 0n]);
  });

  it('pads to a given length, and refuses one shorter than the longest row', () => {
    const padded = padBatch([Int32Array.of(5, 6)], 0, 4);
    assert.deepEqual([...padded.inputIds], [5n, 6n, 0n, 0n]);
    assert.deepEqual([...padded.attentionMask], [1n, 1n, 0n, 0n]);
    assert.throws(() => padBatch([Int32Array.of(5, 6, 7)], 0, 2), /cannot pad a 3-token row to 2/);
  });

  it('refuses an empty batch or an empty row', () => {
    assert.throws(() => padBatch([], 0), /empty/);
    assert.throws(() => padBatch([Int32Array.of(1), new Int32Array(0)], 0), /empty/);
  });
});

describe('padded lengths for WebGPU', () => {
  it('steps by 16 up to 128, then coarser, and always ends at the limit', () => {
    assert.deepEqual(lengthBuckets(512), [16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512]);
    assert.deepEqual(lengthBuckets(100), [16, 32, 48, 64, 80, 96, 100]);
    assert.deepEqual(lengthBuckets(8), [8]);
  });

  it('puts a row in the smallest bucket that holds it', () => {
    const buckets = lengthBuckets(100);
    assert.equal(bucketFor(1, buckets), 16);
    assert.equal(bucketFor(16, buckets), 16);
    assert.equal(bucketFor(17, buckets), 32);
    assert.equal(bucketFor(100, buckets), 100);
    assert.throws(() => bucketFor(101, buckets), /longer than the longest padded length 100/);
  });
});
