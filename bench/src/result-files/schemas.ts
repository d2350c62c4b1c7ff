/**
 * Every file a comparison writes, as zod schemas: `embedbench compare` writes them and
 * `embedbench report` reads them back, both from here. The load result (stress_*.json) is defined
 * beside its builder in load/result-schema.ts and re-exported here.
 */
import { z } from 'zod';

export { loadResultSchema, parseLoadResult, type LoadResult } from '../load/result-schema.js';

/** The EmbedBench version that wrote a file (absent in files written before it was recorded). */
const writtenBy = z.string().optional();

export const gpuSampleSchema = z.object({
  timestamp: z.string(),
  gpu: z.string(),
  utilizationPercent: z.number().nullable(),
  memoryUsedMiB: z.number().nullable(),
  memoryTotalMiB: z.number().nullable(),
  powerWatts: z.number().nullable(),
  temperatureCelsius: z.number().nullable(),
});
export type GpuSample = z.infer<typeof gpuSampleSchema>;

export const GPU_SOURCES = ['dcgm-exporter', 'nvidia-smi', 'none'] as const;
export type GpuSourceKind = (typeof GPU_SOURCES)[number];

/** What a GPU sampler recorded during one run. */
export const gpuRecordingSchema = z.object({
  source: z.enum(GPU_SOURCES),
  /** The URL, the command, or why there are no samples. */
  detail: z.string(),
  pollSeconds: z.number(),
  startedAt: z.string(),
  finishedAt: z.string(),
  samples: z.array(gpuSampleSchema),
  /** Sampling failures (a scrape that timed out, a command that failed), at most a few. */
  errors: z.array(z.string()),
});
export type GpuRecording = z.infer<typeof gpuRecordingSchema>;

/** The content of one gpu_<variant>_batch<N>_<ts>.json file. */
export const gpuFileSchema = gpuRecordingSchema.extend({
  embedbenchVersion: writtenBy,
  backend: z.string(),
  batchSize: z.number().int().positive(),
  repeat: z.number().int().positive(),
});
export type GpuFile = z.infer<typeof gpuFileSchema>;

/** One variant's embeddings of the fixed parity sample: parity_<variant>_<ts>.json. */
export const paritySampleSchema = z.object({
  embedbenchVersion: writtenBy,
  backend: z.string(),
  capturedAt: z.string(),
  pids: z.array(z.string()),
  embeddings: z.array(z.array(z.number())),
});
export type ParitySample = z.infer<typeof paritySampleSchema>;

/** An HDR latency histogram (hdr-histogram-js compressed base64, microseconds) with its exact count, sum, min and max in ms. */
export const encodedLatenciesSchema = z.object({
  histogram: z.string(),
  count: z.number().int().nonnegative(),
  sumMs: z.number().nonnegative(),
  minMs: z.number().nonnegative(),
  maxMs: z.number().nonnegative(),
});
export type EncodedLatencies = z.infer<typeof encodedLatenciesSchema>;

/** Requests that completed within one time window of the measured load. */
export const timeWindowSchema = z.object({
  requests: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  embeddings: z.number().int().nonnegative(),
  /** Sum and count of the latencies of the requests that got a response (for the window's mean). */
  latencySumMs: z.number().nonnegative(),
  latencyCount: z.number().int().nonnegative(),
  latencyMaxMs: z.number().nonnegative(),
});
export type TimeWindow = z.infer<typeof timeWindowSchema>;

/** timeline_<variant>_batch<N>_<ts>.json: the measured load of one run, window by window, and all its latencies. */
export const timelineSchema = z.object({
  embedbenchVersion: writtenBy,
  backend: z.string(),
  batchSize: z.number().int().positive(),
  repeat: z.number().int().positive(),
  windowSeconds: z.number().positive(),
  windows: z.array(timeWindowSchema),
  latency: encodedLatenciesSchema,
});
export type Timeline = z.infer<typeof timelineSchema>;

/**
 * How busy the host was during a run's measured load, from /proc (Linux): shares are fractions of
 * all CPUs' time; null where /proc could not say.
 */
