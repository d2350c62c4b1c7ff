import { createHash, timingSafeEqual } from 'node:crypto';
import { EmbedError } from '@embedbench/core/errors';
import type { EmbeddingService, RequestTimings } from '@embedbench/core/service';
import { float32ToBase64, TIMING_HEADERS } from '@embedbench/loadtest/contract';
import Router from '@koa/router';
import Koa from 'koa';
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { readJsonBody } from './body.js';
import { DEFAULT_BODY_TIMEOUT_MS, type AuthExemptableRoute } from './config.js';
import { cors } from './cors.js';
import { STATUS_BY_ERROR_TYPE, TransportError } from './errors.js';
import { playground } from './playground.js';
import { parseEmbedBody, parseOpenAiBody } from './schemas.js';

export interface AppOptions {
  /** Largest accepted request body. */
  readonly payloadLimitBytes: number;
  /** A request body not fully received within this many milliseconds is answered 408 (default 10 s). */
  readonly bodyTimeoutMs?: number;
  /** When set, embedding routes (and the route groups not in `authExempt`) require `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string | undefined;
  /** Route groups served without the API key (default health and metrics). */
  readonly authExempt?: readonly AuthExemptableRoute[];
  readonly logger: Logger;
}

interface RequestState {
  timings: RequestTimings;
  errorType?: string;
}

type AppContext = Context & { state: RequestState };

const PHASE_HEADERS = [
  [TIMING_HEADERS.queue, 'queueMs'],
  [TIMING_HEADERS.tokenization, 'tokenizationMs'],
  [TIMING_HEADERS.inference, 'inferenceMs'],
] as const satisfies ReadonlyArray<readonly [string, keyof RequestTimings]>;

/** The HTTP API over any EmbeddingService; the app never knows which backend runs. */
export function createApp(service: EmbeddingService, options: AppOptions): Koa {
  const app = new Koa();
  const router = new Router();
  const { metrics } = service;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;

  app.use(async (ctx: AppContext, next) => {
    const startedAt = performance.now();
    ctx.state.timings = { queueMs: 0, tokenizationMs: 0, inferenceMs: 0 };
    metrics.requestsInFlight.inc();
    try {
      await next();
      if (ctx.body === undefined) {
        if (ctx.status === 404) throw new TransportError('not_found', `no route for ${ctx.method} ${ctx.path}`);
        if (ctx.status === 405) throw new TransportError('method_not_allowed', `${ctx.path} does not accept ${ctx.method}`);
        if (ctx.status === 501) throw new TransportError('method_not_allowed', `the ${ctx.method} method is not supported`);
      }
    } catch (error) {
      answerError(ctx, error, options.logger);
    } finally {
      metrics.requestsInFlight.dec();
      const totalMs = performance.now() - startedAt;
      for (const [header, phase] of PHASE_HEADERS) ctx.set(header, formatMs(ctx.state.timings[phase]));
      ctx.set(TIMING_HEADERS.total, formatMs(totalMs));
      const route = typeof ctx._matchedRoute === 'string' ? ctx._matchedRoute : 'unmatched';
      metrics.requestDuration.observe({ route }, totalMs / 1000);
      metrics.httpRequests.inc({ route, status: String(ctx.status) });
      if (ctx.state.errorType !== undefined) metrics.errors.inc({ error_type: ctx.state.errorType });
      options.logger.info(
        { method: ctx.method, path: ctx.path, route, status: ctx.status, ms: round(totalMs), error_type: ctx.state.errorType },
        'request',
      );
    }
  });

  const requireApiKey = bearerCheck(options.apiKey);
  const exempt = new Set(options.authExempt ?? ['health', 'metrics']);
  const keyUnless = (group: AuthExemptableRoute): KeyCheck => (exempt.has(group) ? (_ctx, next) => next() : requireApiKey);

  router.get('/health', keyUnless('health'), (ctx) => answerHealth(ctx, service));
  router.get('/health/ready', keyUnless('health'), (ctx) => answerHealth(ctx, service));
  router.get('/health/live', keyUnless('health'), (ctx) => {
    ctx.body = { status: 'alive' };
  });

  router.get('/info', keyUnless('info'), (ctx) => {
    const info = service.info();
    ctx.body = {
      model: info.model,
      backend: info.backend,
      execution_provider: info.executionProvider ?? null,
      dtype: info.dtype ?? null,
      gpu_available: info.gpuAvailable,
      embedding_dim: info.embeddingDim ?? null,
      max_input_tokens: info.maxInputTokens ?? null,
      max_client_batch: info.maxClientBatch,
      batching: {
        enabled: info.batching.enabled,
        max_batch_tokens: info.batching.maxBatchTokens ?? null,
        max_batch_requests: info.batching.maxBatchRequests,
        max_queue: info.batching.maxQueue,
        parallelism: info.batching.parallelism ?? null,
      },
      version: info.version,
    };
  });

  router.get('/metrics', keyUnless('metrics'), async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });

  router.post('/embed', requireApiKey, async (ctx: AppContext) => {
    const body = parseEmbedBody(await readJsonBody(ctx.req, options.payloadLimitBytes, bodyTimeoutMs));
    const texts = body.shape === 'texts' ? body.texts : typeof body.inputs === 'string' ? [body.inputs] : body.inputs;
    const result = await service.embed(
      { texts, truncate: body.truncate, normalize: body.normalize, signal: clientGone(ctx) },
      ctx.state.timings,
    );
    const rows = result.embeddings.map((row) => Array.from(row));
    ctx.body =
      body.shape === 'tei'
        ? rows
        : { embeddings: rows, model: service.modelId, num_embeddings: rows.length, embedding_dim: rows[0]?.length ?? 0 };
  });

  router.post('/v1/embeddings', requireApiKey, async (ctx: AppContext) => {
    const body = parseOpenAiBody(await readJsonBody(ctx.req, options.payloadLimitBytes, bodyTimeoutMs));
    const texts = typeof body.input === 'string' ? [body.input] : body.input;
    const result = await service.embed(
      { texts, truncate: true, normalize: true, dimensions: body.dimensions, signal: clientGone(ctx) },
      ctx.state.timings,
    );
    ctx.body = {
      object: 'list',
      data: result.embeddings.map((embedding, index) => ({
        object: 'embedding',
        embedding: body.encoding_format === 'base64' ? float32ToBase64(embedding) : Array.from(embedding),
        index,
      })),
      model: service.modelId,
      usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
    };
  });

  app.use(cors());
  app.use(playground());
  app.use(router.routes());
  // Without throwing, the router answers 405 with the Allow header; the error boundary adds the JSON body.
  app.use(router.allowedMethods());
  return app;
}

