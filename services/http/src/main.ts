import { readFileSync, statSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EmbeddingService } from '@embedbench/core/service';
import { pino, type DestinationStream, type Logger } from 'pino';
import { createApp } from './app.js';
import { ConfigError, parseServeConfig, serveHelp, SERVE_FLAGS, type ServeInput } from './config.js';

/** The serve settings, for callers that start services with their own (embedbench compare's backend variants). */
export { BACKEND_NAMES } from '@embedbench/core/backend';
export { ConfigError, envVarName, parseServeConfig, SERVE_FLAGS, type ServeFlag } from './config.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;
/**
 * Node's own cut-off for receiving a whole request (answered with a bare 408): only a backstop
 * behind the app's JSON 408 at --body-timeout.
 */
const REQUEST_TIMEOUT_BACKSTOP_MS = 5_000;
/**
 * Idle keep-alive connections are closed after this long. Node's 5 s default races with clients
 * reusing a connection whenever inference holds the event loop that long (the transformers
 * baseline does on CPU), resetting their next request.
 */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:8002; undefined after --help. */
  readonly url: string | undefined;
  readonly service: EmbeddingService | undefined;
  /** Resolves once the server stopped and the backend released the model. */
  readonly closed: Promise<void>;
  /** Stops accepting, finishes in-flight requests, closes the backend (as SIGTERM does). */
  shutdown(): Promise<void>;
}

/**
 * The service entry point: validates settings (argv flags over EMBEDBENCH_* env vars), starts
 * listening at once (health answers 503 "loading"), loads and warms up the backend, then serves
 * until SIGTERM/SIGINT. Rejects with a clear message when settings are invalid or the model
 * cannot be loaded.
 */
export async function runServer(argv: string[], env: NodeJS.ProcessEnv): Promise<RunningServer> {
  const flags = parseFlags(argv);
  if (flags === 'help') {
    process.stdout.write(`${serveHelp()}\n`);
    return { url: undefined, service: undefined, closed: Promise.resolve(), shutdown: () => Promise.resolve() };
  }
  const config = parseServeConfig(flags, env);
  if (!statSync(config.model, { throwIfNoEntry: false })?.isDirectory()) {
    throw new ConfigError(`--model (EMBEDBENCH_MODEL): ${config.model} is not a model directory`);
  }
  // Absolute, because the transformers library resolves relative paths against its own model folder.
  const modelDir = resolve(config.model);
  const logger = createLogger(config.logLevel, config.backend);
  const { createBackend } = await import('@embedbench/backends/registry');
  const backend = await createBackend(config.backend, {
    modelDir,
    modelId: config.modelId,
    dtype: config.dtype,
    device: config.device,
    executionProviders: config.executionProviders,
    intraOpThreads: config.intraOpThreads,
    interOpThreads: config.interOpThreads,
    workers: config.workers,
    int8MinCosine: config.int8MinCosine,
    logger: logger.child({ component: 'backend' }),
  });
  const service = new EmbeddingService({
    backend,
    modelDir,
    modelId: config.modelId,
    batching: config.batching,
    maxClientBatch: config.maxClientBatch,
    maxInputTokens: config.maxInputTokens,
    maxBatchMemoryBytes: config.maxBatchMemoryBytes,
    version: VERSION,
    logger,
  });
  const app = createApp(service, {
    payloadLimitBytes: config.payloadLimitBytes,
    bodyTimeoutMs: config.bodyTimeoutMs,
    apiKey: config.apiKey,
    authExempt: config.authExempt,
    logger,
  });
  const server = createServer(app.callback());
  server.requestTimeout = config.bodyTimeoutMs + REQUEST_TIMEOUT_BACKSTOP_MS;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.on('clientError', answerClientError);
  await listen(server, config.port, config.host).catch((error: Error) => {
    throw new ConfigError(`cannot listen on ${config.host}:${config.port}: ${error.message}`);
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  logger.info({ url, model: config.modelId }, 'listening; loading the model');

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let shuttingDown: Promise<void> | undefined;
  const onSignal = (signal: string) => {
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    void shutdown();
  };
  const shutdown = () => {
    shuttingDown ??= (async () => {
      for (const signal of SHUTDOWN_SIGNALS) process.off(signal, onSignal);
      await stopServer(server);
      await service.close();
      logger.info('stopped');
      resolveClosed();
    })();
    return shuttingDown;
  };
  for (const signal of SHUTDOWN_SIGNALS) process.once(signal, onSignal);

  try {
    await service.start();
  } catch (error) {
    logger.error({ err: error }, 'model load failed');
    await shutdown().catch(() => {});
    throw new Error(`failed to load the model from ${config.model}: ${(error as Error).message}`, { cause: error });
  }
  return { url, service, closed, shutdown };
}

/** Log paths that could carry a secret: the API key, a Hugging Face token, an Authorization header. */
export const REDACTED_LOG_PATHS = [
  'apiKey',
  'api_key',
  'token',
  'HF_TOKEN',
  'authorization',
  '*.apiKey',
  '*.api_key',
  '*.token',
  '*.HF_TOKEN',
  '*.authorization',
  '*.headers.authorization',
  '*.*.headers.authorization',
];

/** The service logger: JSON lines with the backend name, secrets censored. */
export function createLogger(level: string, backend: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { backend }, redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' } }, destination);
}

/**
 * Requests Node's parser rejects before the app sees them (bad framing, oversized headers, a
 * request not received in time) get the API's JSON error shape instead of a bare status line.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const [status, reason, errorType] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'request_timeout']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'malformed_request']
        : [400, 'Bad Request', 'malformed_request'];
  const body = JSON.stringify({ error: `the request could not be read: ${error.code ?? error.message}`, error_type: errorType });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function parseFlags(argv: string[]): ServeInput | 'help' {
  const options = Object.fromEntries(Object.keys(SERVE_FLAGS).map((flag) => [flag, { type: 'string' as const }]));
  try {
    const { values } = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    const { help, ...flags } = values;
    return help === true ? 'help' : (flags as ServeInput);
  } catch (error) {
    throw new ConfigError(`${(error as Error).message} (run with --help for the options)`);
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Stops listening and lets in-flight requests finish. Kept-alive connections would otherwise take
 * new requests until their idle timeout, so responses from now on close their connection and
 * connections are closed as soon as they fall idle.
 */
function stopServer(server: Server): Promise<void> {
  server.on('request', (_request, response: ServerResponse) => response.setHeader('Connection', 'close'));
  const closeIdle = setInterval(() => server.closeIdleConnections(), 100);
  return new Promise((resolve, reject) => {
    server.close((error) => {
      clearInterval(closeIdle);
      if (error) reject(error);
      else resolve();
    });
    server.closeIdleConnections();
  });
}
