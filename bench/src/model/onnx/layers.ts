import { toFloat16Array } from './float16.js';
import { bytesOf, type GraphBuilder } from './graph-builder.js';
import { onnx } from './proto.js';
import { nbitsWeight, quantizePerColumn } from './quantize.js';
import type { WeightTensor, Weights } from './weights.js';

const DataType = onnx.TensorProto.DataType;

/**
 * fp32: float32 throughout. fp16: float16 weights and compute. q8: float32 with int8 MatMul
 * weights (MatMulInteger, for CPUs). q8f16: float16 compute with 8-bit block-quantized MatMul
 * weights (MatMulNBits, whose prefill kernels onnxruntime's WebGPU provider optimizes).
 */
export const PRECISIONS = ['fp32', 'fp16', 'q8', 'q8f16'] as const;
export type Precision = (typeof PRECISIONS)[number];

const FLOAT16_MIN = -65504;
const FLOAT32_MIN = -3.4028234663852886e38;

/** Transformer building blocks emitted at one precision over one set of named weights. */
export class EncoderLayers {
  readonly computeType: number;

  constructor(
    readonly g: GraphBuilder,
    private readonly weights: Weights,
    readonly precision: Precision,
  ) {
    this.computeType = precision === 'fp16' || precision === 'q8f16' ? DataType.FLOAT16 : DataType.FLOAT;
  }

  private get float16(): boolean {
    return this.computeType === DataType.FLOAT16;
  }

  /** The named weight as an initializer in the compute type. */
  weight(name: string): string {
    const tensor = this.tensor(name);
    return this.g.addInitializer({
      name,
      dataType: this.computeType,
      dims: tensor.dims,
      bytes: bytesOf(this.float16 ? toFloat16Array(tensor.data) : tensor.data),
    });
  }

  /** x @ W (+ b) with W stored [in, out]; in q8 the product runs as MatMulInteger, in q8f16 as MatMulNBits. */
  linear(x: string, weightName: string, biasName?: string): string {
    const product =
      this.precision === 'q8'
        ? this.quantizedMatMul(x, weightName)
        : this.precision === 'q8f16'
          ? this.blockQuantizedMatMul(x, weightName)
          : this.g.op('MatMul', [x, this.weight(weightName)]);
    return biasName === undefined ? product : this.g.op('Add', [product, this.weight(biasName)]);
  }

  layerNorm(x: string, scaleName: string, biasName: string | undefined, epsilon: number): string {
    const inputs = [x, this.weight(scaleName)];
    if (biasName !== undefined) inputs.push(this.weight(biasName));
    return this.g.op('LayerNormalization', inputs, { axis: -1, epsilon: { float: epsilon } });
  }

  /** Exact (erf) GELU, as HF's "gelu"; ORT fuses this pattern into one Gelu kernel. */
  gelu(x: string): string {
    const erf = this.g.op('Erf', [this.g.op('Mul', [x, this.scalar(Math.SQRT1_2)])]);
    const halfX = this.g.op('Mul', [x, this.scalar(0.5)]);
    return this.g.op('Mul', [halfX, this.g.op('Add', [erf, this.scalar(1)])]);
  }

  /** Additive attention bias: 0 where `allowed` (bool) is true, the compute type's lowest value elsewhere. */
  maskBias(allowed: string): string {
    const lowest = this.float16 ? FLOAT16_MIN : FLOAT32_MIN;
    return this.g.op('Where', [allowed, this.scalar(0), this.scalar(lowest)]);
  }

  /**
   * Scaled dot-product attention over [batch, seq, hidden] projections split into heads,
   * returning [batch, seq, hidden] before the output projection. `rotate` applies rotary
   * embeddings to [batch, heads, seq, headDim] queries and keys.
   */
  attention(
    query: string,
    key: string,
    value: string,
    heads: number,
    headDim: number,
    bias: string,
    rotate: (x: string) => string = (x) => x,
  ): string {
    const toHeads = (x: string) => this.g.op('Transpose', [this.g.op('Reshape', [x, this.g.int64s([0, 0, heads, headDim])])], { perm: [0, 2, 1, 3] });
    const q = this.g.op('Mul', [rotate(toHeads(query)), this.scalar(1 / Math.sqrt(headDim))]);
    const kT = this.g.op('Transpose', [rotate(toHeads(key))], { perm: [0, 1, 3, 2] });
    const scores = this.g.op('Add', [this.g.op('MatMul', [q, kT]), bias]);
    const context = this.g.op('MatMul', [this.g.op('Softmax', [scores], { axis: -1 }), toHeads(value)]);
    const merged = this.g.op('Transpose', [context], { perm: [0, 2, 1, 3] });
    return this.g.op('Reshape', [merged, this.g.int64s([0, 0, heads * headDim])]);
  }

  scalar(value: number): string {
    return this.g.constant(this.computeType, [], [value]);
  }

  /** Casts a float32 value computed at full precision (rotary tables) to the compute type. */
  fromFloat32(x: string): string {
    return this.float16 ? this.g.op('Cast', [x], { to: DataType.FLOAT16 }) : x;
  }

  /** The graph output, always float32 (as transformers.js' own fp16 conversions keep I/O types). */
  toFloat32(x: string, outputName: string): string {
    return this.g.op(this.float16 ? 'Cast' : 'Identity', [x], this.float16 ? { to: DataType.FLOAT } : {}, outputName);
  }

  private quantizedMatMul(x: string, weightName: string): string {
    const tensor = this.tensor(weightName);
    const [rows, columns] = tensor.dims as [number, number];
    const { values, scales } = quantizePerColumn(tensor.data, rows, columns);
    const quantized = this.g.addInitializer({ name: `${weightName}_quantized`, dataType: DataType.INT8, dims: [rows, columns], bytes: bytesOf(values) });
    const scale = this.g.addInitializer({ name: `${weightName}_scale`, dataType: DataType.FLOAT, dims: [columns], bytes: bytesOf(scales) });
    const zeroPoint = this.g.addInitializer({ name: `${weightName}_zero_point`, dataType: DataType.INT8, dims: [columns], bytes: new Uint8Array(columns) });
    const [xQuantized, xScale, xZeroPoint] = this.g.opMulti('DynamicQuantizeLinear', [x], 3) as [string, string, string];
    const integerProduct = this.g.op('MatMulInteger', [xQuantized, quantized, xZeroPoint, zeroPoint]);
    const product = this.g.op('Cast', [integerProduct], { to: DataType.FLOAT });
    return this.g.op('Mul', [product, this.g.op('Mul', [xScale, scale])]);
  }

  private blockQuantizedMatMul(x: string, weightName: string): string {
    const tensor = this.tensor(weightName);
    const [rows, columns] = tensor.dims as [number, number];
    const weight = nbitsWeight(tensor.data, rows, columns);
    const values = this.g.addInitializer({ name: `${weightName}_q8`, dataType: DataType.UINT8, dims: weight.valueDims, bytes: weight.values });
    const scales = this.g.addInitializer({ name: `${weightName}_scale`, dataType: DataType.FLOAT16, dims: weight.scaleDims, bytes: weight.float16Scales });
    return this.g.contribOp('MatMulNBits', [x, values, scales], weight.attributes);
  }

  private tensor(name: string): WeightTensor {
    const tensor = this.weights.get(name);
    if (tensor === undefined) throw new Error(`no weight named ${name}`);
    return tensor;
  }
}
