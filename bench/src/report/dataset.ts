import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gpuRecordingSchema, type GpuRecording } from '../compare/gpu.js';
import { compareParity, paritySampleSchema, type ParityComparison, type ParitySample } from '../compare/parity.js';
import { figuresFromStress, type RunFigures } from './figures.js';
import { readResultsIndex, type ResultsIndex, type RunEntry } from './results-index.js';

export interface LoadedRun {
  readonly entry: RunEntry;
  /** Present for completed runs whose stress file could be read. */
  readonly figures: RunFigures | undefined;
  readonly gpu: GpuRecording | undefined;
  /** Why a completed run's files could not be read. */
  readonly problem: string | undefined;
}

/** One backend at one batch size, averaged over its completed repeats. */
export interface Cell {
  readonly backend: string;
  readonly batchSize: number;
  readonly completed: number;
  readonly failed: number;
  readonly figures: RunFigures | undefined;
  readonly gpuUtilizationMean: number | undefined;
  readonly gpuMemoryMaxMiB: number | undefined;
}

export interface ReportData {
  readonly resultsDir: string;
  readonly index: ResultsIndex;
  readonly runs: readonly LoadedRun[];
  readonly cells: readonly Cell[];
  readonly parity: readonly ParityComparison[];
  readonly parityErrors: ReadonlyArray<{ backend: string; error: string }>;
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8'));
}

async function loadRun(resultsDir: string, entry: RunEntry): Promise<LoadedRun> {
  if (entry.status !== 'completed' || !entry.stressFile) return { entry, figures: undefined, gpu: undefined, problem: undefined };
  try {
    const figures = figuresFromStress(await readJson(join(resultsDir, entry.stressFile)), entry.stressFile);
    const gpu = entry.gpuFile ? gpuRecordingSchema.parse(await readJson(join(resultsDir, entry.gpuFile))) : undefined;
    return { entry, figures, gpu, problem: undefined };
  } catch (error) {
    const problem = `could not read ${entry.stressFile}: ${error instanceof Error ? error.message : String(error)}`;
    return { entry, figures: undefined, gpu: undefined, problem };
  }
}

