import { z } from 'zod';
import { HubError } from './errors.js';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

export interface HubClientOptions {
  /** Base URL of the Hub or a mirror, without trailing slash. */
  endpoint: string;
  /** Sent as `Authorization: Bearer <token>` (never across origins on redirects). */
  token?: string;
  /** Limit for opening a connection (DNS + TCP + TLS). */
  connectTimeoutMs: number;
  /** Limit for waiting on response headers and between body chunks. */
  readTimeoutMs: number;
  /** How many times a transient failure (5xx, 429, reset) is retried once the Hub has answered. */
  maxRetries: number;
  /** First backoff delay; doubles on every retry. */
  retryBaseDelayMs: number;
}

const seconds = (fallback: number) =>
  z.coerce.number().positive().max(3600).default(fallback).transform((value) => Math.round(value * 1000));

const environmentSchema = z.object({
  HF_ENDPOINT: z.string().trim().min(1).default(DEFAULT_HUB_ENDPOINT),
  HF_TOKEN: z.string().trim().optional(),
  EMBEDBENCH_HUB_CONNECT_TIMEOUT: seconds(5),
  HF_HUB_DOWNLOAD_TIMEOUT: seconds(10),
  EMBEDBENCH_HUB_RETRIES: z.coerce.number().int().min(0).max(20).default(4),
});

/** The `--help` paragraph that documents the variables read by {@link hubOptionsFromEnv}. */
export const HUB_ENVIRONMENT_HELP = `
Environment:
  HF_ENDPOINT                     Hub base URL (default ${DEFAULT_HUB_ENDPOINT}); point it at a mirror
  HF_TOKEN                        access token for gated or private repositories (sent as a Bearer token)
  EMBEDBENCH_HUB_CONNECT_TIMEOUT  seconds to open a connection before giving up (default 5)
  HF_HUB_DOWNLOAD_TIMEOUT         seconds to wait for a response or the next chunk of a download (default 10)
  EMBEDBENCH_HUB_RETRIES          retries of transient failures (5xx, 429, dropped connections) once the
                                  Hub has answered; partial downloads resume where they stopped (default 4)
  Offline (no DNS, refused or timed-out connection) the command fails at once; use \`embedbench model synth\`.`;

/** Hub options from the environment, with explicit overrides (e.g. from command-line flags) winning. */
export function hubOptionsFromEnv(
  overrides: Partial<HubClientOptions> = {},
  environment: NodeJS.ProcessEnv = process.env,
): HubClientOptions {
  const parsed = environmentSchema.safeParse(environment);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HubError('usage', `invalid ${issue?.path.join('.') ?? 'environment'}: ${issue?.message ?? 'bad value'}`);
  }
  const env = parsed.data;
  const options: HubClientOptions = {
    endpoint: env.HF_ENDPOINT,
    token: env.HF_TOKEN === '' ? undefined : env.HF_TOKEN,
    connectTimeoutMs: env.EMBEDBENCH_HUB_CONNECT_TIMEOUT,
    readTimeoutMs: env.HF_HUB_DOWNLOAD_TIMEOUT,
    maxRetries: env.EMBEDBENCH_HUB_RETRIES,
    retryBaseDelayMs: 500,
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) Object.assign(options, { [key]: value });
  }
  return { ...options, endpoint: normalizeEndpoint(options.endpoint) };
}

function normalizeEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new HubError('usage', `HF_ENDPOINT is not a URL: ${endpoint}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HubError('usage', `HF_ENDPOINT must be an http(s) URL, got ${endpoint}`);
  }
  return url.toString().replace(/\/+$/, '');
}
