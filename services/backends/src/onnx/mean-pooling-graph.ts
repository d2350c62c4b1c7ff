import { open } from 'node:fs/promises';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** The output the onnx backend reads: one row per input, the mean of its real tokens' hidden states. */
export const MEAN_POOLED_OUTPUT = 'mean_pooled';

const MODEL_OPSET_IMPORT_FIELD = 8;
/** Room reserved after a model's bytes for the pooling fragment (which encodes to well under 1 KiB). */
const FRAGMENT_ROOM_BYTES = 4096;
const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/**
 * The model with one more output, `mean_pooled` [rows, hidden]: last_hidden_state averaged over
 * the attention mask, computed where the model runs. On a GPU only that small tensor is read back
 * (1/L of the hidden states), and no thread spends its time pooling. A protobuf parser merges a
 * message field that appears twice, concatenating repeated fields, so the pooling nodes are
 * appended as a second `graph` field instead of decoding and re-encoding the whole model.
 */
export function withMeanPoolingOutput(model: Uint8Array): Uint8Array {
  const fragment = meanPoolingFragment(defaultOpsetVersion(model));
  const merged = new Uint8Array(model.length + fragment.length);
  merged.set(model);
  merged.set(fragment, model.length);
  return merged;
}

/**
 * A model file read with its mean pooling appended, in one buffer: a model of several hundred MB
 * is held once, not read and then copied.
 */
export async function readModelWithMeanPooling(modelFile: string): Promise<Uint8Array> {
  const file = await open(modelFile, 'r');
  try {
    const { size } = await file.stat();
    const buffer = new Uint8Array(size + FRAGMENT_ROOM_BYTES);
    for (let offset = 0; offset < size; ) {
      const { bytesRead } = await file.read(buffer, offset, size - offset, offset);
      if (bytesRead === 0) throw new Error(`${modelFile} ended after ${offset} of ${size} bytes`);
      offset += bytesRead;
    }
    const fragment = meanPoolingFragment(defaultOpsetVersion(buffer.subarray(0, size)));
    buffer.set(fragment, size);
    return buffer.subarray(0, size + fragment.length);
  } finally {
    await file.close();
  }
}

/** The second `graph` field: the pooling nodes, their constants and the new output. */
function meanPoolingFragment(opsetVersion: number, hiddenOutput = 'last_hidden_state', maskInput = 'attention_mask'): Uint8Array {
  const axesAsInputs = opsetVersion >= 13;
  const axes = (name: string, value: number) => ({ name, dataType: onnx.TensorProto.DataType.INT64, dims: [1], int64Data: [value] });
  const reduceSum = (input: string, output: string, keepdims: number) =>
    axesAsInputs
      ? { opType: 'ReduceSum', input: [input, 'mean_pooled/sequence_axis'], output: [output], attribute: [intAttribute('keepdims', keepdims)] }
      : { opType: 'ReduceSum', input: [input], output: [output], attribute: [intsAttribute('axes', [1]), intAttribute('keepdims', keepdims)] };
  const fragment = onnx.ModelProto.encode({
    graph: {
      node: [
        { opType: 'Cast', input: [maskInput], output: ['mean_pooled/mask'], attribute: [intAttribute('to', onnx.TensorProto.DataType.FLOAT)] },
        { opType: 'Cast', input: [hiddenOutput], output: ['mean_pooled/hidden'], attribute: [intAttribute('to', onnx.TensorProto.DataType.FLOAT)] },
        axesAsInputs
          ? { opType: 'Unsqueeze', input: ['mean_pooled/mask', 'mean_pooled/last_axis'], output: ['mean_pooled/mask3'] }
          : { opType: 'Unsqueeze', input: ['mean_pooled/mask'], output: ['mean_pooled/mask3'], attribute: [intsAttribute('axes', [2])] },
        { opType: 'Mul', input: ['mean_pooled/hidden', 'mean_pooled/mask3'], output: ['mean_pooled/masked'] },
        reduceSum('mean_pooled/masked', 'mean_pooled/sum', 0),
        reduceSum('mean_pooled/mask', 'mean_pooled/count', 1),
        { opType: 'Div', input: ['mean_pooled/sum', 'mean_pooled/count'], output: [MEAN_POOLED_OUTPUT] },
      ].map((node, index) => ({ ...node, name: `mean_pooled/${index}` })),
      initializer: axesAsInputs ? [axes('mean_pooled/sequence_axis', 1), axes('mean_pooled/last_axis', 2)] : [],
      output: [
        {
          name: MEAN_POOLED_OUTPUT,
          type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimParam: 'hidden' }] } } },
        },
      ],
    },
  }).finish();
  if (fragment.length > FRAGMENT_ROOM_BYTES) throw new Error(`the mean pooling fragment is ${fragment.length} bytes, more than ${FRAGMENT_ROOM_BYTES}`);
  return fragment;
}

function intAttribute(name: string, value: number) {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}

function intsAttribute(name: string, values: number[]) {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: values };
}

/** The model's default-domain opset, read from its top-level fields without decoding the graph. */
export function defaultOpsetVersion(model: Uint8Array): number {
  let offset = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = model[offset++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  let version: number | undefined;
  while (offset < model.length) {
    const tag = varint();
    const wire = tag & 7;
    if (wire === WIRE_VARINT) varint();
    else if (wire === WIRE_FIXED64) offset += 8;
    else if (wire === WIRE_FIXED32) offset += 4;
    else if (wire === WIRE_LENGTH_DELIMITED) {
      const length = varint();
      if (tag >>> 3 === MODEL_OPSET_IMPORT_FIELD) {
        const opset = onnx.OperatorSetIdProto.decode(model.subarray(offset, offset + length));
        if ((opset.domain ?? '') === '' || opset.domain === 'ai.onnx') version = Number(opset.version);
      }
      offset += length;
    } else throw new Error(`not an ONNX model: unexpected protobuf wire type ${wire} at byte ${offset}`);
  }
  if (version === undefined) throw new Error('not an ONNX model: no default-domain opset_import');
  return version;
}
