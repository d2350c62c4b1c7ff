import { toFloat16Array } from './float16.js';
import { onnx, type OnnxTypes } from './proto.js';

const DataType = onnx.TensorProto.DataType;
export const CONTRIB_DOMAIN = 'com.microsoft';
const AttributeType = onnx.AttributeProto.AttributeType;

/** Integers, integer lists, strings, or `{ float }` for float attributes (so 1.0 stays a float). */
export type AttributeValue = number | number[] | string | { float: number };

/** A constant tensor whose bytes are written as raw_data, never copied into protobuf objects. */
export interface Initializer {
  name: string;
  dataType: OnnxTypes.TensorProto.DataType;
  dims: number[];
  bytes: Uint8Array;
}

export interface GraphValueInfo {
  name: string;
  elemType: OnnxTypes.TensorProto.DataType;
  /** Symbolic names for dynamic axes, numbers for fixed ones. */
  shape: Array<string | number>;
}

/**
 * Accumulates nodes and initializers of one ONNX graph. Node outputs get unique names from the
 * node's name, so architecture code reads like a forward pass: `const y = g.op('MatMul', [x, w])`.
 */
export class GraphBuilder {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly initializers: Initializer[] = [];
  /** Operator domains other than ONNX's own that the nodes use, for the model's opset imports. */
  readonly domains = new Set<string>();
  private readonly usedNames = new Set<string>();
  private readonly constantsByKey = new Map<string, string>();

  constructor(readonly name: string) {}

  /** Adds a node with one output and returns the output name. */
  op(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, outputName?: string): string {
    return this.opMulti(opType, inputs, 1, attributes, outputName)[0]!;
  }

  /** Adds a node of onnxruntime's com.microsoft domain (contrib operators) with one output. */
  contribOp(opType: string, inputs: string[], attributes: Record<string, AttributeValue>): string {
    this.domains.add(CONTRIB_DOMAIN);
    const [output] = this.opMulti(opType, inputs, 1, attributes);
    this.nodes.at(-1)!.domain = CONTRIB_DOMAIN;
    return output!;
  }

  /** Adds a node with `outputCount` outputs. */
  opMulti(
    opType: string,
    inputs: string[],
    outputCount: number,
    attributes: Record<string, AttributeValue> = {},
    outputName?: string,
  ): string[] {
    const nodeName = this.uniqueName(outputName ?? `/${opType}`);
    const outputs = Array.from({ length: outputCount }, (_, i) =>
      outputCount === 1 && outputName !== undefined ? nodeName : `${nodeName}_output_${i}`,
    );
    this.nodes.push({
      name: nodeName,
      opType,
      input: inputs,
      output: outputs,
      attribute: Object.entries(attributes).map(([name, value]) => toAttribute(name, value)),
    });
    return outputs;
  }

  addInitializer(initializer: Initializer): string {
    if (this.usedNames.has(initializer.name)) throw new Error(`duplicate ONNX tensor name ${initializer.name}`);
    this.usedNames.add(initializer.name);
    this.initializers.push(initializer);
    return initializer.name;
  }

  /** A small constant, shared by every use of the same value and type. */
  constant(dataType: OnnxTypes.TensorProto.DataType, dims: number[], values: ArrayLike<number | bigint>): string {
    const key = `${dataType}|${dims.join(',')}|${Array.from(values, String).join(',')}`;
    const existing = this.constantsByKey.get(key);
    if (existing !== undefined) return existing;
    const name = `const_${this.constantsByKey.size}`;
    this.addInitializer({ name, dataType, dims, bytes: encodeValues(dataType, values) });
    this.constantsByKey.set(key, name);
    return name;
  }

  int64s(values: number[]): string {
    return this.constant(DataType.INT64, [values.length], values.map((v) => BigInt(v)));
  }

  int64Scalar(value: number): string {
    return this.constant(DataType.INT64, [], [BigInt(value)]);
  }


  private uniqueName(base: string): string {
    let name = base;
    for (let n = 1; this.usedNames.has(name); n++) name = `${base}_${n}`;
    this.usedNames.add(name);
    return name;
  }
}

export function valueInfo(info: GraphValueInfo): OnnxTypes.IValueInfoProto {
  return {
    name: info.name,
    type: {
      tensorType: {
        elemType: info.elemType,
        shape: { dim: info.shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

function toAttribute(name: string, value: AttributeValue): OnnxTypes.IAttributeProto {
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  if (typeof value === 'number') return { name, type: AttributeType.INT, i: value };
  return { name, type: AttributeType.FLOAT, f: value.float };
}

export function encodeValues(dataType: OnnxTypes.TensorProto.DataType, values: ArrayLike<number | bigint>): Uint8Array {
  switch (dataType) {
    case DataType.FLOAT:
      return bytesOf(Float32Array.from(values as ArrayLike<number>));
    case DataType.FLOAT16:
      return bytesOf(toFloat16Array(Float32Array.from(values as ArrayLike<number>)));
    case DataType.INT64:
      return bytesOf(BigInt64Array.from(values as ArrayLike<bigint>));
    default:
      throw new Error(`encodeValues: unsupported data type ${dataType}`);
  }
}

export function bytesOf(array: ArrayBufferView): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}
