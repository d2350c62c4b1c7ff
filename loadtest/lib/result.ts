/**
 * The shape of one load-test result, built here by both drivers (k6's handleSummary and
 * `embedbench load`) so derived figures are computed once. The versioned zod schema that validates
 * it, and documents every field, is bench/src/load/result-schema.ts; a compile-time check there keeps
 * the two identical.
 */
import type { LatencyStats } from './percentiles.ts';
import type { RunParameters, Scenario } from './parameters.ts';
import type { JudgedStep } from './schedule.ts';

export const RESULT_SCHEMA_VERSION = 1;

export type Driver = 'k6' | 'builtin';

/** Statuses the service answers by design (README, "The HTTP API") get their own key; anything else is "other". */
export const TRACKED_ERROR_KEYS = ['400', '404', '413', '415', '422', '429', '500', '502', '503', '504', 'other', 'network', 'invalid_response'] as const;
export type ErrorKey = (typeof TRACKED_ERROR_KEYS)[number];

/**
 * status 0 is a transport failure (refused, reset, timeout); a 200 whose body fails the checks
 * (wrong count or dimension) is "invalid_response"; null means the request succeeded.
 */
export function classifyResponse(status: number, bodyValid: boolean): ErrorKey | null {
  if (status === 0) return 'network';
  if (status === 200) return bodyValid ? null : 'invalid_response';
  const key = String(status);
  return (TRACKED_ERROR_KEYS as readonly string[]).includes(key) ? (key as ErrorKey) : 'other';
}

export interface TimingStats {
  mean: number;
  p50: number;
  p99: number;
}

export interface Environment {
  hostname: string | null;
  os: string | null;
  cpuModel: string | null;
  cpuCount: number | null;
  memoryBytes: number | null;
  /** null: not known (k6 cannot look); []: looked and found none. */
  gpus: string[] | null;
  runtime: string;
  embedbenchVersion: string | null;
  gitSha: string | null;
}

export interface LoadResult {
  schemaVersion: typeof RESULT_SCHEMA_VERSION;
  testid: string;
  driver: Driver;
  backend: string;
  model: string | null;
  embeddingDim: number | null;
  baseUrl: string;
  scenario: Scenario;
  batchSize: number;
  load: { vus: number | null; rate: number | null; maxVus: number | null };
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  requests: { total: number; succeeded: number; failed: number; dropped: number };
  embeddings: number;
  successRate: number;
  errorsByStatus: Partial<Record<ErrorKey, number>>;
  throughput: { requestsPerSecond: number; embeddingsPerSecond: number; tokensPerSecond: number | null };
  latencyMs: LatencyStats | null;
  serverTimingMs: { queue: TimingStats | null; tokenization: TimingStats | null; inference: TimingStats | null; total: TimingStats | null };
  serverMetrics: { requests: number | null; tokens: number | null };
  thresholds: { p99TargetMs: number; maxErrorRate: number; passed: boolean };
  saturation: { p99TargetMs: number; sustainedRate: number | null; steps: JudgedStep[] } | null;
  environment: Environment;
}

/** What a driver measured; everything else in the result is derived from it here. */
export interface Measurement {
  driver: Driver;
  parameters: RunParameters;
  model: string | null;
  embeddingDim: number | null;
  startedAtMs: number;
  finishedAtMs: number;
  /** The measured window (warm-up excluded), which every rate is divided by. */
  durationSeconds: number;
  requests: number;
  dropped: number;
  embeddings: number;
  errorsByStatus: Partial<Record<ErrorKey, number>>;
  latencyMs: LatencyStats | null;
  serverTimingMs: LoadResult['serverTimingMs'];
  serverMetrics: LoadResult['serverMetrics'];
  saturation: LoadResult['saturation'];
  environment: Environment;
}

