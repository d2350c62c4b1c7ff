import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { batchActivationBytes, batchMemoryBudget, readModelDimensions, type ModelDimensions } from '../src/memory.js';

const testModels = fileURLToPath(new URL('../../../../.cache/test-models/', import.meta.url));
const MiB = 1024 * 1024;

/** config.json of the synthetic ModernBERT-base (embedbench model synth --arch modernbert --size base), fp32. */
const MODERNBERT_BASE: ModelDimensions = { hiddenSize: 768, intermediateSize: 1152, attentionHeads: 12, bytesPerValue: 4 };

/**
 * RSS growth of one `session.run` over a batch of the given shape, above the process's RSS after a
 * 1 x 8-token warm-up: onnxruntime-node 1.30, CPU provider, default CPU arena, graph optimization
 * 'all', 2 intra-op threads, one fresh process per shape (the arena keeps its peak), measured with
 * /proc/self/status VmHWM reset through /proc/self/clear_refs. Measured once on the 2-core
 * development machine.
 */
const MEASURED_MIB: ReadonlyArray<{ rows: number; longest: number; mib: number }> = [
  { rows: 1, longest: 512, mib: 32 },
  { rows: 2, longest: 512, mib: 78 },
  { rows: 4, longest: 512, mib: 171 },
  { rows: 1, longest: 1024, mib: 126 },
  { rows: 8, longest: 128, mib: 31 },
  { rows: 16, longest: 64, mib: 28 },
];

describe('batchActivationBytes', () => {
  for (const { rows, longest, mib } of MEASURED_MIB) {
    it(`is within 30% of the measured ${mib} MiB for ${rows} x ${longest} tokens on ModernBERT-base`, () => {
      const estimated = batchActivationBytes(MODERNBERT_BASE, rows, longest) / MiB;
      assert.ok(estimated >= mib * 0.7 && estimated <= mib * 1.3, `estimated ${estimated.toFixed(1)} MiB, measured ${mib} MiB`);
    });
  }

  it('grows with the square of the length through attention, and halves in fp16', () => {
    const short = batchActivationBytes(MODERNBERT_BASE, 1, 1024);
    const long = batchActivationBytes(MODERNBERT_BASE, 1, 8192);
    assert.ok(long > 40 * short, 'eight times the length costs far more than eight times the memory');
    assert.equal(batchActivationBytes({ ...MODERNBERT_BASE, bytesPerValue: 2 }, 1, 1024), short / 2);
  });
});

describe('batchMemoryBudget', () => {
  const limits = { maxBatchTokens: 1024, maxBatchRequests: 32, maxInputTokens: 512, maxBatchMemoryBytes: undefined };

  it('defaults to the costliest batch the token budget lets through: two rows of 512 tokens at 1024', () => {
    assert.equal(batchMemoryBudget(MODERNBERT_BASE, limits), batchActivationBytes(MODERNBERT_BASE, 2, 512));
  });

  it('finds the costliest row count when the maximum length does not divide the token budget', () => {
    const budget = batchMemoryBudget(MODERNBERT_BASE, { ...limits, maxInputTokens: 400 });
    assert.equal(budget, batchActivationBytes(MODERNBERT_BASE, 3, 341), 'three rows of 341 cost more than two of 400');
  });

  it('takes an explicit budget, and refuses one that a single text of the maximum length exceeds', () => {
    assert.equal(batchMemoryBudget(MODERNBERT_BASE, { ...limits, maxBatchMemoryBytes: 500 * MiB }), 500 * MiB);
    assert.throws(
      () => batchMemoryBudget(MODERNBERT_BASE, { ...limits, maxInputTokens: 8192, maxBatchMemoryBytes: 512 * MiB }),
      /one text of the maximum 8192 tokens needs 6348\.0 MiB of activation memory, more than the batch memory budget of 512\.0 MiB/,
    );
  });
});

describe('readModelDimensions', () => {
  it("reads config.json's dimensions and the precision's bytes per value", async () => {
    const dims = await readModelDimensions(join(testModels, 'bert-tiny'), 'fp32');
    assert.deepEqual(dims, { hiddenSize: 64, intermediateSize: 128, attentionHeads: 4, bytesPerValue: 4 });
    assert.equal((await readModelDimensions(join(testModels, 'bert-tiny'), 'fp16')).bytesPerValue, 2);
  });

  it('names the dimensions config.json lacks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'embedbench-memory-'));
    try {
      await writeFile(join(dir, 'config.json'), JSON.stringify({ hidden_size: 64 }));
      await assert.rejects(readModelDimensions(dir, 'fp32'), /does not state the dimensions the memory budget needs: intermediate_size, num_attention_heads/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
