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
