/**
 * The versioned result of one load-test run, written by `embedbench load` and by k6's handleSummary
 * (loadtest/embed.ts), read by `embedbench compare` and `embedbench report`.
 *
 * Version history: 1, the first. Bump `schemaVersion` on any change that breaks a reader, and keep
 * this file and loadtest/lib/result.ts (which builds the object) in step: the `_schemaMatchesBuilder`
 * check below fails the build when they differ.
 *
 * Units: times in milliseconds unless the name says seconds; rates per second.
 */
import { z } from 'zod';
import { RESULT_SCHEMA_VERSION, TRACKED_ERROR_KEYS } from '@embedbench/loadtest/result';
import type { LoadResult as BuiltLoadResult } from '@embedbench/loadtest/result';
import { SCENARIOS } from '@embedbench/loadtest/parameters';

const count = z.number().int().nonnegative();
const milliseconds = z.number().nonnegative();
const perSecond = z.number().nonnegative();

const latencyStats = z
  .object({ min: milliseconds, mean: milliseconds, p50: milliseconds, p90: milliseconds, p95: milliseconds, p99: milliseconds, max: milliseconds })
  .describe('latency per request in ms; percentiles interpolated as k6 does (linear between neighbouring ranks)');

const timingStats = z.object({ mean: milliseconds, p50: milliseconds, p99: milliseconds });

const saturationStep = z.object({
  rate: perSecond.describe('the step\'s target arrival rate'),
  plannedRequests: count.describe('requests the schedule planned within the step'),
  requests: count.describe('requests actually sent within the step'),
  failed: count,
  p99Ms: milliseconds.nullable(),
  errorRate: z.number().min(0).max(1),
  sustained: z.boolean().describe('sent >= 95% of planned, error rate within budget, p99 within target'),
});

export const loadResultSchema = z.object({
  schemaVersion: z.literal(RESULT_SCHEMA_VERSION),
  testid: z.string().min(1).describe('run identifier; also the k6 `testid` tag'),
  driver: z.enum(['k6', 'builtin']).describe('which load generator produced the result'),
  backend: z.string().min(1).describe('backend label (transformers, onnx, ...)'),
  model: z.string().nullable().describe('model id reported by GET /info; null if the service did not say'),
  embeddingDim: z.number().int().positive().nullable(),
  baseUrl: z.string().url(),
  scenario: z.enum(SCENARIOS).describe('closed = fixed VUs, open = fixed arrival rate, saturation = rising rate steps'),
  batchSize: z.number().int().positive().describe('passages per POST /embed'),
  load: z.object({
    vus: z.number().int().positive().nullable().describe('closed model: concurrent virtual users'),
    rate: perSecond.nullable().describe('open model: requests started per second'),
    maxVus: z.number().int().positive().nullable().describe('open/saturation: most requests in flight at once'),
  }),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  durationSeconds: z.number().positive().describe('measured window the rates are divided by (warm-up excluded)'),
  requests: z.object({
    total: count.describe('POST /embed requests completed (any status)'),
    succeeded: count.describe('status 200 with one embedding of the right dimension per input'),
    failed: count,
    dropped: count.describe('scheduled requests never sent (k6 dropped_iterations; builtin: cut off at stop)'),
  }),
  embeddings: count,
  successRate: z.number().min(0).max(1),
  errorsByStatus: z
    .partialRecord(z.enum(TRACKED_ERROR_KEYS), count)
    .describe('failed requests by HTTP status; "network" = no response, "invalid_response" = 200 failing the checks'),
  throughput: z.object({
    requestsPerSecond: perSecond,
    embeddingsPerSecond: perSecond,
    tokensPerSecond: perSecond.nullable().describe('from the service /metrics embedbench_tokens_total delta; null = unknown'),
  }),
  latencyMs: latencyStats.nullable().describe('client-side latency; open model (builtin) measured from the intended send time'),
  serverTimingMs: z
    .object({ queue: timingStats.nullable(), tokenization: timingStats.nullable(), inference: timingStats.nullable(), total: timingStats.nullable() })
    .describe('from the x-queue-time, x-tokenization-time, x-inference-time and x-total-time headers; null when absent'),
  serverMetrics: z
    .object({ requests: count.nullable(), tokens: count.nullable() })
    .describe('deltas of the service counters over the measured window; null when /metrics was unreachable'),
  thresholds: z.object({ p99TargetMs: milliseconds, maxErrorRate: z.number().min(0).max(1), passed: z.boolean() }),
  saturation: z
    .object({ p99TargetMs: milliseconds, sustainedRate: perSecond.nullable(), steps: z.array(saturationStep) })
    .nullable()
    .describe('saturation scenario only: the highest rate sustained within the p99 target, step by step'),
  environment: z.object({
    hostname: z.string().nullable(),
    os: z.string().nullable(),
    cpuModel: z.string().nullable(),
    cpuCount: z.number().int().positive().nullable(),
    memoryBytes: z.number().int().positive().nullable(),
    gpus: z.array(z.string()).nullable().describe('null = unknown; [] = none found'),
    runtime: z.string().describe('"node v20..." for the builtin driver, "k6 ..." for k6'),
    embedbenchVersion: z.string().nullable(),
    gitSha: z.string().nullable(),
  }),
});

export type LoadResult = z.infer<typeof loadResultSchema>;

type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const _schemaMatchesBuilder: Same<LoadResult, BuiltLoadResult> = true;

/** Parses a result file's JSON, with an error naming the first wrong field. */
export function parseLoadResult(json: unknown, source: string): LoadResult {
  const parsed = loadResultSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${source}: not a load result (schema v${RESULT_SCHEMA_VERSION}): ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return parsed.data;
}