export function buildLoadResult(measured: Measurement): LoadResult {
  const { parameters } = measured;
  const failed = Object.values(measured.errorsByStatus).reduce((total, count) => total + (count ?? 0), 0);
  const succeeded = measured.requests - failed;
  const successRate = measured.requests === 0 ? 0 : succeeded / measured.requests;
  const seconds = measured.durationSeconds;
  const targets = { p99TargetMs: parameters.p99TargetMs, maxErrorRate: parameters.maxErrorRate };
  const failures = thresholdFailures({
    scenario: parameters.scenario,
    requests: { total: measured.requests, failed },
    latencyMs: measured.latencyMs,
    saturation: measured.saturation,
    thresholds: targets,
  });
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    testid: parameters.testid,
    driver: measured.driver,
    backend: parameters.backend,
    model: measured.model,
    embeddingDim: measured.embeddingDim,
    baseUrl: parameters.baseUrl,
    scenario: parameters.scenario,
    batchSize: parameters.batchSize,
    load: {
      vus: parameters.scenario === 'closed' ? parameters.vus : null,
      rate: parameters.scenario === 'open' ? parameters.rate : null,
      maxVus: parameters.scenario === 'closed' ? null : parameters.maxVus,
    },
    startedAt: new Date(measured.startedAtMs).toISOString(),
    finishedAt: new Date(measured.finishedAtMs).toISOString(),
    durationSeconds: seconds,
    requests: { total: measured.requests, succeeded, failed, dropped: measured.dropped },
    embeddings: measured.embeddings,
    successRate,
    errorsByStatus: measured.errorsByStatus,
    throughput: {
      requestsPerSecond: measured.requests / seconds,
      embeddingsPerSecond: measured.embeddings / seconds,
      tokensPerSecond: measured.serverMetrics.tokens === null ? null : measured.serverMetrics.tokens / seconds,
    },
    latencyMs: measured.latencyMs,
    serverTimingMs: measured.serverTimingMs,
    serverMetrics: measured.serverMetrics,
    thresholds: { ...targets, passed: failures.length === 0 },
    saturation: measured.saturation,
    environment: measured.environment,
  };
}

interface ThresholdInputs {
  scenario: Scenario;
  requests: Pick<LoadResult['requests'], 'total' | 'failed'>;
  latencyMs: LatencyStats | null;
  saturation: LoadResult['saturation'];
  thresholds: Pick<LoadResult['thresholds'], 'p99TargetMs' | 'maxErrorRate'>;
}

/**
 * Each threshold the run missed, with its measured value and by how much; empty when it passed.
 * closed/open: the error rate within --max-error-rate and p99 within --p99-target-ms; saturation:
 * some step sustained its rate.
 */
export function thresholdFailures(run: ThresholdInputs): string[] {
  const { p99TargetMs, maxErrorRate } = run.thresholds;
  if (run.scenario === 'saturation') {
    return run.saturation?.sustainedRate != null ? [] : [`no step sustained its rate with p99 within ${p99TargetMs} ms`];
  }
  const failures: string[] = [];
  const errorRate = run.requests.total === 0 ? 1 : run.requests.failed / run.requests.total;
  if (!(errorRate <= maxErrorRate)) {
    failures.push(
      `error rate ${percent(errorRate)} > ${percent(maxErrorRate)} limit (${run.requests.failed} of ${run.requests.total} requests failed)`,
    );
  }
  const p99 = run.latencyMs?.p99;
  if (p99 === undefined) failures.push(`p99 unknown (no request succeeded), target ${p99TargetMs} ms`);
  else if (p99 > p99TargetMs) failures.push(`p99 ${p99.toFixed(1)} ms > ${p99TargetMs} ms target (+${(p99 - p99TargetMs).toFixed(1)} ms)`);
  return failures;
}

/** The end of both drivers' summary lines: "thresholds passed" or "thresholds FAILED: <each failure>". */
export function describeThresholds(result: LoadResult): string {
  const failures = thresholdFailures(result);
  return failures.length === 0 ? 'thresholds passed' : `thresholds FAILED: ${failures.join('; ')}`;
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}
