import { decodeFromCompressedBase64, encodeIntoCompressedBase64, Int32Histogram, type JsHistogram } from 'hdr-histogram-js';
import type { LatencyDistribution } from '@embedbench/loadtest/percentiles';
import type { EncodedLatencies } from '../result-files/schemas.js';

/**
 * Latencies in an HDR histogram (hdr-histogram-js, pure-JS build), in integer microseconds with 5
 * significant digits: exact below 262.144 ms and within 0.001% above. Percentiles are taken
 * through the k6 definition in loadtest/lib/percentiles.ts by answering `valueAtRank`; count, sum,
 * min and max are kept exactly beside the histogram.
 *
 * Dense 32-bit counts: a few MB for latencies up to tens of seconds, and one pass over them takes
 * ~15 ms, against seconds for the packed layout (measured on 100k samples up to 1.5 s).
 */
export class LatencyRecorder implements LatencyDistribution {
  private readonly histogram = new Int32Histogram(1, 2, 5);
  private ranked: { values: Float64Array; cumulative: Float64Array } | null = null;
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = 0;

  constructor() {
    this.histogram.autoResize = true;
  }

  record(milliseconds: number): void {
    const microseconds = Math.round(Math.max(0, milliseconds) * 1000);
    this.histogram.recordValue(microseconds);
    this.ranked = null;
    this.count++;
    this.sum += microseconds / 1000;
    this.min = Math.min(this.min, microseconds / 1000);
    this.max = Math.max(this.max, microseconds / 1000);
  }

  /** Adds another recorder's samples: percentiles are then those of all the requests together. */
  add(other: LatencyRecorder): void {
    if (other.count === 0) return;
    this.histogram.add(other.histogram);
    this.ranked = null;
    this.count += other.count;
    this.sum += other.sum;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
  }

  /** The histogram in hdr-histogram-js's compressed base64 form, with the exact count, sum, min and max. */
  encode(): EncodedLatencies {
    return { histogram: encodeIntoCompressedBase64(this.histogram), count: this.count, sumMs: this.sum, minMs: this.count === 0 ? 0 : this.min, maxMs: this.max };
  }

  static decode(encoded: EncodedLatencies): LatencyRecorder {
    const recorder = new LatencyRecorder();
    if (encoded.count === 0) return recorder;
    // The pure-JS decoder (useWebAssembly false) returns a JsHistogram.
    recorder.histogram.add(decodeFromCompressedBase64(encoded.histogram, 32, false) as JsHistogram);
    recorder.count = encoded.count;
    recorder.sum = encoded.sumMs;
    recorder.min = encoded.minMs;
    recorder.max = encoded.maxMs;
    return recorder;
  }

  valueAtRank(rank: number): number {
    if (!(rank >= 0 && rank < this.count)) throw new RangeError(`rank ${rank} outside 0..${this.count - 1}`);
    const { values, cumulative } = this.rankTable();
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((cumulative[middle] as number) > rank) high = middle;
      else low = middle + 1;
    }
    return (values[low] as number) / 1000;
  }

  /** The occupied buckets in ascending order with running counts, rebuilt after new samples. */
  private rankTable(): { values: Float64Array; cumulative: Float64Array } {
    if (this.ranked) return this.ranked;
    const values: number[] = [];
    const cumulative: number[] = [];
    let seen = 0;
    for (let index = 0; index < this.histogram.countsArrayLength; index++) {
      const count = this.histogram.getCountAtIndex(index);
      if (count === 0) continue;
      seen += count;
      values.push(this.histogram.medianEquivalentValue(this.histogram.valueFromIndex(index)));
      cumulative.push(seen);
    }
    this.ranked = { values: Float64Array.from(values), cumulative: Float64Array.from(cumulative) };
    return this.ranked;
  }
}
