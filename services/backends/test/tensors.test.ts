import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { meanPool, padBatch } from '../src/onnx/tensors.js';

describe('padBatch', () => {
  it('right-pads every row to the longest with the pad id and masks the padding', () => {
    const padded = padBatch([Int32Array.of(5, 6, 7), Int32Array.of(8)], 1);
    assert.equal(padded.sequenceLength, 3);
    assert.deepEqual([...padded.inputIds], [5n, 6n, 7n, 8n, 1n, 1n]);
    assert.deepEqual([...padded.attentionMask], [1n, 1n, 1n, 1n, 0n, 0n]);
    assert.deepEqual([...padded.lengths], [3, 1]);
  });

  it('refuses an empty batch or an empty row', () => {
    assert.throws(() => padBatch([], 0), /empty/);
    assert.throws(() => padBatch([Int32Array.of(1), new Int32Array(0)], 0), /empty/);
  });
});

describe('meanPool', () => {
  it('averages only the real tokens of each row', () => {
    // rows=2, sequence=2, hidden=2; row 1 has one real token followed by padding garbage.
    const hidden = Float32Array.of(1, 2, 3, 4, 10, 20, 99, 99);
    const pooled = meanPool(hidden, Int32Array.of(2, 1), 2, 2);
    assert.deepEqual([...pooled], [2, 3, 10, 20]);
  });

  it('reads float16 bit patterns as their values', () => {
    // 0x3c00 = 1, 0xc000 = -2, 0x3800 = 0.5, 0x0001 = smallest subnormal, 0x7bff = 65504.
    const hidden = Uint16Array.of(0x3c00, 0xc000, 0x3800, 0x0001, 0x7bff, 0x3c00);
    const pooled = meanPool(hidden, Int32Array.of(1, 1, 1), 1, 2);
    assert.deepEqual([...pooled], [1, -2, 0.5, Math.fround(2 ** -24), 65504, 1]);
  });
});
