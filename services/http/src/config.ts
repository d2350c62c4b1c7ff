import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import {
  BACKEND_NAMES,
  DEVICES,
  DTYPES,
  EXECUTION_PROVIDERS,
  type BackendName,
  type Device,
  type Dtype,
  type ExecutionProvider,
} from '@embedbench/core/backend';
import type { BatchingSettings } from '@embedbench/core/config';
import { z } from 'zod';

export const DEFAULT_BODY_TIMEOUT_MS = 10_000;

/** Input tokens per text unless the operator raises it: the longest of 8,192 prepared MS MARCO passages is 431 tokens. */
export const DEFAULT_MAX_INPUT_TOKENS = 512;

/** Route groups that may be served without the API key; embedding routes never are. */
export const AUTH_EXEMPTABLE_ROUTES = ['health', 'metrics', 'info'] as const;
export type AuthExemptableRoute = (typeof AUTH_EXEMPTABLE_ROUTES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Default ports, so both services can run side by side. */
export const DEFAULT_PORTS: Record<BackendName, number> = { transformers: 8000, onnx: 8002 };

/**
 * One table for every `embedbench serve` setting. The environment variable is always
 * EMBEDBENCH_ + the flag name in upper case with dashes turned into underscores.
 */
export const SERVE_FLAGS = {
  backend: { description: `backend to serve: ${BACKEND_NAMES.join('|')}`, required: true },
  model: { description: 'model directory (fetch a Hugging Face model first: embedbench model fetch)', required: true },
  'model-id': { description: 'model name reported by the API (default: the --model value)' },
  port: { description: 'TCP port (default 8000 for transformers, 8002 for onnx; 0 picks a free port)' },
  host: { description: 'address to bind (default 127.0.0.1; containers set 0.0.0.0)' },
  'max-batch-tokens': { description: 'token budget of one batch, counted as rows x longest row (default: the backend\'s, 1024 on CPU, 16384 on GPU)' },
  'max-batch-requests': { description: "most texts (rows) in one batch, from one or more requests (default: the backend's, 32 on CPU, 512 on GPU)" },
  'max-client-batch': { description: 'most texts in one request (default 256)' },
  'max-queue': { description: 'most requests admitted (queued or running) before answering 429 (default 512)' },
  'max-batch-memory': {
    description:
      'estimated activation memory one batch may use, in bytes or with a kb/mb/gb suffix (default: that of the largest batch the token budget allows at --max-input-tokens)',
  },
  'max-input-tokens': {
    description: `truncate inputs to this many tokens, or answer 422 with truncate: false (default ${DEFAULT_MAX_INPUT_TOKENS}; cap: the model maximum)`,
  },
  'payload-limit': { description: 'largest request body in bytes, or with a kb/mb suffix (default 2mb)' },
  'body-timeout': { description: 'milliseconds a client may take to send its request body before a 408 (default 10000)' },
  batching: { description: 'coalesce concurrent requests into batches: true|false (default true)' },
  dtype: { description: `weight precision: ${DTYPES.join('|')} (default auto)` },
  device: {
    description: `device: ${DEVICES.join('|')} (default auto: the first execution provider proven to work on a hardware GPU, else the CPU)`,
  },
  'execution-providers': {
    description: `comma-separated onnx execution providers to try in order (default ${EXECUTION_PROVIDERS.join(',')})`,
  },
  workers: { description: 'inference worker threads (default on CPU: one per physical core; 1 on GPU)' },
  'intra-op-threads': { description: 'threads per inference session (default on CPU: hardware threads per core; else cores / workers)' },
  'int8-min-cosine': {
    description: 'with --dtype auto on CPU, use the int8 model only if it agrees with fp32 at least this well, 0..1 (default 0.99)',
  },
  'inter-op-threads': { description: 'inter-op threads per inference session (default 1)' },
  'api-key': { description: 'require "Authorization: Bearer <key>" on embedding routes and /info (default: none)' },
  'auth-exempt': {
    description: `routes served without the API key: comma-separated ${AUTH_EXEMPTABLE_ROUTES.join('|')}, or none (default health,metrics)`,
  },
  'log-level': { description: `log level: ${LOG_LEVELS.join('|')} (default info)` },
} as const satisfies Record<string, { description: string; required?: boolean }>;

export type ServeFlag = keyof typeof SERVE_FLAGS;
export type ServeInput = Partial<Record<ServeFlag, string>>;

export function envVarName(flag: ServeFlag): string {
  return `EMBEDBENCH_${flag.toUpperCase().replaceAll('-', '_')}`;
}

const positiveInt = z.coerce.number().int().positive();
const booleanText = z
  .enum(['true', 'false', '1', '0', 'on', 'off', 'yes', 'no'])
  .transform((value) => ['true', '1', 'on', 'yes'].includes(value));
const byteSize = z
  .string()
  .regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, 'expected bytes, e.g. 2097152 or 2mb')
  .transform((text) => {
    const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(text)!;
    const unit = (match[2] ?? 'b').toLowerCase();
    const scale = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[unit as 'b' | 'kb' | 'mb' | 'gb'];
    return Math.floor(Number(match[1]) * scale);
  })
  .pipe(z.number().int().positive());