function mean(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Averages every numeric field of the figures over repeats (percentiles: the mean of each run's percentile). */
function averageFigures(all: readonly RunFigures[]): RunFigures | undefined {
  if (all.length === 0) return undefined;
  const averageOf = (pick: (figures: RunFigures) => number): number => mean(all.map(pick))!;
  const latencies = all.flatMap((figures) => (figures.latencyMs ? [figures.latencyMs] : []));
  const averageLatency = (pick: (latency: NonNullable<RunFigures['latencyMs']>) => number): number => mean(latencies.map(pick))!;
  return {
    requests: averageOf((f) => f.requests),
    requestsPerSecond: averageOf((f) => f.requestsPerSecond),
    embeddingsPerSecond: averageOf((f) => f.embeddingsPerSecond),
    successRate: averageOf((f) => f.successRate),
    latencyMs: latencies.length === 0 ? null : {
      p50: averageLatency((latency) => latency.p50),
      p90: averageLatency((latency) => latency.p90),
      p99: averageLatency((latency) => latency.p99),
      mean: averageLatency((latency) => latency.mean),
      max: Math.max(...latencies.map((latency) => latency.max)),
    },
    serverMeanMs: {
      queue: meanOfKnown(all.map((f) => f.serverMeanMs.queue)),
      tokenization: meanOfKnown(all.map((f) => f.serverMeanMs.tokenization)),
      inference: meanOfKnown(all.map((f) => f.serverMeanMs.inference)),
    },
  };
}

function meanOfKnown(values: ReadonlyArray<number | null>): number | null {
  return mean(values.filter((value): value is number => value !== null)) ?? null;
}

function buildCells(index: ResultsIndex, runs: readonly LoadedRun[]): Cell[] {
  return index.settings.batchSizes.flatMap((batchSize) =>
    index.settings.backends.map((backend) => {
      const here = runs.filter((run) => run.entry.backend === backend && run.entry.batchSize === batchSize);
      const withFigures = here.filter((run) => run.figures !== undefined);
      const gpuSamples = withFigures.flatMap((run) => run.gpu?.samples ?? []);
      const utilizations = gpuSamples.map((sample) => sample.utilizationPercent).filter((value): value is number => value !== null);
      const memories = gpuSamples.map((sample) => sample.memoryUsedMiB).filter((value): value is number => value !== null);
      return {
        backend,
        batchSize,
        completed: withFigures.length,
        failed: here.length - withFigures.length,
        figures: averageFigures(withFigures.map((run) => run.figures!)),
        gpuUtilizationMean: mean(utilizations),
        gpuMemoryMaxMiB: memories.length > 0 ? Math.max(...memories) : undefined,
      };
    }),
  );
}

/** Parity of every backend against the first backend (the baseline) that has a sample. */
async function loadParity(resultsDir: string, index: ResultsIndex): Promise<{ comparisons: ParityComparison[]; errors: Array<{ backend: string; error: string }> }> {
  const errors = [...index.parity.errors];
  const samples: ParitySample[] = [];
  for (const { backend, file } of index.parity.samples) {
    try {
      samples.push(paritySampleSchema.parse(await readJson(join(resultsDir, file))));
    } catch (error) {
      errors.push({ backend, error: `could not read ${file}: ${error instanceof Error ? error.message : String(error)}` });
    }
  }
  const ordered = index.settings.backends.flatMap((backend) => samples.filter((sample) => sample.backend === backend));
  const [baseline, ...others] = ordered;
  const comparisons = baseline ? others.map((sample) => compareParity(baseline, sample, index.parity.threshold)) : [];
  return { comparisons, errors };
}

/** Everything a report shows, read from the JSON files of a results directory alone. */
export async function loadReportData(resultsDir: string): Promise<ReportData> {
  const index = await readResultsIndex(resultsDir);
  const runs = await Promise.all(index.runs.map((entry) => loadRun(resultsDir, entry)));
  const { comparisons, errors } = await loadParity(resultsDir, index);
  return { resultsDir, index, runs, cells: buildCells(index, runs), parity: comparisons, parityErrors: errors };
}

export interface BatchVerdict {
  readonly batchSize: number;
  /** undefined when no backend qualified (completed, answered, agreeing embeddings). */
  readonly winner: string | undefined;
  readonly runnerUp: string | undefined;
  /** winner's embeddings/s divided by the runner-up's. */
  readonly ratio: number | undefined;
  /** Backends left out of the ranking and why (failed, or embeddings disagree with the baseline). */
  readonly excluded: ReadonlyArray<{ backend: string; reason: string }>;
  /** Ranked backends whose embeddings could not be checked against the baseline. */
  readonly parityUnchecked: readonly string[];
}

/** A backend that fails more requests than this cannot win, however fast its successes are. */
export const MIN_WINNING_SUCCESS_RATE = 0.99;

/** The fastest backend per batch size by embeddings/s, among those that completed, answered (almost) every request, and agree with the baseline. */
export function verdicts(data: ReportData): BatchVerdict[] {
  const disagreeing = new Map(data.parity.filter((p) => !p.agrees).map((p) => [p.backend, p]));
  const checked = new Set(data.parity.flatMap((p) => [p.baseline, p.backend]));
  return data.index.settings.batchSizes.map((batchSize) => {
    const excluded: Array<{ backend: string; reason: string }> = [];
    const ranked: Cell[] = [];
    for (const cell of data.cells.filter((c) => c.batchSize === batchSize)) {
      const parity = disagreeing.get(cell.backend);
      if (!cell.figures) excluded.push({ backend: cell.backend, reason: 'no completed run' });
      else if (cell.figures.successRate < MIN_WINNING_SUCCESS_RATE) {
        excluded.push({ backend: cell.backend, reason: `success rate ${(cell.figures.successRate * 100).toFixed(2)}% is below ${MIN_WINNING_SUCCESS_RATE * 100}%` });
      } else if (parity) {
        const detail = parity.problem ?? `min cosine ${parity.minCosine.toFixed(4)} < ${parity.threshold} against ${parity.baseline}`;
        excluded.push({ backend: cell.backend, reason: `embeddings disagree with the baseline (${detail})` });
      } else ranked.push(cell);
    }
    ranked.sort((a, b) => b.figures!.embeddingsPerSecond - a.figures!.embeddingsPerSecond);
    const [first, second] = ranked;
    const ratio = first && second && second.figures!.embeddingsPerSecond > 0
      ? first.figures!.embeddingsPerSecond / second.figures!.embeddingsPerSecond
      : undefined;
    const parityUnchecked = ranked.length > 1 ? ranked.map((cell) => cell.backend).filter((backend) => !checked.has(backend)) : [];
    return { batchSize, winner: first?.backend, runnerUp: second?.backend, ratio, excluded, parityUnchecked };
  });
}
