/**
 * The built-in load driver: the k6 script's parameters, scenarios and result schema, on undici.
 * Closed model: VUS workers, each sending its next request when the previous one answers.
 * Open and saturation models: requests start on the arrival schedule whether or not earlier ones
 * have answered, and latency runs from the *intended* start, so a stalled server cannot hide its
 * stall by slowing the generator down (no coordinated omission).
 */
import { setMaxListeners } from 'node:events';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { TIMING_HEADERS } from '@embedbench/loadtest/contract';
import { checkEmbedResponse, parseTimingHeader } from '@embedbench/loadtest/embed-response';
import { batchForRequest, parsePassagesJsonl } from '@embedbench/loadtest/passages';
import type { Passage } from '@embedbench/loadtest/passages';
import { parseDurationSeconds, parseRunParameters } from '@embedbench/loadtest/parameters';
import type { RunParameters, Scenario } from '@embedbench/loadtest/parameters';
import { latencyStats, percentile } from '@embedbench/loadtest/percentiles';
import { counterDelta } from '@embedbench/loadtest/prometheus';
import { buildLoadResult, classifyResponse } from '@embedbench/loadtest/result';
import type { ErrorKey, TimingStats } from '@embedbench/loadtest/result';
import {
  arrivalTimes,
  constantRatePlan,
  judgeSaturation,
  plannedArrivals,
  saturationArrivalPlan,
  saturationSteps,
  stepAt,
} from '@embedbench/loadtest/schedule';
import type { ArrivalPlan, SaturationStep } from '@embedbench/loadtest/schedule';
import { CliError } from '../errors.js';
import { loadResultSchema, type LoadResult } from './result-schema.js';
import { collectEnvironment } from './environment.js';
import { LatencyRecorder } from './histogram.js';
import { fetchModelInfo, fetchServiceCounters } from './service.js';

/** The k6 script's environment variables, by option name (see loadtest/README.md). */
const PARAMETER_VARIABLES = {
  baseUrl: 'BASE_URL',
  backend: 'BACKEND',
  batchSize: 'BATCH_SIZE',
  duration: 'DURATION',
  scenario: 'SCENARIO',
  vus: 'VUS',
  rate: 'RATE',
  maxVus: 'MAX_VUS',
  dataset: 'DATASET',
  testid: 'TESTID',
  p99TargetMs: 'P99_TARGET_MS',
  maxErrorRate: 'MAX_ERROR_RATE',
  expectedDim: 'EXPECTED_DIM',
  timeout: 'TIMEOUT',
  saturationStartRate: 'SATURATION_START_RATE',
  saturationMaxRate: 'SATURATION_MAX_RATE',
  saturationSteps: 'SATURATION_STEPS',
} as const;

type ParameterOptions = { [name in keyof typeof PARAMETER_VARIABLES]?: string | number };

export interface LoadProgress {
  phase: 'warmup' | 'measure';
  elapsedSeconds: number;
  remainingSeconds: number;
  requests: number;
  errors: number;
  inFlight: number;
  requestsPerSecond: number;
  p99Ms: number | null;
}

export interface CompletedRequest {
  /** null for a transport failure (no response). */
  readonly latencyMs: number | null;
  readonly succeeded: boolean;
  readonly embeddings: number;
}

export interface LoadOptions extends ParameterOptions {
  scenario?: Scenario;
  /** Stop after this many measured requests (the run also stops when its duration is over). */
  maxRequests?: number | string;
  /** Unmeasured load of the same shape before measuring (a duration; 0 or absent for none). */
  warmup?: string | number;
  /** Passages to send instead of reading `dataset`. */
  passages?: readonly Passage[];
  /** Aborting stops the run: nothing new is sent, in-flight requests are cancelled, the result is still returned. */
  signal?: AbortSignal;
  onProgress?: (progress: LoadProgress) => void;
  progressIntervalMs?: number;
  /** Called as each measured request completes (not for requests cut off by the stop). */
  onResponse?: (response: CompletedRequest) => void;
  /** How long requests still in flight at the end may take before they are cancelled (default 30 s, as k6's gracefulStop). */
  gracefulStopSeconds?: number;
}

