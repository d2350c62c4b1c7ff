/**
 * Dynamic int8 quantization of a float32 ONNX graph, as onnxruntime's quantize_dynamic does for
 * MatMul: each MatMul whose second input is a 2-D float32 weight becomes
 *   DynamicQuantizeLinear(activation) -> MatMulInteger(uint8 activation, int8 weight) -> Cast -> Mul
 * with one symmetric scale per weight column (the pattern `model synth` writes, which onnxruntime
 * fuses into MatMulIntegerToFloat). Everything else stays float32: the embedding Gathers, the
 * normalizations, softmax and attention's activation x activation MatMuls, which matter for parity
 * and cost little time. Weights kept in external data are read, and the result keeps every
 * tensor inline (int8 weights are a quarter of the float32 size).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../fs/atomic.js';
import { bytesOf } from './graph-builder.js';
import { onnx, type OnnxTypes } from './proto.js';
import { quantizePerColumn } from './quantize.js';

const { FLOAT, INT8 } = onnx.TensorProto.DataType;
/** Protobuf's limit on one serialized message. */
const MAX_MODEL_BYTES = 2 ** 31 - 1;

export interface QuantizedGraph {
  /** MatMuls turned into MatMulInteger. */
  readonly quantizedMatMuls: number;
  /** MatMuls left in float32 (no constant 2-D weight). */
  readonly floatMatMuls: number;
  readonly bytes: number;
}

/** Writes the dynamic-int8 version of the float32 model at `source` to `destination`. */
export async function quantizeModelFile(source: string, destination: string): Promise<QuantizedGraph> {
  const model = onnx.ModelProto.decode(await readFile(source));
  const graph = model.graph;
  if (!graph) throw new Error(`${source} has no graph`);
  await inlineExternalData(graph, dirname(source));
  const counts = quantizeWeightMatMuls(graph);
  if (counts.quantizedMatMuls === 0) throw new Error(`${source} has no MatMul with a constant float32 weight to quantize`);
  const bytes = onnx.ModelProto.encode(model).finish();
  if (bytes.length > MAX_MODEL_BYTES) throw new Error(`the quantized model would be ${bytes.length} bytes, over protobuf's 2 GiB limit`);
  await writeFileAtomic(destination, bytes);
  return { ...counts, bytes: bytes.length };
}

function quantizeWeightMatMuls(graph: OnnxTypes.IGraphProto): Omit<QuantizedGraph, 'bytes'> {
  const initializers = new Map((graph.initializer ?? []).map((tensor) => [tensor.name ?? '', tensor]));
  const quantizedWeights = new Map<string, { values: string; scale: string; zeroPoint: string }>();
  const nodes: OnnxTypes.INodeProto[] = [];
  let quantizedMatMuls = 0;
  let floatMatMuls = 0;
  for (const node of graph.node ?? []) {
    const [activation, weightName] = node.input ?? [];
    const weight = weightName === undefined ? undefined : initializers.get(weightName);
    if (node.opType !== 'MatMul' || activation === undefined || weight === undefined || weight.dataType !== FLOAT || weight.dims?.length !== 2) {
      if (node.opType === 'MatMul') floatMatMuls++;
      nodes.push(node);
      continue;
    }
    let quantized = quantizedWeights.get(weightName!);
    if (quantized === undefined) {
      const [rows, columns] = weight.dims.map((dim) => (typeof dim === 'number' ? dim : dim.toNumber())) as [number, number];
      const { values, scales } = quantizePerColumn(floatValues(weight), rows, columns);
      quantized = { values: `${weightName}_quantized`, scale: `${weightName}_scale`, zeroPoint: `${weightName}_zero_point` };
      graph.initializer!.push(
        { name: quantized.values, dataType: INT8, dims: [rows, columns], rawData: bytesOf(values) },
        { name: quantized.scale, dataType: FLOAT, dims: [columns], rawData: bytesOf(scales) },
        { name: quantized.zeroPoint, dataType: INT8, dims: [columns], rawData: new Uint8Array(columns) },
      );
      quantizedWeights.set(weightName!, quantized);
    }
    const prefix = `${node.name || node.output![0]}_int8`;
    const name = (suffix: string) => `${prefix}/${suffix}`;
    nodes.push(
      { name: name('quantize'), opType: 'DynamicQuantizeLinear', input: [activation], output: [name('x'), name('x_scale'), name('x_zero_point')] },
      { name: name('matmul'), opType: 'MatMulInteger', input: [name('x'), quantized.values, name('x_zero_point'), quantized.zeroPoint], output: [name('product')] },
      { name: name('cast'), opType: 'Cast', input: [name('product')], output: [name('product_float')], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }] },
      { name: name('scales'), opType: 'Mul', input: [name('x_scale'), quantized.scale], output: [name('scale')] },
      { name: name('rescale'), opType: 'Mul', input: [name('product_float'), name('scale')], output: node.output ?? [] },
    );
    quantizedMatMuls++;
  }
  graph.node = nodes;
  const used = new Set(nodes.flatMap((node) => node.input ?? []));
  graph.initializer = (graph.initializer ?? []).filter((tensor) => used.has(tensor.name ?? '') || !quantizedWeights.has(tensor.name ?? ''));
  graph.input = (graph.input ?? []).filter((input) => used.has(input.name ?? '') || !quantizedWeights.has(input.name ?? ''));
  return { quantizedMatMuls, floatMatMuls };
}

function floatValues(tensor: OnnxTypes.ITensorProto): Float32Array {
  if (tensor.rawData && tensor.rawData.length > 0) {
    const copy = Uint8Array.from(tensor.rawData);
    return new Float32Array(copy.buffer, 0, copy.length / 4);
  }
  return Float32Array.from(tensor.floatData ?? []);
}

/** Reads every initializer kept in external data into the model itself. */
async function inlineExternalData(graph: OnnxTypes.IGraphProto, folder: string): Promise<void> {
  const files = new Map<string, Buffer>();
  for (const tensor of graph.initializer ?? []) {
    if (tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const entry = (key: string) => tensor.externalData?.find((item) => item.key === key)?.value;
    const location = entry('location');
    if (!location) throw new Error(`initializer ${tensor.name} is external but names no file`);
    if (!files.has(location)) files.set(location, await readFile(join(folder, location)));
    const data = files.get(location)!;
    const offset = Number(entry('offset') ?? 0);
    const length = Number(entry('length') ?? data.length - offset);
    tensor.rawData = data.subarray(offset, offset + length);
    tensor.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
    tensor.externalData = [];
  }
}
