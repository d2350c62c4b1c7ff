/**
 * Percentiles as k6 computes them for a Trend (k6's TrendSink.P): sort the samples, take the
 * fractional rank `p * (count - 1)` and interpolate linearly between its two neighbours.
 * The built-in driver computes its percentiles through this same function, over an HDR histogram
 * that answers `valueAtRank`, so both drivers agree on the definition, not only on the name.
 */

/** Samples that can answer "which value has 0-based ascending rank r". */
export interface LatencyDistribution {
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  valueAtRank(rank: number): number;
}

/** Latency summary in milliseconds; the fields every result reports. */
export interface LatencyStats {
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

/** `percent` in [0, 100]. Returns 0 for an empty distribution, as k6 does. */
export function percentile(samples: LatencyDistribution, percent: number): number {
  if (!(percent >= 0 && percent <= 100)) throw new RangeError(`percentile must be within 0..100, got ${percent}`);
  if (samples.count === 0) return 0;
  if (samples.count === 1) return samples.valueAtRank(0);
  const rank = (percent / 100) * (samples.count - 1);
  const below = samples.valueAtRank(Math.floor(rank));
  const above = samples.valueAtRank(Math.ceil(rank));
  return below + (above - below) * (rank - Math.floor(rank));
}

export function latencyStats(samples: LatencyDistribution): LatencyStats | null {
  if (samples.count === 0) return null;
  return {
    min: samples.min,
    mean: samples.sum / samples.count,
    p50: percentile(samples, 50),
    p90: percentile(samples, 90),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    max: samples.max,
  };
}

/** An exact distribution over an in-memory list of samples (the reference the HDR path must match). */
export function sortedSamples(values: readonly number[]): LatencyDistribution {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    sum: sorted.reduce((total, value) => total + value, 0),
    min: sorted[0] ?? 0,
    max: sorted[sorted.length - 1] ?? 0,
    valueAtRank(rank) {
      const value = sorted[rank];
      if (value === undefined) throw new RangeError(`rank ${rank} outside 0..${sorted.length - 1}`);
      return value;
    },
  };
}