export type { LoadResult };

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const parameters = userInput(() => parseRunParameters(parameterSource(options), Date.now()));
  const maxRequests = options.maxRequests === undefined ? null : userInput(() => positiveInteger('--max-requests', String(options.maxRequests)));
  const warmupSeconds = options.warmup === undefined || Number(options.warmup) === 0 ? 0 : userInput(() => parseDurationSeconds('--warmup', String(options.warmup)));
  const passages = options.passages ?? (await readPassages(parameters.dataset));
  const info = await fetchModelInfo(parameters.baseUrl);
  const url = new URL(parameters.baseUrl);
  const connections = parameters.scenario === 'closed' ? parameters.vus : parameters.maxVus;
  const pool = new Pool(url.origin, { connections, headersTimeout: parameters.timeoutSeconds * 1000, bodyTimeout: parameters.timeoutSeconds * 1000 });
  const target: Target = {
    pool,
    path: `${url.pathname.replace(/\/+$/, '')}/embed`,
    passages,
    batchSize: parameters.batchSize,
    expectedDim: parameters.expectedDim ?? info.embeddingDim,
  };
  const steps = parameters.scenario === 'saturation' ? saturationSteps(parameters.saturation, parameters.durationSeconds) : null;
  const plan = steps ? saturationArrivalPlan(steps) : constantRatePlan(parameters.rate, parameters.durationSeconds);
  const gracefulStopMs = (options.gracefulStopSeconds ?? 30) * 1000;
  try {
    if (warmupSeconds > 0 && !options.signal?.aborted) {
      const warmupPlan = constantRatePlan(plan.startRate, warmupSeconds);
      const warmup = new Tally(null);
      await runPhase(parameters, target, warmup, { phase: 'warmup', seconds: warmupSeconds, plan: warmupPlan, steps: null, maxRequests: null, gracefulStopMs }, options);
    }
    const before = await fetchServiceCounters(parameters.baseUrl);
    const startedAtMs = Date.now();
    const tally = new Tally(steps, options.onResponse);
    const measuredMs = await runPhase(parameters, target, tally, { phase: 'measure', seconds: parameters.durationSeconds, plan, steps, maxRequests, gracefulStopMs }, options);
    const finishedAtMs = Date.now();
    const serverMetrics = counterDelta(before, await fetchServiceCounters(parameters.baseUrl));
    const result = buildLoadResult({
      driver: 'builtin',
      parameters,
      model: info.model,
      embeddingDim: target.expectedDim,
      startedAtMs,
      finishedAtMs,
      durationSeconds: Math.max(measuredMs, 1) / 1000,
      requests: tally.requests,
      dropped: tally.dropped,
      embeddings: tally.embeddings,
      errorsByStatus: tally.errors,
      latencyMs: latencyStats(tally.latency),
      serverTimingMs: {
        queue: timingStats(tally.serverTiming.queue),
        tokenization: timingStats(tally.serverTiming.tokenization),
        inference: timingStats(tally.serverTiming.inference),
        total: timingStats(tally.serverTiming.total),
      },
      serverMetrics,
      saturation: steps ? saturationResult(tally, steps, plan, parameters) : null,
      environment: await collectEnvironment(),
    });
    return loadResultSchema.parse(result);
  } finally {
    await pool.destroy();
  }
}

interface Target {
  pool: Pool;
  path: string;
  passages: readonly Passage[];
  batchSize: number;
  expectedDim: number | null;
}

interface PhaseSpec {
  phase: LoadProgress['phase'];
  seconds: number;
  plan: ArrivalPlan;
  steps: readonly SaturationStep[] | null;
  maxRequests: number | null;
  gracefulStopMs: number;
}

class Tally {
  readonly latency = new LatencyRecorder();
  readonly serverTiming = {
    queue: new LatencyRecorder(),
    tokenization: new LatencyRecorder(),
    inference: new LatencyRecorder(),
    total: new LatencyRecorder(),
  };
  readonly perStep: Array<{ latency: LatencyRecorder; requests: number; failed: number }>;
  requests = 0;
  failed = 0;
  embeddings = 0;
  dropped = 0;
  inFlight = 0;
  lastCompletion: number | null = null;
  errors: Partial<Record<ErrorKey, number>> = {};

