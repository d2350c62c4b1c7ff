import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { latencyStats, type LatencyStats } from '@embedbench/loadtest/percentiles';
import { compareParity, type ParityComparison } from '../compare/parity.js';
import { LatencyRecorder } from '../load/histogram.js';
import { readResultsIndex, RESULTS_INDEX_FILE } from '../result-files/index-file.js';
import {
  gpuFileSchema,
  loadResultSchema,
  paritySampleSchema,
  parseLoadResult,
  timelineSchema,
  type GpuRecording,
  type LoadResult,
  type ParitySample,
  type ResultsIndex,
  type RunEntry,
  type Timeline,
  type Variant,
} from '../result-files/schemas.js';
import { judgeStability, type StabilityVerdict } from './stability.js';
import { mean, meanInterval, median, ratioInterval, seededRandom, seedFrom, separate, type Interval, type RatioEstimate } from './statistics.js';

export interface LoadedRun {
  readonly entry: RunEntry;
  /** Present for completed runs whose stress file could be read. */
  readonly result: LoadResult | undefined;
  readonly gpu: GpuRecording | undefined;
  /** Present for runs of a driver that reports each request (the built-in one). */
  readonly timeline: Timeline | undefined;
  readonly stability: StabilityVerdict | undefined;
  /** Why a completed run's files could not be read. */
  readonly problem: string | undefined;
}

/** One figure over the repeats of a cell. */
export interface Spread {
  /** Per repeat, in run order. */
  readonly values: readonly number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** 95% interval of the mean; undefined with a single repeat. */
  readonly interval: Interval | undefined;
}

/** One variant at one batch size, over its completed repeats. */
export interface Cell {
  readonly backend: string;
  readonly batchSize: number;
  readonly completed: number;
  readonly failed: number;
  readonly embeddingsPerSecond: Spread | undefined;
  readonly requestsPerSecond: Spread | undefined;
  /** Percentiles of all the repeats' requests together, from their merged histograms; undefined when a repeat has no histogram (k6). */
  readonly latencyMs: LatencyStats | null | undefined;
  /** Each repeat's own p99. */
  readonly p99PerRepeat: readonly number[];
  /** Succeeded over all requests of all repeats. */
  readonly successRate: number | undefined;
  /** Mean server-side time per request over all repeats' requests; null where the service sent none. */
  readonly serverMeanMs: { readonly queue: number | null; readonly tokenization: number | null; readonly inference: number | null };
  readonly gpuUtilizationMean: number | undefined;
  readonly gpuMemoryMaxMiB: number | undefined;
}

