import { z } from 'zod';
import { SCENARIOS } from '@embedbench/loadtest/parameters';
import { DEFAULT_PARITY_THRESHOLD } from './parity.js';
import type { Variant } from '../result-files/schemas.js';
import { RUNTIME_NAMES } from './runtimes/types.js';
import { parseVariants, VariantError } from './variants.js';

export const DRIVERS = ['auto', 'k6', 'builtin'] as const;
export const PRESETS = ['quickstart'] as const;
export type Preset = (typeof PRESETS)[number];

/**
 * The Python run_comparison.py's options, accepted both as `--name` and as its
 * `--config.name` spelling (commander turns them into `name` and `config.name` attributes).
 */
export const POC_OPTIONS = {
  durationMinutes: 'duration-minutes',
  batchSizes: 'batch-sizes',
  maxConcurrentRequests: 'max-concurrent-requests',
  numSentences: 'num-sentences',
} as const;

/** Values the user did not give come from the preset, then from these defaults. */
export const DEFAULTS = {
  backends: ['transformers', 'onnx'],
  data: 'data/passages.jsonl',
  durationMinutes: 10,
  batchSizes: [16, 32, 64],
  maxConcurrentRequests: 10,
  numSentences: 100_000,
  scenario: 'closed',
  rate: 10,
  warmup: 10,
  repeats: 3,
  driver: 'auto',
  runtime: 'local',
  resultsDir: 'results',
  gpuPollSeconds: 5,
  startupTimeoutSeconds: 600,
  paritySample: 16,
  parityThreshold: DEFAULT_PARITY_THRESHOLD,
} as const;

/**
 * The embedded default behind README's main command: fits a fresh offline 2-core CPU machine in
 * under 10 minutes (model synthesis and data preparation included) while still comparing two batch sizes.
 */
export const QUICKSTART_PRESET = {
  // 2 variants x 2 batch sizes x 3 repeats of (2 + 10) s plus a start-up each: about 4 minutes.
  durationSeconds: 10,
  // On 2 CPU cores the base-size model embeds about 5 passages/s: larger batches or more clients
  // leave requests queued past the end of the run, where they are cut off and count as failures.
  batchSizes: [1, 8],
  maxConcurrentRequests: 2,
  numSentences: 2000,
  warmup: 2,
  repeats: 3,
} as const;

/** Splits on spaces and commas outside brackets, so `onnx[dtype=q8,workers=2]` stays one item. */
function splitOutsideBrackets(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  let depth = 0;
  for (const character of text) {
    if (character === '[') depth++;
    else if (character === ']') depth = Math.max(0, depth - 1);
    if (depth === 0 && /[\s,]/.test(character)) {
      parts.push(current);
      current = '';
    } else current += character;
  }
  return [...parts, current].filter(Boolean);
}

/** Space-separated (`16 32 64`, commander's variadic array) and comma-separated lists alike. */
const splitList = z
  .union([z.string(), z.number(), z.array(z.union([z.string(), z.number()]))])
  .transform((value) => (Array.isArray(value) ? value : [value]).flatMap((part) => splitOutsideBrackets(String(part))));

const positiveInt = z.coerce.number().int().positive();
const positiveNumber = z.coerce.number().positive();

const compareSchema = z
  .object({
    backends: splitList.pipe(z.array(z.string()).min(1)),
    model: z.string().min(1).optional(),
    modelId: z.string().min(1).optional(),
    preset: z.enum(PRESETS).optional(),
    data: z.string().min(1),
    durationMinutes: positiveNumber,
    durationSeconds: positiveNumber.optional(),
    batchSizes: splitList.pipe(z.array(z.string().regex(/^\d+$/, 'batch sizes are positive integers').transform(Number).pipe(z.number().int().positive())).min(1)),
    maxConcurrentRequests: positiveInt,
    numSentences: positiveInt,
    scenario: z.enum(SCENARIOS),
    rate: positiveNumber,
    warmup: z.coerce.number().nonnegative(),
    repeats: positiveInt,
    driver: z.enum(DRIVERS),
    runtime: z.enum(RUNTIME_NAMES),
    resultsDir: z.string().min(1),
    gpuMetricsUrl: z.url({ protocol: /^https?$/ }).optional(),
    gpuPollSeconds: positiveNumber,
    startupTimeoutSeconds: positiveNumber,
    image: z
      .array(z.string().regex(/^[\w-]+=.+$/, 'expected BACKEND=IMAGE'))
      .default([])
      .transform((pairs) => Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]))),
    paritySample: positiveInt,
    parityThreshold: z.coerce.number().min(-1).max(1),
  });