function answerHealth(ctx: Context, service: EmbeddingService): void {
  const health = service.health();
  ctx.status = health.status === 'healthy' ? 200 : 503;
  ctx.body = {
    status: health.status,
    backend: service.backendName,
    model: service.modelId,
    gpu_available: service.gpuAvailable,
    ...(health.reason === undefined ? {} : { reason: health.reason }),
  };
}

function answerError(ctx: AppContext, error: unknown, logger: Logger): void {
  const known =
    error instanceof EmbedError || error instanceof TransportError
      ? error
      : new EmbedError('internal', 'internal error', { cause: error });
  if (known.type === 'internal') logger.error({ err: error }, 'unhandled error');
  ctx.status = STATUS_BY_ERROR_TYPE[known.type];
  ctx.body = { error: known.message, error_type: known.type };
  ctx.state.errorType = known.type;
  if (known instanceof EmbedError && known.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(known.retryAfterSeconds));
  if (known.type === 'unauthorized') ctx.set('WWW-Authenticate', 'Bearer');
  // An unread body (over the limit, or still trickling in) would otherwise be drained or left on a kept-alive connection.
  if (known.type === 'payload_too_large' || known.type === 'request_timeout') ctx.set('Connection', 'close');
}

type KeyCheck = (ctx: Context, next: Next) => Promise<unknown>;

/**
 * Compares SHA-256 digests in constant time, so response timing reveals neither how much of a
 * guess was right nor the key's length.
 */
function bearerCheck(apiKey: string | undefined): KeyCheck {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  const expected = apiKey === undefined ? undefined : digest(apiKey);
  return async (ctx, next) => {
    if (expected !== undefined) {
      // The scheme name is case-insensitive (RFC 9110); the token is compared exactly.
      const token = /^bearer +(\S+) *$/i.exec(ctx.get('authorization'))?.[1];
      if (token === undefined || !timingSafeEqual(digest(token), expected)) {
        throw new TransportError('unauthorized', 'a valid "Authorization: Bearer <api key>" header is required');
      }
    }
    await next();
  };
}

/** Aborts when the client disconnects before the response is written. */
function clientGone(ctx: Context): AbortSignal {
  const controller = new AbortController();
  ctx.res.once('close', () => {
    if (!ctx.res.writableFinished) controller.abort();
  });
  return controller.signal;
}

function formatMs(ms: number): string {
  return ms.toFixed(3);
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