  constructor(
    steps: readonly SaturationStep[] | null,
    readonly onResponse?: (response: CompletedRequest) => void,
  ) {
    this.perStep = (steps ?? []).map(() => ({ latency: new LatencyRecorder(), requests: 0, failed: 0 }));
  }
}

/** Runs one phase to its end; returns the measured window in ms (start to last completion). */
async function runPhase(parameters: RunParameters, target: Target, tally: Tally, spec: PhaseSpec, options: LoadOptions): Promise<number> {
  const cancel = new AbortController();
  // Every request in flight listens on this one signal.
  setMaxListeners(0, cancel.signal);
  const stopOnAbort = () => cancel.abort();
  if (options.signal?.aborted) cancel.abort();
  options.signal?.addEventListener('abort', stopOnAbort, { once: true });
  const start = performance.now();
  const deadline = start + spec.seconds * 1000;
  let nextIndex = 0;
  const claim = (): number | null => (spec.maxRequests !== null && nextIndex >= spec.maxRequests ? null : nextIndex++);
  const inFlight = new Set<Promise<void>>();
  const launch = (index: number, intendedAt: number | null, step: number | null) => {
    const sent = send(target, index, intendedAt, step, tally, cancel.signal);
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
    return sent;
  };
  const progress = startProgress(spec, tally, start, options);
  try {
    if (parameters.scenario === 'closed') {
      await runClosed(parameters.vus, deadline, claim, launch, spec.gracefulStopMs, cancel);
    } else {
      for (const dueSeconds of arrivalTimes(spec.plan)) {
        const due = start + dueSeconds * 1000;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait, undefined, { signal: cancel.signal }).catch(() => undefined);
        if (cancel.signal.aborted) break;
        const index = claim();
        if (index === null) break;
        launch(index, due, spec.steps ? stepAt(spec.steps, dueSeconds).index : null);
      }
      await drain(inFlight, spec.gracefulStopMs, cancel);
    }
  } finally {
    progress.stop();
    options.signal?.removeEventListener('abort', stopOnAbort);
  }
  return (tally.lastCompletion ?? performance.now()) - start;
}

async function runClosed(
  vus: number,
  deadline: number,
  claim: () => number | null,
  launch: (index: number, intendedAt: null, step: null) => Promise<void>,
  gracefulStopMs: number,
  cancel: AbortController,
): Promise<void> {
  const worker = async () => {
    while (performance.now() < deadline && !cancel.signal.aborted) {
      const index = claim();
      if (index === null) return;
      await launch(index, null, null);
    }
  };
  // Past the deadline no worker starts a new request; the ones in flight get the graceful stop.
  const overtime = setTimeout(() => cancel.abort(), Math.max(0, deadline - performance.now()) + gracefulStopMs);
  await Promise.all(Array.from({ length: vus }, worker));
  clearTimeout(overtime);
}

async function drain(inFlight: Set<Promise<void>>, gracefulStopMs: number, cancel: AbortController): Promise<void> {
  if (inFlight.size === 0) return;
  const timer = setTimeout(() => cancel.abort(), gracefulStopMs);
  await Promise.all(inFlight);
  clearTimeout(timer);
}

