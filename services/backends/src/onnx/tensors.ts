/** Right-padded token ids and attention mask of one batch, row-major [rows, sequenceLength]. */
export interface PaddedBatch {
  readonly rows: number;
  readonly sequenceLength: number;
  readonly inputIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
  /** Real (unpadded) token count per row. */
  readonly lengths: Int32Array;
}

export function padBatch(rows: readonly Int32Array[], padId: number): PaddedBatch {
  const lengths = Int32Array.from(rows, (row) => row.length);
  if (rows.length === 0 || lengths.some((length) => length === 0)) {
    throw new Error('cannot run an empty batch or an empty row');
  }
  const sequenceLength = Math.max(...lengths);
  const inputIds = new BigInt64Array(rows.length * sequenceLength).fill(BigInt(padId));
  const attentionMask = new BigInt64Array(rows.length * sequenceLength);
  rows.forEach((row, r) => {
    const offset = r * sequenceLength;
    for (let t = 0; t < row.length; t++) {
      inputIds[offset + t] = BigInt(row[t]!);
      attentionMask[offset + t] = 1n;
    }
  });
  return { rows: rows.length, sequenceLength, inputIds, attentionMask, lengths };
}

let halfTable: Float32Array | undefined;

/** float32 value of every IEEE 754 half-precision bit pattern (ORT hands float16 data as Uint16Array). */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const fraction = bits & 0x3ff;
    if (exponent === 0) halfTable[bits] = sign * 2 ** -14 * (fraction / 1024);
    else if (exponent === 0x1f) halfTable[bits] = fraction ? NaN : sign * Infinity;
    else halfTable[bits] = sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
  }
  return halfTable;
}

/**
 * Mean of each row's hidden states over its real tokens. `hidden` is [rows, sequenceLength,
 * hiddenSize], float32 or float16 bits; the result is one contiguous [rows, hiddenSize] buffer.
 */
export function meanPool(
  hidden: Float32Array | Uint16Array,
  lengths: Int32Array,
  sequenceLength: number,
  hiddenSize: number,
): Float32Array {
  const table = hidden instanceof Uint16Array ? halfToFloatTable() : undefined;
  const pooled = new Float32Array(lengths.length * hiddenSize);
  const sums = new Float64Array(hiddenSize);
  for (let r = 0; r < lengths.length; r++) {
    sums.fill(0);
    const length = lengths[r]!;
    for (let t = 0; t < length; t++) {
      const base = (r * sequenceLength + t) * hiddenSize;
      if (table) for (let h = 0; h < hiddenSize; h++) sums[h]! += table[hidden[base + h]!]!;
      else for (let h = 0; h < hiddenSize; h++) sums[h]! += hidden[base + h]!;
    }
    for (let h = 0; h < hiddenSize; h++) pooled[r * hiddenSize + h] = sums[h]! / length;
  }
  return pooled;
}
