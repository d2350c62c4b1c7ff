import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureHiddenStateOutput, exposeLastHiddenState, HIDDEN_STATE_OUTPUT } from '../src/model/graph-edit.js';
import { onnx } from '../src/model/onnx/proto.js';
import { FINAL_NORM_TENSOR, maxAbsDifference, runModel, writeLogitsModel, type LogitsModelOptions } from './fetch-logits-model.js';

const shape = { hiddenSize: 16, vocabSize: 40 };
const inputIds = [
  [1, 5, 9, 33, 2],
  [1, 39, 0, 7, 2],
];
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'graph-edit-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function assertEditExposesFinalNorm(name: string, options: Omit<LogitsModelOptions, 'hiddenSize' | 'vocabSize'>): Promise<void> {
  await writeLogitsModel(dir, `${name}-reference.onnx`, { ...shape, ...options, withReferenceOutput: true });
  await writeLogitsModel(dir, `${name}.onnx`, { ...shape, ...options });
  const edit = await ensureHiddenStateOutput(join(dir, `${name}.onnx`), { hiddenSize: shape.hiddenSize });
  assert.equal(edit.changed, true);
  assert.equal(edit.hiddenStateTensor, FINAL_NORM_TENSOR);
  assert.deepEqual(edit.removedOutputs, ['logits']);
  assert.ok(edit.removedNodes >= 4, `removed ${edit.removedNodes} head nodes`);

  const edited = await runModel(join(dir, `${name}.onnx`), inputIds);
  const reference = await runModel(join(dir, `${name}-reference.onnx`), inputIds);
  assert.deepEqual(Object.keys(edited), [HIDDEN_STATE_OUTPUT]);
  assert.deepEqual(edited[HIDDEN_STATE_OUTPUT]?.dims, [2, 5, shape.hiddenSize]);
  const expected = reference[FINAL_NORM_TENSOR]?.data;
  assert.ok(expected);
  assert.ok(maxAbsDifference(edited[HIDDEN_STATE_OUTPUT]!.data, expected) <= 1e-5);
  // The logits really differ from the hidden state: an edit that kept them would fail above.
  assert.notDeepEqual(reference.logits?.dims, edited[HIDDEN_STATE_OUTPUT]?.dims);
}

describe('exposeLastHiddenState', () => {
  it('exposes final_norm of a float32 logits-only model, keeping external data references', async () => {
    await assertEditExposesFinalNorm('fp32', { externalDecoderWeight: true });
  });

  it('exposes final_norm of a dynamically quantized (MatMulInteger) head', async () => {
    await assertEditExposesFinalNorm('q8', { quantized: true });
  });

  it('exposes the 3-D final_norm of a Gemm head on flattened input with a tied decoder', async () => {
    await assertEditExposesFinalNorm('gemm', { gemmHead: true });
  });

  it('prunes the head weights and declares [batch, seq, hidden]', async () => {
    await writeLogitsModel(dir, 'prune.onnx', shape);
    const model = onnx.ModelProto.decode(await readFile(join(dir, 'prune.onnx')));
    exposeLastHiddenState(model);
    const initializerNames = (model.graph?.initializer ?? []).map((tensor) => tensor.name ?? '');
    assert.ok(!initializerNames.some((name) => name.startsWith('head.') || name.startsWith('decoder.')));
    assert.ok(initializerNames.includes('final_norm.weight'));
    const dims = model.graph?.output?.[0]?.type?.tensorType?.shape?.dim?.map((dim) => dim.dimParam || Number(dim.dimValue));
    assert.deepEqual(dims, ['batch_size', 'sequence_length', 16]);
  });

  it('leaves a model that already outputs last_hidden_state untouched', async () => {
    await writeLogitsModel(dir, 'done.onnx', shape);
    const model = onnx.ModelProto.decode(await readFile(join(dir, 'done.onnx')));
    exposeLastHiddenState(model);
    const bytes = onnx.ModelProto.encode(model).finish();
    const again = onnx.ModelProto.decode(bytes);
    assert.deepEqual(exposeLastHiddenState(again), { changed: false, removedOutputs: [], removedNodes: 0 });
    assert.deepEqual(onnx.ModelProto.encode(again).finish(), bytes);
  });

  it('refuses a model whose logits come straight from the encoder (no MLM head to walk back through)', async () => {
    await writeLogitsModel(dir, 'headless.onnx', { ...shape, withoutHead: true });
    const before = await readFile(join(dir, 'headless.onnx'));
    await assert.rejects(ensureHiddenStateOutput(join(dir, 'headless.onnx')), /headless\.onnx has no last_hidden_state output and cannot be given one/);
    assert.deepEqual(await readFile(join(dir, 'headless.onnx')), before);
  });

  it('refuses a decoder whose input width is not hidden_size', async () => {
    await writeLogitsModel(dir, 'wide.onnx', shape);
    const model = onnx.ModelProto.decode(await readFile(join(dir, 'wide.onnx')));
    assert.throws(() => exposeLastHiddenState(model, { hiddenSize: 768 }), /takes 16 features, not hidden_size 768/);
  });
});