async function send(target: Target, index: number, intendedAt: number | null, step: number | null, tally: Tally, cancel: AbortSignal): Promise<void> {
  const texts = batchForRequest(target.passages, target.batchSize, index);
  const startedAt = intendedAt ?? performance.now();
  let status = 0;
  let bodyValid = false;
  let embeddings = 0;
  const timings: Partial<Record<keyof typeof TIMING_HEADERS, number>> = {};
  tally.inFlight++;
  try {
    const response = await target.pool.request({
      path: target.path,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ texts }),
      signal: cancel,
    });
    const text = await response.body.text();
    status = response.statusCode;
    if (status === 200) {
      const check = checkEmbedResponse(parseJson(text), texts.length, target.expectedDim);
      bodyValid = check.countMatches && check.dimensionMatches;
      embeddings = check.embeddings;
    }
    for (const [part, header] of Object.entries(TIMING_HEADERS) as Array<[keyof typeof TIMING_HEADERS, string]>) {
      const value = response.headers[header];
      const milliseconds = parseTimingHeader(Array.isArray(value) ? value[0] : value);
      if (milliseconds !== null) timings[part] = milliseconds;
    }
  } catch {
    if (cancel.aborted) {
      // Cut off by the stop (end of graceful period or Ctrl-C): not a completed request, as in k6.
      tally.inFlight--;
      tally.dropped++;
      return;
    }
  }
  tally.inFlight--;
  const finishedAt = performance.now();
  tally.lastCompletion = finishedAt;
  tally.requests++;
  const errorKey = classifyResponse(status, bodyValid);
  const stepTally = step === null ? undefined : tally.perStep[step];
  if (stepTally) stepTally.requests++;
  if (errorKey !== null) {
    tally.failed++;
    tally.errors[errorKey] = (tally.errors[errorKey] ?? 0) + 1;
    if (stepTally) stepTally.failed++;
  } else tally.embeddings += embeddings;
  tally.onResponse?.({ latencyMs: status === 0 ? null : finishedAt - startedAt, succeeded: errorKey === null, embeddings: errorKey === null ? embeddings : 0 });
  // A transport failure has no response time: it counts as an error, not as a latency sample.
  if (status === 0) return;
  tally.latency.record(finishedAt - startedAt);
  stepTally?.latency.record(finishedAt - startedAt);
  for (const [part, milliseconds] of Object.entries(timings) as Array<[keyof typeof TIMING_HEADERS, number]>) {
    tally.serverTiming[part].record(milliseconds);
  }
}

function startProgress(spec: PhaseSpec, tally: Tally, start: number, options: LoadOptions): { stop(): void } {
  const report = options.onProgress;
  if (!report) return { stop() {} };
  const emit = () => {
    const elapsedSeconds = (performance.now() - start) / 1000;
    report({
      phase: spec.phase,
      elapsedSeconds,
      remainingSeconds: Math.max(0, spec.seconds - elapsedSeconds),
      requests: tally.requests,
      errors: tally.failed,
      inFlight: tally.inFlight,
      requestsPerSecond: elapsedSeconds > 0 ? tally.requests / elapsedSeconds : 0,
      p99Ms: tally.latency.count > 0 ? percentile(tally.latency, 99) : null,
    });
  };
  const timer = setInterval(emit, options.progressIntervalMs ?? 1000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      emit();
    },
  };
}

function saturationResult(tally: Tally, steps: readonly SaturationStep[], plan: ArrivalPlan, parameters: RunParameters): LoadResult['saturation'] {
  const outcomes = steps.map((step, index) => {
    const stepTally = tally.perStep[index] as Tally['perStep'][number];
    return {
      rate: step.rate,
      plannedRequests: plannedArrivals(plan, step.startSeconds, step.endSeconds),
      requests: stepTally.requests,
      failed: stepTally.failed,
      p99Ms: stepTally.latency.count > 0 ? percentile(stepTally.latency, 99) : null,
    };
  });
  return { p99TargetMs: parameters.p99TargetMs, ...judgeSaturation(outcomes, parameters.p99TargetMs, parameters.maxErrorRate) };
}

function timingStats(recorder: LatencyRecorder): TimingStats | null {
  const stats = latencyStats(recorder);
  return stats && { mean: stats.mean, p50: stats.p50, p99: stats.p99 };
}

function parameterSource(options: LoadOptions): Record<string, string | undefined> {
  const source: Record<string, string | undefined> = {};
  for (const [option, variable] of Object.entries(PARAMETER_VARIABLES)) {
    const value = options[option as keyof ParameterOptions];
    if (value !== undefined) source[variable] = String(value);
  }
  return source;
}

async function readPassages(path: string): Promise<Passage[]> {
  let content: string;
  try {
    content = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read dataset ${path}: ${(error as Error).message} (prepare one with \`embedbench data prepare\`)`);
  }
  return userInput(() => parsePassagesJsonl(content, path));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${text}"`);
  return value;
}

function userInput<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}
