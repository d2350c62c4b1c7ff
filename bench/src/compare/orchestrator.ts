import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Passage } from '@embedbench/loadtest/passages';
import { writeJsonAtomic } from '../fs/atomic.js';
import type { LoadResult } from '../load/result-schema.js';
import { RESULTS_INDEX_FILE, writeResultsIndex, type ResultsIndex, type RunEntry } from '../report/results-index.js';
import type { LoadDriver, LoadProgress } from './drivers.js';
import { GpuSampler, type GpuSource } from './gpu.js';
import type { CompareSettings } from './options.js';
import { captureParitySample, type PassageRef } from './parity.js';
import { BackendStartError, type RunningBackend, type Runtime } from './runtimes/index.js';
import { describeExit } from './runtimes/support.js';

export interface RunIdentity {
  readonly backend: string;
  readonly batchSize: number;
  readonly repeat: number;
  /** 1-based position in the whole sequence, and the sequence length. */
  readonly position: number;
  readonly total: number;
}

export interface RunProgress extends RunIdentity, LoadProgress {
  readonly phase: 'warm-up' | 'load';
  readonly remainingSeconds: number;
}

/** Hooks for the terminal display and for tests (which use onBackendReady to inject a crash). */
export interface CompareEvents {
  readonly onRunStart?: (run: RunIdentity) => void;
  readonly onBackendReady?: (run: RunIdentity, backend: RunningBackend) => void;
  readonly onProgress?: (progress: RunProgress) => void;
  readonly onRunEnd?: (run: RunIdentity, entry: RunEntry) => void;
  readonly onNote?: (message: string) => void;
}

export interface CompareContext {
  readonly settings: CompareSettings;
  readonly model: ResultsIndex['model'];
  /** Model directory handed to the runtime. */
  readonly modelDir: string;
  /** Absolute path of the passages the load uses, and the passages themselves. */
  readonly dataset: string;
  readonly passages: readonly Passage[];
  /** The fixed passages every backend embeds for the parity check. */
  readonly paritySample: readonly PassageRef[];
  readonly runtime: Runtime;
  readonly driver: LoadDriver;
  readonly gpuSource: GpuSource;
  readonly useGpu: boolean;
  /** Aborting (Ctrl-C) ends the current run as failed, skips the rest and keeps what finished. */
  readonly interrupt?: AbortSignal;
}

/** `20260101_120000`: the timestamp in result file names. */
function fileStamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs every backend x batch size x repeat one at a time (start, warm up, load while sampling the
 * GPU, stop), writing each run's files and the index as soon as the run ends, so a later failure
 * or an interrupt never loses a finished result. A run that fails is recorded with its log tail
 * and the sequence goes on.
 */
export async function runComparison(context: CompareContext, events: CompareEvents = {}): Promise<ResultsIndex> {
  const { settings } = context;
  const resultsDir = resolve(settings.resultsDir);
  const now = new Date().toISOString();
  const index: ResultsIndex = {
    schemaVersion: 1,
    createdAt: now,
    updatedAt: now,
    model: context.model,
    data: { path: context.dataset, passages: context.passages.length },
    settings: {
      backends: [...settings.backends],
      batchSizes: [...settings.batchSizes],
      durationSeconds: settings.durationSeconds,
      maxConcurrentRequests: settings.maxConcurrentRequests,
      scenario: settings.scenario,
      warmupSeconds: settings.warmupSeconds,
      repeats: settings.repeats,
      driver: context.driver.name,
      runtime: context.runtime.name,
    },
    gpu: { source: context.gpuSource.kind, detail: context.gpuSource.detail },
    parity: { threshold: settings.parityThreshold, samples: [], errors: [] },
    runs: [],
  };
  const archived = await resultsWrite(resultsDir, async () => {
    await mkdir(resultsDir, { recursive: true });
    const previous = await archivePreviousIndex(resultsDir);
    await writeResultsIndex(resultsDir, index);
    return previous;
  });
  if (archived) events.onNote?.(`kept the previous comparison's index as ${archived}`);

  const plan = settings.backends.flatMap((backend) =>
    settings.batchSizes.flatMap((batchSize) => Array.from({ length: settings.repeats }, (_, r) => ({ backend, batchSize, repeat: r + 1 }))),
  );
  for (const [position, step] of plan.entries()) {
    if (context.interrupt?.aborted) break;
    const run: RunIdentity = { ...step, position: position + 1, total: plan.length };
    events.onRunStart?.(run);
    const entry = await executeRun(context, run, index, resultsDir, events);
    index.runs.push(entry);
    await resultsWrite(resultsDir, () => writeResultsIndex(resultsDir, index));
    events.onRunEnd?.(run, entry);
  }
  return index;
}

/**
 * A results directory that cannot be written (read-only, full) ends the comparison with one clear
 * message; the index already on disk (written atomically) still lists every run finished before.
 */
async function resultsWrite<T>(resultsDir: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    throw new Error(`cannot write results to ${resultsDir}: ${errorMessage(error)}`, { cause: error });
  }
}

