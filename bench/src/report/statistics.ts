/**
 * Spread and significance over repeats. Intervals are 95% intervals of the mean: the bootstrap
 * standard error of the mean (resampling the repeats, seeded so that a report is reproducible)
 * times Student's t quantile for n - 1 degrees of freedom. With the 3 to 5 repeats a comparison
 * affords, a plain bootstrap percentile interval never reaches beyond the lowest and highest
 * repeat and would call a winner in about one A/A comparison out of ten; the t quantile keeps the
 * small-sample uncertainty in the interval.
 */
import { SeededRandom } from '../text/random.js';

export const BOOTSTRAP_ROUNDS = 2000;

/** A seeded generator uniform in [0, 1), so a report rebuilt from the same JSON is identical. */
export function seededRandom(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}

/** A stable seed from a text (FNV-1a), so each cell of a report draws its own reproducible resamples. */
export function seedFrom(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

export function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function standardDeviation(values: readonly number[]): number {
  const centre = mean(values);
  return Math.sqrt(values.reduce((sum, value) => sum + (value - centre) ** 2, 0) / (values.length - 1));
}

/** Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom. */
const T_975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

export function tQuantile975(degreesOfFreedom: number): number {
  return T_975[degreesOfFreedom - 1] ?? 1.96 + 2.37 / degreesOfFreedom;
}

function resampleMean(values: readonly number[], random: () => number): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[Math.floor(random() * values.length)]!;
  return sum / values.length;
}

/**
 * The bootstrap distribution of a statistic's spread rescales to the sample standard error by
 * sqrt(n / (n - 1)) (resampling divides by n, not n - 1).
 */
const smallSampleCorrection = (n: number): number => Math.sqrt(n / (n - 1));

export interface Interval {
  readonly low: number;
  readonly high: number;
}

/** The 95% interval of the mean of the repeats (rates: never below 0); undefined for fewer than two. */
export function meanInterval(values: readonly number[], random: () => number): Interval | undefined {
  if (values.length < 2) return undefined;
  const means = Array.from({ length: BOOTSTRAP_ROUNDS }, () => resampleMean(values, random));
  const halfWidth = tQuantile975(values.length - 1) * standardDeviation(means) * smallSampleCorrection(values.length);
  const centre = mean(values);
  return { low: Math.max(0, centre - halfWidth), high: centre + halfWidth };
}

export interface RatioEstimate extends Interval {
  /** mean(a) / mean(b) */
  readonly ratio: number;
}

/**
 * mean(a) / mean(b) with its 95% interval: the bootstrap standard error of the log ratio (both
 * groups resampled), times t for the smaller group's degrees of freedom.
 */
export function ratioInterval(a: readonly number[], b: readonly number[], random: () => number): RatioEstimate | undefined {
  if (a.length < 2 || b.length < 2 || mean(a) <= 0 || mean(b) <= 0) return undefined;
  const logs: number[] = [];
  for (let round = 0; round < BOOTSTRAP_ROUNDS; round++) {
    const numerator = resampleMean(a, random);
    const denominator = resampleMean(b, random);
    if (numerator > 0 && denominator > 0) logs.push(Math.log(numerator / denominator));
  }
  const n = Math.min(a.length, b.length);
  const ratio = mean(a) / mean(b);
  const halfWidth = tQuantile975(n - 1) * standardDeviation(logs) * smallSampleCorrection(n);
  return { ratio, low: ratio * Math.exp(-halfWidth), high: ratio * Math.exp(halfWidth) };
}

/** True when the two intervals have no value in common. */
export function separate(a: Interval, b: Interval): boolean {
  return a.low > b.high || b.low > a.high;
}
