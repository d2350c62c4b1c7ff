import { open } from 'node:fs/promises';
import { valueInfo, type GraphBuilder, type GraphValueInfo } from './graph-builder.js';
import { onnx } from './proto.js';

export const IR_VERSION = 8;
export const OPSET_VERSION = 17;

// Field numbers from onnx.proto, tagged as length-delimited (wire type 2).
const MODEL_GRAPH_TAG = (7 << 3) | 2;
const GRAPH_INITIALIZER_TAG = (5 << 3) | 2;
const TENSOR_RAW_DATA_TAG = (9 << 3) | 2;

export interface OnnxModelDescription {
  graph: GraphBuilder;
  inputs: GraphValueInfo[];
  outputs: GraphValueInfo[];
  docString: string;
}

/**
 * Writes the model as protobuf without ever holding the whole file in memory: protobufjs encodes
 * the small parts (model header, graph without initializers, tensor headers) and each weight's
 * bytes are written straight from its typed array as the tensor's raw_data field. Protobuf permits
 * fields in any order, so the output parses exactly like a fully encoded ModelProto.
 * Returns the file size in bytes.
 */
export async function writeOnnxModel(path: string, model: OnnxModelDescription): Promise<number> {
  const header = onnx.ModelProto.encode({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET_VERSION }, ...[...model.graph.domains].map((domain) => ({ domain, version: 1 }))],
    producerName: 'embedbench',
    docString: model.docString,
  }).finish();
  const graphWithoutWeights = onnx.GraphProto.encode({
    name: model.graph.name,
    node: model.graph.nodes,
    input: model.inputs.map(valueInfo),
    output: model.outputs.map(valueInfo),
  }).finish();

  const tensors = model.graph.initializers.map((initializer) => {
    const tensorHeader = onnx.TensorProto.encode({ name: initializer.name, dims: initializer.dims, dataType: initializer.dataType }).finish();
    const rawPrefix = Uint8Array.from([TENSOR_RAW_DATA_TAG, ...varint(initializer.bytes.length)]);
    const length = tensorHeader.length + rawPrefix.length + initializer.bytes.length;
    return { parts: [Uint8Array.from([GRAPH_INITIALIZER_TAG, ...varint(length)]), tensorHeader, rawPrefix, initializer.bytes] };
  });
  const graphLength = tensors.reduce((sum, t) => sum + t.parts.reduce((s, p) => s + p.length, 0), graphWithoutWeights.length);

  const file = await open(path, 'w');
  try {
    await file.writev([header, Uint8Array.from([MODEL_GRAPH_TAG, ...varint(graphLength)]), graphWithoutWeights]);
    for (const tensor of tensors) await file.writev(tensor.parts);
    return header.length + 1 + varint(graphLength).length + graphLength;
  } finally {
    await file.close();
  }
}

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return bytes;
}
