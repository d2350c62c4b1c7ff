/**
 * Turns the data k6 hands to handleSummary into a LoadResult, reading the metrics that
 * loadtest/embed.ts defines (names below, shared with it so they cannot drift apart).
 */
import type { LatencyStats } from './percentiles.ts';
import type { RunParameters } from './parameters.ts';
import { buildLoadResult, TRACKED_ERROR_KEYS } from './result.ts';
import type { Environment, ErrorKey, LoadResult, TimingStats } from './result.ts';
import { judgeSaturation, plannedArrivals, saturationArrivalPlan } from './schedule.ts';
import type { SaturationStep } from './schedule.ts';

export const K6_METRICS = {
  embeddings: 'embeddings',
  serverQueue: 'server_queue_time',
  serverTokenization: 'server_tokenization_time',
  serverInference: 'server_inference_time',
  serverTotal: 'server_total_time',
  /** A Rate: true for a failed request, so `passes` counts failures. */
  failures: 'embed_failures',
  serverRequestsDelta: 'server_embed_requests_delta',
  serverTokensDelta: 'server_tokens_delta',
} as const;

/** Tag on every POST /embed, so setup's GET /info and teardown's GET /metrics stay out of the figures. */
export const EMBED_TAGS = { endpoint: 'embed' } as const;
export const STEP_TAG = 'rate_step';

export const errorCounterName = (key: ErrorKey): string => `errors_${key}`;
export const embedDurationMetric = `http_req_duration{endpoint:${EMBED_TAGS.endpoint}}`;
export const embedRequestsMetric = `http_reqs{endpoint:${EMBED_TAGS.endpoint}}`;
export const stepMetric = (metric: 'http_req_duration' | 'http_reqs' | typeof K6_METRICS.failures, step: number): string =>
  `${metric}{${STEP_TAG}:${step}}`;

/** The trend statistics handleSummary needs; embed.ts sets them as summaryTrendStats. */
export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'];

export interface K6Metric {
  type: string;
  contains?: string;
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

/** The part of k6's handleSummary argument this module reads. */
export interface K6SummaryData {
  metrics: Record<string, K6Metric | undefined>;
  state: { testRunDurationMs: number; isStdOutTTY?: boolean; isStdErrTTY?: boolean };
}

export interface K6RunContext {
  parameters: RunParameters;
  model: string | null;
  embeddingDim: number | null;
  startedAtMs: number;
  finishedAtMs: number;
  steps: readonly SaturationStep[] | null;
  environment: Environment;
}

export function resultFromK6Summary(data: K6SummaryData, context: K6RunContext): LoadResult {
  const value = (metric: string, stat: string): number | null => data.metrics[metric]?.values[stat] ?? null;
  const errorsByStatus: Partial<Record<ErrorKey, number>> = {};
  for (const key of TRACKED_ERROR_KEYS) {
    const count = value(errorCounterName(key), 'count');
    if (count) errorsByStatus[key] = count;
  }
  return buildLoadResult({
    driver: 'k6',
    parameters: context.parameters,
    model: context.model,
    embeddingDim: context.embeddingDim,
    startedAtMs: context.startedAtMs,
    finishedAtMs: context.finishedAtMs,
    durationSeconds: data.state.testRunDurationMs / 1000,
    requests: value(embedRequestsMetric, 'count') ?? 0,
    dropped: value('dropped_iterations', 'count') ?? 0,
    embeddings: value(K6_METRICS.embeddings, 'count') ?? 0,
    errorsByStatus,
    latencyMs: trendLatency(data, embedDurationMetric),
    serverTimingMs: {
      queue: trendTiming(data, K6_METRICS.serverQueue),
      tokenization: trendTiming(data, K6_METRICS.serverTokenization),
      inference: trendTiming(data, K6_METRICS.serverInference),
      total: trendTiming(data, K6_METRICS.serverTotal),
    },
    serverMetrics: {
      requests: value(K6_METRICS.serverRequestsDelta, 'count'),
      tokens: value(K6_METRICS.serverTokensDelta, 'count'),
    },
    saturation: context.steps ? saturationFromSummary(data, context.steps, context.parameters) : null,
    environment: context.environment,
  });
}

function trendLatency(data: K6SummaryData, metric: string): LatencyStats | null {
  const values = data.metrics[metric]?.values;
  if (!values || !values.count) return null;
  const stat = (name: string): number => {
    const found = values[name];
    if (found === undefined) throw new Error(`k6 summary lacks ${metric} ${name}; set summaryTrendStats to ${SUMMARY_TREND_STATS.join(',')}`);
    return found;
  };
  return { min: stat('min'), mean: stat('avg'), p50: stat('med'), p90: stat('p(90)'), p95: stat('p(95)'), p99: stat('p(99)'), max: stat('max') };
}

function trendTiming(data: K6SummaryData, metric: string): TimingStats | null {
  const latency = trendLatency(data, metric);
  return latency && { mean: latency.mean, p50: latency.p50, p99: latency.p99 };
}

function saturationFromSummary(data: K6SummaryData, steps: readonly SaturationStep[], parameters: RunParameters): LoadResult['saturation'] {
  const plan = saturationArrivalPlan(steps);
  const outcomes = steps.map((step) => ({
    rate: step.rate,
    plannedRequests: plannedArrivals(plan, step.startSeconds, step.endSeconds),
    requests: data.metrics[stepMetric('http_reqs', step.index)]?.values.count ?? 0,
    failed: data.metrics[stepMetric(K6_METRICS.failures, step.index)]?.values.passes ?? 0,
    p99Ms: data.metrics[stepMetric('http_req_duration', step.index)]?.values['p(99)'] ?? null,
  }));
  return { p99TargetMs: parameters.p99TargetMs, ...judgeSaturation(outcomes, parameters.p99TargetMs, parameters.maxErrorRate) };
}
