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
  const errorRate = measured.requests === 0 ? 1 : failed / measured.requests;
  const withinP99 = measured.latencyMs !== null && measured.latencyMs.p99 <= parameters.p99TargetMs;
  const passed =
    parameters.scenario === 'saturation' ? measured.saturation?.sustainedRate != null : errorRate <= parameters.maxErrorRate && withinP99;
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
    thresholds: { p99TargetMs: parameters.p99TargetMs, maxErrorRate: parameters.maxErrorRate, passed },
    saturation: measured.saturation,
    environment: measured.environment,
  };
}