export interface CompareSettings {
  /** The backends with their serve options, in the order given; each is one column of the results. */
  readonly variants: readonly Variant[];
  /** A model directory or Hub id; undefined means the quickstart preset chooses one. */
  readonly model: string | undefined;
  readonly modelId: string | undefined;
  readonly preset: Preset | undefined;
  readonly dataPath: string;
  readonly durationSeconds: number;
  readonly batchSizes: readonly number[];
  readonly maxConcurrentRequests: number;
  readonly numSentences: number;
  readonly scenario: (typeof SCENARIOS)[number];
  /** Requests per second for the open scenario; the top rate for saturation. */
  readonly rate: number;
  readonly warmupSeconds: number;
  readonly repeats: number;
  readonly driver: (typeof DRIVERS)[number];
  readonly runtime: (typeof RUNTIME_NAMES)[number];
  readonly resultsDir: string;
  readonly gpuMetricsUrl: string | undefined;
  readonly gpuPollSeconds: number;
  readonly startupTimeoutSeconds: number;
  readonly images: Readonly<Record<string, string>>;
  readonly paritySampleSize: number;
  readonly parityThreshold: number;
}

export class CompareOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CompareOptionsError';
  }
}

const flagName = (key: string): string => `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;

/** Folds `--config.x` into `--x` (refusing two different values), then layers preset and defaults. */
export function parseCompareOptions(raw: Readonly<Record<string, unknown>>): CompareSettings {
  const merged: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value !== undefined && !key.startsWith('config.')) merged[key] = value;
  }
  for (const key of Object.keys(POC_OPTIONS) as Array<keyof typeof POC_OPTIONS>) {
    const dotted = raw[`config.${key}`];
    if (dotted === undefined) continue;
    if (merged[key] !== undefined && JSON.stringify(merged[key]) !== JSON.stringify(dotted)) {
      throw new CompareOptionsError(`--${POC_OPTIONS[key]} and --config.${POC_OPTIONS[key]} disagree; give one of them`);
    }
    merged[key] = dotted;
  }
  const preset = merged.preset ?? (merged.model === undefined ? 'quickstart' : undefined);
  const presetValues: Record<string, unknown> = preset === 'quickstart' ? { ...QUICKSTART_PRESET } : {};
  // An explicit --duration-minutes beats the preset's duration in seconds.
  if (merged.durationMinutes !== undefined) delete presetValues.durationSeconds;
  const parsed = compareSchema.safeParse({ ...DEFAULTS, ...presetValues, ...merged, preset });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${flagName(String(issue.path[0] ?? 'options'))}: ${issue.message}`);
    throw new CompareOptionsError(`invalid compare options:\n  ${lines.join('\n  ')}`);
  }
  const options = parsed.data;
  let variants: Variant[];
  try {
    variants = parseVariants(options.backends);
  } catch (error) {
    if (error instanceof VariantError) throw new CompareOptionsError(`invalid compare options:\n  --backends: ${error.message}`);
    throw error;
  }
  return {
    variants,
    model: options.model,
    modelId: options.modelId,
    preset: options.preset,
    dataPath: options.data,
    durationSeconds: options.durationSeconds ?? options.durationMinutes * 60,
    batchSizes: [...new Set(options.batchSizes)],
    maxConcurrentRequests: options.maxConcurrentRequests,
    numSentences: options.numSentences,
    scenario: options.scenario,
    rate: options.rate,
    warmupSeconds: options.warmup,
    repeats: options.repeats,
    driver: options.driver,
    runtime: options.runtime,
    resultsDir: options.resultsDir,
    gpuMetricsUrl: options.gpuMetricsUrl,
    gpuPollSeconds: options.gpuPollSeconds,
    startupTimeoutSeconds: options.startupTimeoutSeconds,
    images: options.image,
    paritySampleSize: options.paritySample,
    parityThreshold: options.parityThreshold,
  };
}