export interface ReportData {
  readonly resultsDir: string;
  readonly index: ResultsIndex;
  readonly labels: readonly string[];
  readonly runs: readonly LoadedRun[];
  readonly cells: readonly Cell[];
  readonly parity: readonly ParityComparison[];
  readonly parityErrors: ReadonlyArray<{ backend: string; error: string }>;
  /** JSON files of the results directory the report is made from, and the ones it left out with why. */
  readonly filesRead: readonly string[];
  readonly filesIgnored: ReadonlyArray<{ file: string; reason: string }>;
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8'));
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

async function loadRun(resultsDir: string, entry: RunEntry, durationSeconds: number): Promise<LoadedRun> {
  const empty = { entry, result: undefined, gpu: undefined, timeline: undefined, stability: undefined, problem: undefined };
  if (entry.status !== 'completed' || !entry.stressFile) return empty;
  let file = entry.stressFile;
  try {
    const result = parseLoadResult(await readJson(join(resultsDir, file)), file);
    file = entry.gpuFile ?? file;
    const gpu = entry.gpuFile ? gpuFileSchema.parse(await readJson(join(resultsDir, entry.gpuFile))) : undefined;
    file = entry.timelineFile ?? file;
    const timeline = entry.timelineFile ? timelineSchema.parse(await readJson(join(resultsDir, entry.timelineFile))) : undefined;
    return { ...empty, result, gpu, timeline, stability: timeline && judgeStability(timeline, durationSeconds) };
  } catch (error) {
    return { ...empty, problem: `could not read ${file}: ${messageOf(error)}` };
  }
}

function spreadOf(values: readonly number[], seed: string): Spread | undefined {
  if (values.length === 0) return undefined;
  return { values, median: median(values), min: Math.min(...values), max: Math.max(...values), mean: mean(values), interval: meanInterval(values, seededRandom(seedFrom(seed))) };
}

/** The mean of per-run means, weighted by each run's request count. */
function pooledMean(parts: ReadonlyArray<{ mean: number | undefined; weight: number }>): number | null {
  const known = parts.filter((part): part is { mean: number; weight: number } => part.mean !== undefined && part.weight > 0);
  const weight = known.reduce((sum, part) => sum + part.weight, 0);
  return weight === 0 ? null : known.reduce((sum, part) => sum + part.mean * part.weight, 0) / weight;
}

function buildCell(label: string, batchSize: number, runs: readonly LoadedRun[]): Cell {
  const here = runs.filter((run) => run.entry.backend === label && run.entry.batchSize === batchSize);
  const results = here.flatMap((run) => (run.result ? [run.result] : []));
  const withResult = here.filter((run) => run.result !== undefined);
  let latencyMs: LatencyStats | null | undefined;
  if (withResult.length > 0 && withResult.every((run) => run.timeline)) {
    const merged = new LatencyRecorder();
    for (const run of withResult) merged.add(LatencyRecorder.decode(run.timeline!.latency));
    latencyMs = latencyStats(merged);
  }
  const gpuSamples = withResult.flatMap((run) => run.gpu?.samples ?? []);
  const utilizations = gpuSamples.map((sample) => sample.utilizationPercent).filter((value): value is number => value !== null);
  const memories = gpuSamples.map((sample) => sample.memoryUsedMiB).filter((value): value is number => value !== null);
  const requests = results.reduce((sum, result) => sum + result.requests.total, 0);
  const serverMean = (part: 'queue' | 'tokenization' | 'inference') =>
    pooledMean(results.map((result) => ({ mean: result.serverTimingMs[part]?.mean, weight: result.requests.total })));
  const seed = `${batchSize}|${label}`;
  return {
    backend: label,
    batchSize,
    completed: results.length,
    failed: here.length - results.length,
    embeddingsPerSecond: spreadOf(results.map((result) => result.throughput.embeddingsPerSecond), `${seed}|emb`),
    requestsPerSecond: spreadOf(results.map((result) => result.throughput.requestsPerSecond), `${seed}|req`),
    latencyMs,
    p99PerRepeat: results.flatMap((result) => (result.latencyMs ? [result.latencyMs.p99] : [])),
    successRate: requests === 0 ? (results.length > 0 ? 0 : undefined) : results.reduce((sum, result) => sum + result.requests.succeeded, 0) / requests,
    serverMeanMs: { queue: serverMean('queue'), tokenization: serverMean('tokenization'), inference: serverMean('inference') },
    gpuUtilizationMean: utilizations.length > 0 ? mean(utilizations) : undefined,
    gpuMemoryMaxMiB: memories.length > 0 ? Math.max(...memories) : undefined,
  };
}

/** Parity of every variant against the first variant (the baseline) that has a sample. */
async function loadParity(resultsDir: string, index: ResultsIndex, read: Set<string>): Promise<{ comparisons: ParityComparison[]; errors: Array<{ backend: string; error: string }> }> {
  const errors = [...index.parity.errors];
  const samples: ParitySample[] = [];
  for (const { backend, file } of index.parity.samples) {
    try {
      samples.push(paritySampleSchema.parse(await readJson(join(resultsDir, file))));
      read.add(file);
    } catch (error) {
      errors.push({ backend, error: `could not read ${file}: ${messageOf(error)}` });
    }
  }
  const ordered = index.settings.variants.flatMap((variant) => samples.filter((sample) => sample.backend === variant.label));
  const [baseline, ...others] = ordered;
  const comparisons = baseline ? others.map((sample) => compareParity(baseline, sample, index.parity.threshold)) : [];
  return { comparisons, errors };
}

/** The JSON files in the results directory that the index does not list, and what they seem to be. */
async function unlistedFiles(resultsDir: string, listed: ReadonlySet<string>): Promise<Array<{ file: string; reason: string }>> {
  const names = (await readdir(resultsDir)).filter((name) => name.endsWith('.json') && !listed.has(name)).sort();
  return Promise.all(
    names.map(async (file) => {
      if (/^results_index\.previous-/.test(file)) return { file, reason: 'the index of an earlier comparison' };
      const json = await readJson(join(resultsDir, file)).catch(() => undefined);
      if (loadResultSchema.safeParse(json).success) return { file, reason: 'a load result that results_index.json does not list (from `embedbench load`, or another comparison)' };
      return { file, reason: 'not listed in results_index.json' };
    }),
  );
}

/** Everything a report shows, read from the JSON files of a results directory alone. */
export async function loadReportData(resultsDir: string): Promise<ReportData> {
  const index = await readResultsIndex(resultsDir);
  const runs = await Promise.all(index.runs.map((entry) => loadRun(resultsDir, entry, index.settings.durationSeconds)));
  const read = new Set<string>([RESULTS_INDEX_FILE]);
  for (const run of runs) {
    if (!run.result) continue;
    for (const file of [run.entry.stressFile, run.entry.gpuFile, run.entry.timelineFile]) if (file) read.add(file);
  }
  const { comparisons, errors } = await loadParity(resultsDir, index, read);
  const listed = new Set([RESULTS_INDEX_FILE, ...index.parity.samples.map((sample) => sample.file), ...index.runs.flatMap((run) => [run.stressFile, run.gpuFile, run.timelineFile].filter((file): file is string => file !== undefined))]);
  const labels = index.settings.variants.map((variant: Variant) => variant.label);
  return {
    resultsDir,
    index,
    labels,
    runs,
    cells: index.settings.batchSizes.flatMap((batchSize) => labels.map((label) => buildCell(label, batchSize, runs))),
    parity: comparisons,
    parityErrors: errors,
    filesRead: [...read].sort(),
    filesIgnored: await unlistedFiles(resultsDir, listed),
  };
}

export interface BatchVerdict {
  readonly batchSize: number;
  /** The two qualified variants with the highest mean embeddings/s, in that order. */
  readonly leader: string | undefined;
  readonly second: string | undefined;
  /** leader over second, with its 95% interval; undefined with fewer than two repeats of either. */
  readonly ratio: RatioEstimate | undefined;
  /** leader / second from their means when no interval can be given. */
  readonly pointRatio: number | undefined;
  /** True when the leader's and the second's intervals do not overlap: only then is the leader a winner. */
  readonly clear: boolean;
  /** Variants left out of the ranking and why (failed, or embeddings disagree with the baseline). */
  readonly excluded: ReadonlyArray<{ backend: string; reason: string }>;
  /** Ranked variants whose embeddings could not be checked against the baseline. */
  readonly parityUnchecked: readonly string[];
}

/** A variant that fails more requests than this cannot win, however fast its successes are. */
export const MIN_WINNING_SUCCESS_RATE = 0.99;

/**
 * Per batch size, the two fastest variants by mean embeddings/s among those that completed,
 * answered (almost) every request and agree with the baseline; a winner only when their 95%
 * intervals separate.
 */
export function verdicts(data: ReportData): BatchVerdict[] {
  const disagreeing = new Map(data.parity.filter((p) => !p.agrees).map((p) => [p.backend, p]));
  const checked = new Set(data.parity.flatMap((p) => [p.baseline, p.backend]));
  return data.index.settings.batchSizes.map((batchSize) => {
    const excluded: Array<{ backend: string; reason: string }> = [];
    const ranked: Array<Cell & { embeddingsPerSecond: Spread }> = [];
    for (const cell of data.cells.filter((c) => c.batchSize === batchSize)) {
      const parity = disagreeing.get(cell.backend);
      if (!cell.embeddingsPerSecond || cell.successRate === undefined) excluded.push({ backend: cell.backend, reason: 'no completed run' });
      else if (cell.successRate < MIN_WINNING_SUCCESS_RATE) {
        excluded.push({ backend: cell.backend, reason: `success rate ${(cell.successRate * 100).toFixed(2)}% is below ${MIN_WINNING_SUCCESS_RATE * 100}%` });
      } else if (parity) {
        const detail = parity.problem ?? `min cosine ${parity.minCosine.toFixed(4)} < ${parity.threshold} against ${parity.baseline}`;
        excluded.push({ backend: cell.backend, reason: `embeddings disagree with the baseline (${detail})` });
      } else ranked.push({ ...cell, embeddingsPerSecond: cell.embeddingsPerSecond });
    }
    ranked.sort((a, b) => b.embeddingsPerSecond.mean - a.embeddingsPerSecond.mean);
    const [first, second] = ranked;
    const ratio = first && second ? ratioInterval(first.embeddingsPerSecond.values, second.embeddingsPerSecond.values, seededRandom(seedFrom(`${batchSize}|${first.backend}|${second.backend}`))) : undefined;
    const firstInterval = first?.embeddingsPerSecond.interval;
    const secondInterval = second?.embeddingsPerSecond.interval;
    return {
      batchSize,
      leader: first?.backend,
      second: second?.backend,
      ratio,
      pointRatio: first && second && second.embeddingsPerSecond.mean > 0 ? first.embeddingsPerSecond.mean / second.embeddingsPerSecond.mean : undefined,
      clear: firstInterval !== undefined && secondInterval !== undefined && separate(firstInterval, secondInterval),
      excluded,
      parityUnchecked: ranked.length > 1 ? ranked.map((cell) => cell.backend).filter((backend) => !checked.has(backend)) : [],
    };
  });
}

/** The variant a label names. */
export function variantOf(data: ReportData, label: string): Variant | undefined {
  return data.index.settings.variants.find((variant) => variant.label === label);
}
