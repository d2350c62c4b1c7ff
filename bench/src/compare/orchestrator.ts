import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Passage } from '@embedbench/loadtest/passages';
import { writeJsonAtomic } from '../fs/atomic.js';
import { RESULTS_INDEX_FILE, writeResultsIndex } from '../result-files/index-file.js';
import { RESULTS_INDEX_SCHEMA_VERSION, type GpuFile, type LoadResult, type ResultsIndex, type RunEntry, type ServiceInfo, type Timeline, type Variant } from '../result-files/schemas.js';
import { EMBEDBENCH_VERSION } from '../version.js';
import type { LoadDriver, LoadProgress } from './drivers.js';
import { GpuSampler, type GpuSource } from './gpu.js';
import { startHostUsageMeter } from './host-usage.js';
import type { CompareSettings } from './options.js';
import { captureParitySample, type PassageRef } from './parity.js';
import { BackendStartError, type RunningBackend, type Runtime } from './runtimes/index.js';
import { describeExit } from './runtimes/support.js';
import { fetchServiceInfo } from './service-info.js';
import { TimelineRecorder, windowSecondsFor } from './timeline.js';

export interface RunStep {
  readonly variant: Variant;
  readonly batchSize: number;
  readonly repeat: number;
}

export interface RunIdentity extends RunStep {
  /** The variant's label. */
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

/** Hooks for the terminal display and for callers that act on a running backend (signal it, watch it). */
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
 * Batch size by batch size, round by round: every variant once per round (A B C, then B C A, then
 * C A B, ...), so that a host that slows down or speeds up during the comparison affects every
 * variant alike instead of whichever ran last.
 */
export function interleavedPlan(variants: readonly Variant[], batchSizes: readonly number[], repeats: number): RunStep[] {
  const steps: RunStep[] = [];
  let round = 0;
  for (const batchSize of batchSizes) {
    for (let repeat = 1; repeat <= repeats; repeat++, round++) {
      for (let slot = 0; slot < variants.length; slot++) steps.push({ variant: variants[(slot + round) % variants.length]!, batchSize, repeat });
    }
  }
  return steps;
}

/**
 * Runs the interleaved plan one run at a time (start, warm up, ask /info, load while sampling the
 * GPU and the host's CPU use, stop), writing each run's files and the index as soon as the run
 * ends, so a later failure or an interrupt never loses a finished result. A run that fails is
 * recorded with its log tail and the sequence goes on.
 */
export async function runComparison(context: CompareContext, events: CompareEvents = {}): Promise<ResultsIndex> {
  const { settings } = context;
  const resultsDir = resolve(settings.resultsDir);
  const now = new Date().toISOString();
  const index: ResultsIndex = {
    schemaVersion: RESULTS_INDEX_SCHEMA_VERSION,
    embedbenchVersion: EMBEDBENCH_VERSION,
    createdAt: now,
    updatedAt: now,
    model: context.model,
    data: { path: context.dataset, passages: context.passages.length },
    settings: {
      variants: [...settings.variants],
      batchSizes: [...settings.batchSizes],
      durationSeconds: settings.durationSeconds,
      maxConcurrentRequests: settings.maxConcurrentRequests,
      scenario: settings.scenario,
      warmupSeconds: settings.warmupSeconds,
      repeats: settings.repeats,
      driver: context.driver.name,
      runtime: context.runtime.name,
      useGpu: context.useGpu,
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

  const plan = interleavedPlan(settings.variants, settings.batchSizes, settings.repeats);
  for (const [position, step] of plan.entries()) {
    if (context.interrupt?.aborted) break;
    const run: RunIdentity = { ...step, backend: step.variant.label, position: position + 1, total: plan.length };
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
  const name = `${run.variant.fileName}_batch${run.batchSize}_${fileStamp(startedAt)}${context.settings.repeats > 1 ? `_r${run.repeat}` : ''}`;
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
      backend: run.variant.backend,
      serveOptions: run.variant.options,
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
  const recorded: Partial<RunEntry> = {};
  try {
    events.onBackendReady?.(run, backend);
    if (!index.parity.samples.some((sample) => sample.backend === run.backend)) await takeParitySample(context, run, backend, index, resultsDir);
    if (context.settings.warmupSeconds > 0 && !crash) await runPhase(context, run, backend, 'warm-up', abort.signal, events);
    if (crash) return failed(crash, await backend.logTail());
    recorded.service = await describeService(backend.baseUrl, events);
    const identity = { embedbenchVersion: EMBEDBENCH_VERSION, backend: run.backend, batchSize: run.batchSize, repeat: run.repeat };
    const sampler = new GpuSampler(context.gpuSource, context.settings.gpuPollSeconds).start();
    const hostMeter = await startHostUsageMeter(backend.pid);
    const timeline = context.driver.reportsEachRequest ? new TimelineRecorder(windowSecondsFor(context.settings.durationSeconds)) : undefined;
    let result: LoadResult;
    try {
      result = await runPhase(context, run, backend, 'load', abort.signal, events, timeline);
    } finally {
      recorded.host = await hostMeter.stop();
      recorded.gpuFile = `gpu_${name}.json`;
      const gpu: GpuFile = { ...identity, ...(await sampler.stop()) };
      await writeJsonAtomic(join(resultsDir, recorded.gpuFile), gpu);
    }
    if (crash) return failed(crash, await backend.logTail(), recorded);
    if (timeline) {
      recorded.timelineFile = `timeline_${name}.json`;
      const timelineFile: Timeline = { ...identity, windowSeconds: timeline.windowSeconds, windows: timeline.timeWindows(), latency: timeline.latency.encode() };
      await writeJsonAtomic(join(resultsDir, recorded.timelineFile), timelineFile);
    }
    recorded.stressFile = `stress_${name}.json`;
    await writeJsonAtomic(join(resultsDir, recorded.stressFile), result);
    return {
      backend: run.backend,
      batchSize: run.batchSize,
      repeat: run.repeat,
      status: 'completed',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      logFile,
      ...recorded,
    };
  } catch (error) {
    return failed(crash ?? errorMessage(error), await backend.logTail(), recorded);
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
  timeline?: TimelineRecorder,
): Promise<LoadResult> {
  const { settings } = context;
  const durationSeconds = phase === 'load' ? settings.durationSeconds : settings.warmupSeconds;
  return context.driver.run({
    baseUrl: backend.baseUrl,
    backend: run.backend,
    batchSize: run.batchSize,
    durationSeconds,
    onResponse: (response) => timeline?.record(response),
    scenario: settings.scenario,
    vus: settings.maxConcurrentRequests,
    rate: settings.rate,
    dataset: context.dataset,
    passages: context.passages,
    testid: `${run.variant.fileName}-b${run.batchSize}-r${run.repeat}-${phase}-${Date.now()}`,
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

/** The service's own account of how it runs; a service that cannot say is noted, not fatal. */
async function describeService(baseUrl: string, events: CompareEvents): Promise<ServiceInfo | undefined> {
  try {
    return await fetchServiceInfo(baseUrl);
  } catch (error) {
    events.onNote?.(`GET ${baseUrl}/info failed (${errorMessage(error)}); the run's execution provider is not recorded`);
    return undefined;
  }
}

async function takeParitySample(context: CompareContext, run: RunIdentity, backend: RunningBackend, index: ResultsIndex, resultsDir: string): Promise<void> {
  const { backend: name, variant: { fileName } } = run;
  try {
    const sample = await captureParitySample(backend.baseUrl, name, context.paritySample);
    const file = `parity_${fileName}_${fileStamp(new Date())}.json`;
    await writeJsonAtomic(join(resultsDir, file), sample);
    index.parity.samples.push({ backend: name, file });
    index.parity.errors = index.parity.errors.filter((entry) => entry.backend !== name);
  } catch (error) {
    index.parity.errors.push({ backend: name, error: errorMessage(error) });
  }
}