const serveSchema = z.object({
  backend: z.enum(BACKEND_NAMES),
  model: z.string().min(1),
  'model-id': z.string().min(1).optional(),
  port: z.coerce.number().int().min(0).max(65535).optional(),
  host: z.string().min(1).default('127.0.0.1'),
  'max-batch-tokens': positiveInt.optional(),
  'max-batch-requests': positiveInt.optional(),
  'max-client-batch': positiveInt.default(256),
  'max-queue': positiveInt.default(512),
  'max-batch-memory': byteSize.optional(),
  'max-input-tokens': positiveInt.default(DEFAULT_MAX_INPUT_TOKENS),
  'payload-limit': byteSize.default(2 * 1024 * 1024),
  'body-timeout': positiveInt.default(DEFAULT_BODY_TIMEOUT_MS),
  batching: booleanText.default(true),
  dtype: z.enum(DTYPES).default('auto'),
  device: z.enum(DEVICES).default('auto'),
  'execution-providers': z
    .string()
    .transform((text) => text.split(',').map((name) => name.trim()).filter(Boolean))
    .pipe(z.array(z.enum(EXECUTION_PROVIDERS)).min(1))
    .default([...EXECUTION_PROVIDERS]),
  workers: positiveInt.optional(),
  'intra-op-threads': positiveInt.optional(),
  'int8-min-cosine': z.coerce.number().min(0).max(1).default(0.99),
  'inter-op-threads': positiveInt.default(1),
  'api-key': z.string().min(1).optional(),
  'auth-exempt': z
    .string()
    .transform((text) => (text.trim() === 'none' ? [] : text.split(',').map((name) => name.trim()).filter(Boolean)))
    .pipe(z.array(z.enum(AUTH_EXEMPTABLE_ROUTES)))
    .default(['health', 'metrics']),
  'log-level': z.enum(LOG_LEVELS).default('info'),
});

export interface ServeConfig {
  readonly backend: BackendName;
  /** As given: a directory or a hub id; the entry point resolves it to a directory. */
  readonly model: string;
  readonly modelId: string;
  readonly port: number;
  readonly host: string;
  readonly batching: BatchingSettings;
  readonly maxClientBatch: number;
  /** Cap on input tokens per text; the model's own maximum caps it in turn. */
  readonly maxInputTokens: number;
  /** Activation memory one batch may use; unset: what the token budget allows at the maximum input length. */
  readonly maxBatchMemoryBytes: number | undefined;
  readonly payloadLimitBytes: number;
  /** A request body not fully received within this many milliseconds is answered 408. */
  readonly bodyTimeoutMs: number;
  readonly dtype: Dtype;
  readonly device: Device;
  readonly executionProviders: readonly ExecutionProvider[];
  /** Unset: the backend chooses from the core count. */
  readonly workers: number | undefined;
  readonly intraOpThreads: number | undefined;
  readonly interOpThreads: number;
  readonly int8MinCosine: number;
  readonly apiKey: string | undefined;
  /** Route groups served without the API key when one is set. */
  readonly authExempt: readonly AuthExemptableRoute[];
  readonly logLevel: (typeof LOG_LEVELS)[number];
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Validates serve settings: flags win over environment variables. Errors name both the flag and
 * its environment variable, one line per problem.
 */
export function parseServeConfig(flags: ServeInput, env: NodeJS.ProcessEnv): ServeConfig {
  const merged: ServeInput = {};
  for (const flag of Object.keys(SERVE_FLAGS) as ServeFlag[]) {
    const value = flags[flag] ?? env[envVarName(flag)];
    if (value !== undefined && value !== '') merged[flag] = value;
  }
  const parsed = serveSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const flag = String(issue.path[0]) as ServeFlag;
      const given = merged[flag];
      const shown = given === undefined ? 'missing' : `got ${JSON.stringify(given)}`;
      return `--${flag} (${envVarName(flag)}): ${issue.message} (${shown})`;
    });
    throw new ConfigError(`invalid serve configuration:\n  ${lines.join('\n  ')}`);
  }
  const values = parsed.data;
  return {
    backend: values.backend,
    model: values.model,
    modelId: values['model-id'] ?? displayModelName(values.model),
    port: values.port ?? DEFAULT_PORTS[values.backend],
    host: values.host,
    batching: {
      enabled: values.batching,
      maxBatchTokens: values['max-batch-tokens'],
      maxBatchRequests: values['max-batch-requests'],
      maxQueue: values['max-queue'],
    },
    maxClientBatch: values['max-client-batch'],
    maxInputTokens: values['max-input-tokens'],
    maxBatchMemoryBytes: values['max-batch-memory'],
    payloadLimitBytes: values['payload-limit'],
    bodyTimeoutMs: values['body-timeout'],
    dtype: values.dtype,
    device: values.device,
    executionProviders: values['execution-providers'],
    workers: values.workers,
    intraOpThreads: values['intra-op-threads'],
    int8MinCosine: values['int8-min-cosine'],
    interOpThreads: values['inter-op-threads'],
    apiKey: values['api-key'],
    authExempt: values['auth-exempt'],
    logLevel: values['log-level'],
  };
}

/** An existing directory is shown by its last path segment; a hub id stays as is. */
function displayModelName(model: string): string {
  return existsSync(model) ? basename(resolve(model)) : model;
}

/** The --help text for every serve setting, with its environment variable. */
export function serveHelp(): string {
  const rows = (Object.entries(SERVE_FLAGS) as Array<[ServeFlag, { description: string }]>).map(
    ([flag, { description }]) => `  --${flag} <value>\n      ${description}\n      env: ${envVarName(flag)}`,
  );
  return [
    'Usage: embedbench serve --backend transformers|onnx --model DIR|HUB_ID [options]',
    '',
    'Every option can also be set by an environment variable: EMBEDBENCH_ + the option name',
    'in upper case with dashes as underscores. Options given on the command line win.',
    '',
    'Options:',
    ...rows,
    '  -h, --help\n      show this help',
  ].join('\n');
}
