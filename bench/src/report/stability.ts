import type { HostUsage, Timeline, TimeWindow } from '../result-files/schemas.js';
import { mean } from './statistics.js';

/** A window group (and so a third of the run) needs this many requests for its throughput to mean something. */
const MIN_REQUESTS_PER_GROUP = 20;
/** Throughput or mean latency that moves more than this between the first and last third: drifting. */
export const DRIFT_LIMIT = 0.2;
/** Coefficient of variation of the throughput across window groups above this: unstable. */
export const CV_LIMIT = 0.25;
/** Other processes' share of all CPU time (or hypervisor steal) above this: the host was busy. */
export const BUSY_HOST_LIMIT = 0.1;

export interface RunStability {
  /** Windows of windowSeconds x groupSize seconds that the figures below were computed over. */
  readonly groupSeconds: number;
  readonly groups: number;
  /** Embeddings/s in each group. */
  readonly throughputs: readonly number[];
  readonly coefficientOfVariation: number;
  /** Last third over first third, minus 1 (0.3 = 30% more). */
  readonly throughputChange: number;
  readonly latencyChange: number | null;
  /** What is wrong with the run, in words; empty when it looks steady. */
  readonly flags: readonly string[];
}

export type StabilityVerdict = { readonly judged: true; readonly stability: RunStability } | { readonly judged: false; readonly reason: string };

function sumWindows(windows: readonly TimeWindow[]): { embeddings: number; latencySumMs: number; latencyCount: number } {
  return windows.reduce(
    (total, window) => ({ embeddings: total.embeddings + window.embeddings, latencySumMs: total.latencySumMs + window.latencySumMs, latencyCount: total.latencyCount + window.latencyCount }),
    { embeddings: 0, latencySumMs: 0, latencyCount: 0 },
  );
}

const percent = (fraction: number): string => `${fraction >= 0 ? '+' : ''}${(fraction * 100).toFixed(0)}%`;

/**
 * Judges one run from its windows within the measured duration (requests finishing during the
 * graceful stop are left out): the throughput's coefficient of variation across window groups
 * holding about twenty requests each, and the change of throughput and mean latency from the first
 * third of the run to the last.
 */
export function judgeStability(timeline: Timeline, durationSeconds: number): StabilityVerdict {
  const windows = timeline.windows.slice(0, Math.floor(durationSeconds / timeline.windowSeconds + 1e-9));
  const requests = windows.reduce((sum, window) => sum + window.requests, 0);
  if (windows.length === 0 || requests === 0) return { judged: false, reason: 'no request completed' };
  const groupSize = Math.max(1, Math.ceil((MIN_REQUESTS_PER_GROUP * windows.length) / requests));
  const groups = Math.floor(windows.length / groupSize);
  if (groups < 3) return { judged: false, reason: `too few requests to judge (${requests} in ${durationSeconds} s)` };
  const groupSeconds = groupSize * timeline.windowSeconds;
  const throughputs = Array.from({ length: groups }, (_, group) => sumWindows(windows.slice(group * groupSize, (group + 1) * groupSize)).embeddings / groupSeconds);
  const average = mean(throughputs);
  const coefficientOfVariation = average === 0 ? 0 : Math.sqrt(throughputs.reduce((sum, value) => sum + (value - average) ** 2, 0) / (groups - 1)) / average;
  const third = Math.floor(windows.length / 3);
  const first = sumWindows(windows.slice(0, third));
  const last = sumWindows(windows.slice(windows.length - third));
  const throughputChange = first.embeddings === 0 ? 0 : last.embeddings / first.embeddings - 1;
  const latencyChange = first.latencyCount === 0 || last.latencyCount === 0 ? null : last.latencySumMs / last.latencyCount / (first.latencySumMs / first.latencyCount) - 1;
  const flags: string[] = [];
  if (Math.abs(throughputChange) > DRIFT_LIMIT || (latencyChange !== null && Math.abs(latencyChange) > DRIFT_LIMIT)) {
    flags.push(`DRIFTING: last third vs first: throughput ${percent(throughputChange)}, mean latency ${latencyChange === null ? 'n/a' : percent(latencyChange)}`);
  }
  if (coefficientOfVariation > CV_LIMIT) flags.push(`UNSTABLE: throughput varies ${(coefficientOfVariation * 100).toFixed(0)}% (CV) across ${Number(groupSeconds.toFixed(2))} s windows`);
  return { judged: true, stability: { groupSeconds, groups, throughputs, coefficientOfVariation, throughputChange, latencyChange, flags } };
}

/** Why the host was not quiet during a run, or undefined when it was (or could not be measured). */
export function busyHost(host: HostUsage | undefined): string | undefined {
  if (!host) return undefined;
  const reasons: string[] = [];
  if (host.othersShare !== null && host.othersShare > BUSY_HOST_LIMIT) reasons.push(`other processes used ${(host.othersShare * 100).toFixed(0)}% of the CPU time`);
  if (host.stealShare !== null && host.stealShare > BUSY_HOST_LIMIT / 2) reasons.push(`the hypervisor stole ${(host.stealShare * 100).toFixed(0)}%`);
  return reasons.length > 0 ? `BUSY HOST: ${reasons.join(', ')}` : undefined;
}