async function executeRun(context: CompareContext, run: RunIdentity, index: ResultsIndex, resultsDir: string, events: CompareEvents): Promise<RunEntry> {
  const startedAt = new Date();
  const name = `${run.backend}_batch${run.batchSize}_${fileStamp(startedAt)}${context.settings.repeats > 1 ? `_r${run.repeat}` : ''}`;
  const logFile = `logs/${name}.log`;
  const failed = (error: string, logTail: string, extra: Partial<RunEntry> = {}): RunEntry => ({
    backend: run.backend,
    batchSize: run.batchSize,
    repeat: run.repeat,
    status: 'failed',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    logFile,
    error,
    logTail,
    ...extra,
  });

  let backend: RunningBackend;
  try {
    backend = await context.runtime.start({
      backend: run.backend,
      modelDir: context.modelDir,
      modelId: context.model.id,
      logPath: join(resultsDir, logFile),
      startupTimeoutMs: context.settings.startupTimeoutSeconds * 1000,
      useGpu: context.useGpu,
    });
  } catch (error) {
    return failed(`failed to start: ${errorMessage(error)}`, error instanceof BackendStartError ? error.logTail : '');
  }

  let crash: string | undefined;
  const abort = new AbortController();
  const stopRun = (reason: string) => {
    crash ??= reason;
    abort.abort(new Error(reason));
  };
  void backend.exited.then((exit) => stopRun(`backend crashed mid-run (${describeExit(exit)})`));
  const onInterrupt = () => stopRun('interrupted by the user');
  if (context.interrupt?.aborted) onInterrupt();
  context.interrupt?.addEventListener('abort', onInterrupt, { once: true });
  let gpuFile: string | undefined;
  try {
    events.onBackendReady?.(run, backend);
    if (!index.parity.samples.some((sample) => sample.backend === run.backend)) await takeParitySample(context, run.backend, backend, index, resultsDir);
    if (context.settings.warmupSeconds > 0 && !crash) await runPhase(context, run, backend, 'warm-up', abort.signal, events);
    if (crash) return failed(crash, await backend.logTail());
    const sampler = new GpuSampler(context.gpuSource, context.settings.gpuPollSeconds).start();
    let result: LoadResult;
    try {
      result = await runPhase(context, run, backend, 'load', abort.signal, events);
    } finally {
      gpuFile = `gpu_${name}.json`;
      await writeJsonAtomic(join(resultsDir, gpuFile), { backend: run.backend, batchSize: run.batchSize, repeat: run.repeat, ...(await sampler.stop()) });
    }
    if (crash) return failed(crash, await backend.logTail(), { gpuFile });
    const stressFile = `stress_${name}.json`;
    await writeJsonAtomic(join(resultsDir, stressFile), result);
    return {
      backend: run.backend,
      batchSize: run.batchSize,
      repeat: run.repeat,
      status: 'completed',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      stressFile,
      gpuFile,
      logFile,
    };
  } catch (error) {
    return failed(crash ?? errorMessage(error), await backend.logTail(), gpuFile ? { gpuFile } : {});
  } finally {
    context.interrupt?.removeEventListener('abort', onInterrupt);
    await backend.stop();
  }
}

async function runPhase(
  context: CompareContext,
  run: RunIdentity,
  backend: RunningBackend,
  phase: RunProgress['phase'],
  signal: AbortSignal,
  events: CompareEvents,
): Promise<LoadResult> {
  const { settings } = context;
  const durationSeconds = phase === 'load' ? settings.durationSeconds : settings.warmupSeconds;
  return context.driver.run({
    baseUrl: backend.baseUrl,
    backend: run.backend,
    batchSize: run.batchSize,
    durationSeconds,
    scenario: settings.scenario,
    vus: settings.maxConcurrentRequests,
    rate: settings.rate,
    dataset: context.dataset,
    passages: context.passages,
    testid: `${run.backend}-b${run.batchSize}-r${run.repeat}-${phase}-${Date.now()}`,
    workDir: join(resolve(settings.resultsDir), 'driver'),
    signal,
    onProgress: (progress) =>
      events.onProgress?.({ ...run, ...progress, phase, remainingSeconds: Math.max(0, durationSeconds - progress.elapsedSeconds) }),
  });
}

/**
 * A new comparison starts a new index; an earlier one in the same directory is renamed, not
 * overwritten, so its runs stay listed (`embedbench report` reads results_index.json only).
 */
async function archivePreviousIndex(resultsDir: string): Promise<string | undefined> {
  const current = join(resultsDir, RESULTS_INDEX_FILE);
  if (!existsSync(current)) return undefined;
  const archived = `results_index.previous-${fileStamp(new Date())}.json`;
  await rename(current, join(resultsDir, archived));
  return archived;
}

async function takeParitySample(context: CompareContext, name: string, backend: RunningBackend, index: ResultsIndex, resultsDir: string): Promise<void> {
  try {
    const sample = await captureParitySample(backend.baseUrl, name, context.paritySample);
    const file = `parity_${name}_${fileStamp(new Date())}.json`;
    await writeJsonAtomic(join(resultsDir, file), sample);
    index.parity.samples.push({ backend: name, file });
    index.parity.errors = index.parity.errors.filter((entry) => entry.backend !== name);
  } catch (error) {
    index.parity.errors.push({ backend: name, error: errorMessage(error) });
  }
}