export const hostUsageSchema = z.object({
  cpuCount: z.number().int().positive().nullable(),
  /** The 1-minute load average at the end of the run. */
  loadAverage1m: z.number().nonnegative().nullable(),
  /** CPU time in use by anything (user, nice, system, irq). */
  busyShare: z.number().min(0).max(1).nullable(),
  /** CPU time of this process and the backend's process. */
  ownShare: z.number().min(0).max(1).nullable(),
  /** busy minus own: other processes on the host; null when the backend's process could not be measured (containers). */
  othersShare: z.number().min(0).max(1).nullable(),
  /** Time the hypervisor gave to other guests. */
  stealShare: z.number().min(0).max(1).nullable(),
});
export type HostUsage = z.infer<typeof hostUsageSchema>;

/** What the running service said about itself in GET /info just before its load. */
export const serviceInfoSchema = z.object({
  executionProvider: z.string().nullable(),
  dtype: z.string().nullable(),
  gpuAvailable: z.boolean().nullable(),
  /** Every execution provider the backend considered, in order, with why it is or is not in use (/info's execution_providers). */
  providers: z.array(z.object({ provider: z.string(), status: z.string(), reason: z.string() })).optional(),
});
export type ServiceInfo = z.infer<typeof serviceInfoSchema>;

/** A backend with `embedbench serve` options: `onnx`, `onnx[dtype=q8]`; the label names it everywhere. */
export const variantSchema = z.object({
  label: z.string().min(1),
  backend: z.string().min(1),
  options: z.record(z.string(), z.string()),
  /** The label as it appears in file names. */
  fileName: z.string().regex(/^[\w.-]+$/),
});
export type Variant = z.infer<typeof variantSchema>;

export const runEntrySchema = z.object({
  /** The variant's label. */
  backend: z.string(),
  batchSize: z.number().int().positive(),
  /** 1-based repeat number. */
  repeat: z.number().int().positive(),
  status: z.enum(['completed', 'failed']),
  startedAt: z.string(),
  finishedAt: z.string(),
  /** Files relative to the results directory. */
  stressFile: z.string().optional(),
  gpuFile: z.string().optional(),
  timelineFile: z.string().optional(),
  logFile: z.string().optional(),
  service: serviceInfoSchema.optional(),
  host: hostUsageSchema.optional(),
  error: z.string().optional(),
  logTail: z.string().optional(),
});
export type RunEntry = z.infer<typeof runEntrySchema>;

export const modelRecordSchema = z.object({
  /** What the services report, e.g. answerdotai/ModernBERT-base or modernbert-tiny. */
  id: z.string(),
  path: z.string(),
  /** True for weights made by `model synth`: figures then say nothing about the real model's quality. */
  synthetic: z.boolean(),
  /** How the model was chosen, in words (printed and shown in the report). */
  provenance: z.string(),
});

export const RESULTS_INDEX_SCHEMA_VERSION = 2;

/** results_index.json: what a comparison ran and where each run's files are. */
export const resultsIndexSchema = z.object({
  schemaVersion: z.literal(RESULTS_INDEX_SCHEMA_VERSION),
  embedbenchVersion: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  model: modelRecordSchema,
  data: z.object({ path: z.string(), passages: z.number().int().nonnegative() }),
  settings: z.object({
    variants: z.array(variantSchema).min(1),
    batchSizes: z.array(z.number().int().positive()),
    durationSeconds: z.number().positive(),
    maxConcurrentRequests: z.number().int().positive(),
    scenario: z.string(),
    warmupSeconds: z.number().nonnegative(),
    repeats: z.number().int().positive(),
    driver: z.string(),
    runtime: z.string(),
    /** Whether the backends were given the host's GPUs. */
    useGpu: z.boolean(),
  }),
  gpu: z.object({ source: z.string(), detail: z.string() }),
  parity: z.object({
    threshold: z.number(),
    samples: z.array(z.object({ backend: z.string(), file: z.string() })),
    /** Variants whose parity sample could not be taken, with the reason. */
    errors: z.array(z.object({ backend: z.string(), error: z.string() })),
  }),
  runs: z.array(runEntrySchema),
});
export type ResultsIndex = z.infer<typeof resultsIndexSchema>;
