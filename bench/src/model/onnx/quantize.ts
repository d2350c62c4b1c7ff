import { fromFloat16Bits, toFloat16Array, toFloat16Bits } from './float16.js';

/** A [K, N] matrix quantized symmetrically to int8 with one scale per output column. */
export interface QuantizedMatrix {
  values: Int8Array;
  scales: Float32Array;
}

export function quantizePerColumn(data: Float32Array, rows: number, columns: number): QuantizedMatrix {
  const maxAbs = new Float32Array(columns);
  for (let r = 0; r < rows; r++) {
    const offset = r * columns;
    for (let c = 0; c < columns; c++) maxAbs[c] = Math.max(maxAbs[c]!, Math.abs(data[offset + c]!));
  }
  const scales = maxAbs.map((m) => (m > 0 ? m / 127 : 1));
  const values = new Int8Array(data.length);
  for (let r = 0; r < rows; r++) {
    const offset = r * columns;
    for (let c = 0; c < columns; c++) values[offset + c] = Math.round(data[offset + c]! / scales[c]!);
  }
  return { values, scales };
}

export const NBITS_BLOCK_SIZE = 32;

/** A [K, N] weight as onnxruntime's MatMulNBits (com.microsoft) takes it, with the node's attributes. */
export interface NBitsWeight {
  /** [N, K / 32, 32]: each column in blocks along K, 8-bit values + 128 (the default zero point). */
  readonly values: Uint8Array;
  readonly valueDims: number[];
  /** float16 bytes, one symmetric scale per block, column by column. */
  readonly float16Scales: Uint8Array;
  readonly scaleDims: number[];
  readonly attributes: Record<'K' | 'N' | 'bits' | 'block_size' | 'accuracy_level', number>;
}

/**
 * Quantizes a [K, N] matrix to 8 bits in blocks of 32 rows of one column. accuracy_level 4 lets
 * onnxruntime quantize the activations to int8 as well, which selects its integer dot-product
 * (DP4A) kernels on WebGPU. K must be a multiple of the block size.
 */
export function nbitsWeight(data: Float32Array, rows: number, columns: number): NBitsWeight {
  if (rows % NBITS_BLOCK_SIZE !== 0) throw new Error(`cannot block-quantize ${rows} rows in blocks of ${NBITS_BLOCK_SIZE}`);
  const blocksPerColumn = rows / NBITS_BLOCK_SIZE;
  const values = new Uint8Array(rows * columns);
  const scales = new Float32Array(columns * blocksPerColumn);
  for (let c = 0; c < columns; c++) {
    for (let b = 0; b < blocksPerColumn; b++) {
      const firstRow = b * NBITS_BLOCK_SIZE;
      let maxAbs = 0;
      for (let r = firstRow; r < firstRow + NBITS_BLOCK_SIZE; r++) maxAbs = Math.max(maxAbs, Math.abs(data[r * columns + c]!));
      // The scale is stored as float16, so quantize with the value the kernel will read back.
      const scale = fromFloat16Bits(toFloat16Bits(maxAbs > 0 ? maxAbs / 127 : 1));
      const block = c * blocksPerColumn + b;
      scales[block] = scale;
      for (let i = 0; i < NBITS_BLOCK_SIZE; i++) {
        const value = Math.round(data[(firstRow + i) * columns + c]! / scale);
        values[block * NBITS_BLOCK_SIZE + i] = Math.max(-127, Math.min(127, value)) + 128;
      }
    }
  }
  const toScales = toFloat16Array(scales);
  return {
    values,
    valueDims: [columns, blocksPerColumn, NBITS_BLOCK_SIZE],
    float16Scales: new Uint8Array(toScales.buffer, toScales.byteOffset, toScales.byteLength),
    scaleDims: [columns * blocksPerColumn],
    attributes: { K: rows, N: columns, bits: 8, block_size: NBITS_BLOCK_SIZE, accuracy_level: 4 },
  };
}
