/**
 * `npm run bench:serve`: the serving benchmark. On one model and one set of MS-MARCO-like
 * passage batches it measures, one after another so they never share the CPU:
 *  1. raw in-process onnxruntime `session.run` throughput on the batches (the ceiling);
 *  2. the `onnx` service, then the `transformers` service, each a real `embedbench serve` child
 *     process loaded by N concurrent clients, each client posting its batches to /embed in turn,
 *     while /health is polled to measure its latency under load, and the child's peak RSS.
 * Every phase embeds the same batches (clients x requests per client), so throughputs compare
 * the same work. Prints the figures and the targets; it is a measurement, not a test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { Pool } from 'undici';
import { PassageGenerator } from '../text/passages.js';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
const SERVER_START_TIMEOUT_MS = 300_000;
const SERVER_STOP_TIMEOUT_MS = 60_000;
const TARGETS = { serverEfficiency: 0.95, onnxOverTransformers: 1.5, healthP99Ms: 50 } as const;

interface Settings {
  modelDir: string;
  clients: number;
  batchSize: number;
  requestsPerClient: number;
  seed: number;
  healthIntervalMs: number;
}

interface ServiceFigures {
  embeddingsPerSecond: number;
  seconds: number;
  /** Requests sent again after a retryable status; their time counts in `seconds`. */
  retries: number;
  healthP99Ms: number;
  healthSamples: number;
  /** Polls that got no answer (connection errors) or a non-200 status. */
  healthFailures: number;
  /** Since the server started, as its prom-client default metrics report it. */
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  peakRssMiB: number;
}

function parseSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string', default: 'models/modernbert-base-synthetic' },
      clients: { type: 'string', default: '8' },
      'batch-size': { type: 'string', default: '32' },
      'requests-per-client': { type: 'string', default: '1' },
      seed: { type: 'string', default: '1' },
      'health-interval-ms': { type: 'string', default: '100' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'Usage: npm run bench:serve -- [--model DIR] [--clients 8] [--batch-size 32] [--requests-per-client 1]\n' +
        '                             [--seed 1] [--health-interval-ms 100]\n' +
        'Default model: models/modernbert-base-synthetic (make it with\n' +
        '  node bench/dist/src/cli.js model synth --arch modernbert --size base --out models/modernbert-base-synthetic)\n',
    );
    process.exit(0);
  }
  const positive = (name: string, text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(text)}`);
    return value;
  };
  const modelDir = resolve(values.model);
  if (!existsSync(join(modelDir, 'onnx', 'model.onnx'))) {
    throw new Error(`${modelDir} has no onnx/model.onnx; synthesize it first (see --help)`);
  }
  return {
    modelDir,
    clients: positive('clients', values.clients),
    batchSize: positive('batch-size', values['batch-size']),
    requestsPerClient: positive('requests-per-client', values['requests-per-client']),
    seed: positive('seed', values.seed),
    healthIntervalMs: positive('health-interval-ms', values['health-interval-ms']),
  };
}

function passageBatches(settings: Settings): string[][] {
  const generator = new PassageGenerator(settings.seed);
  return Array.from({ length: settings.clients * settings.requestsPerClient }, () =>
    Array.from({ length: settings.batchSize }, () => generator.next()),
  );
}

/** The ceiling: the same batches, each padded to its longest row, through one in-process session, one after another. */
async function measureRawSessionRun(settings: Settings, batches: string[][]): Promise<number> {
  env.allowRemoteModels = false;
  const tokenizer = await AutoTokenizer.from_pretrained(settings.modelDir);
  const session = await InferenceSession.create(join(settings.modelDir, 'onnx', 'model.onnx'), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: availableParallelism(),
    interOpNumThreads: 1,
  });
  const toFeed = (texts: string[]): Record<string, Tensor> => {
    const encoded = tokenizer(texts, { padding: true, truncation: true }) as Record<string, { data: BigInt64Array; dims: number[] }>;
    const feed: Record<string, Tensor> = {};
    for (const name of session.inputNames) {
      const source = encoded[name] ?? encoded.input_ids!;
      feed[name] = new Tensor('int64', encoded[name] ? source.data : new BigInt64Array(source.data.length), source.dims);
    }
    return feed;
  };
  const feeds = batches.map(toFeed);
  await session.run(toFeed(batches[0]!.slice(0, 4)));
  const started = performance.now();
  for (const feed of feeds) await session.run(feed);
  const seconds = (performance.now() - started) / 1000;
  await session.release();
  return (batches.length * settings.batchSize) / seconds;
}

/** Servers still running; killed if the benchmark exits early so none is left behind. */
const liveServers = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveServers) child.kill('SIGKILL');
});

async function startServer(backend: string, modelDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--backend', backend, '--model', modelDir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  liveServers.add(child);
  child.once('exit', () => liveServers.delete(child));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`${backend} server did not report its URL`)), SERVER_START_TIMEOUT_MS);
    child.once('exit', (code) => reject(new Error(`${backend} server exited with code ${code} before listening`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { url?: unknown; level?: number; msg?: string };
        if (typeof entry.url === 'string') {
          clearTimeout(timer);
          resolveUrl(entry.url);
        } else if ((entry.level ?? 0) >= 40) process.stderr.write(`[${backend}] ${entry.msg}\n`);
      } catch {
        process.stderr.write(`[${backend}] ${line}\n`);
      }
    });
  });
  return { child, url };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), SERVER_STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

async function waitHealthy(pool: Pool, backend: string): Promise<void> {
  const deadline = Date.now() + SERVER_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const response = await pool.request({ path: '/health', method: 'GET' }).catch(() => undefined);
    const status = response?.statusCode;
    await response?.body.dump();
    if (status === 200) return;
    await new Promise((resolveWait) => setTimeout(resolveWait, 500));
  }
  throw new Error(`${backend} server did not become healthy within ${SERVER_START_TIMEOUT_MS / 1000} s`);
}

/** Statuses after which the request was not served and may be sent again (RFC 9110). */
const RETRYABLE_STATUSES = new Set([408, 429, 503]);
const MAX_ATTEMPTS = 20;

/**
 * Posts one batch to /embed, sending it again after a retryable status (the transformers baseline
 * blocks its event loop while it computes, so requests waiting to be read can time out with 408).
 * Resolves with the number of retries it took.
 */
async function embed(pool: Pool, texts: string[]): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const response = await pool.request({
      path: '/embed',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ texts }),
    });
    const body = (await response.body.json()) as { num_embeddings?: number; error?: string };
    if (response.statusCode === 200 && body.num_embeddings === texts.length) return attempt - 1;
    if (!RETRYABLE_STATUSES.has(response.statusCode) || attempt === MAX_ATTEMPTS) {
      throw new Error(`POST /embed answered ${response.statusCode} (attempt ${attempt}): ${body.error ?? JSON.stringify(body).slice(0, 200)}`);
    }
  }
}

export interface HealthPolls {
  /** Response times of the polls answered 200, in ms. */
  latencies: number[];
  failures: number;
}

/** Starts polling /health in a worker thread; stop() resolves with what it saw. */
function pollHealth(url: string, intervalMs: number): { stop(): Promise<HealthPolls> } {
  const worker = new Worker(new URL('./health-poller.js', import.meta.url), { workerData: { url, intervalMs } });
  const latencies = new Promise<HealthPolls>((resolveLatencies, reject) => {
    worker.once('message', resolveLatencies);
    worker.once('error', reject);
  });
  latencies.catch(() => {});
  return {
    stop: () => {
      worker.postMessage('stop');
      return latencies;
    },
  };
}

function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? NaN;
}

/** Peak resident set size of a live process (Linux VmHWM), in MiB. */
function peakRssMiB(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

async function measureService(backend: string, settings: Settings, batches: string[][]): Promise<ServiceFigures> {
  const { child, url } = await startServer(backend, settings.modelDir);
  const pool = new Pool(url, { connections: settings.clients + 2, headersTimeout: 0, bodyTimeout: 0 });
  try {
    await waitHealthy(pool, backend);
    await embed(pool, batches[0]!.slice(0, 4));
    const health = pollHealth(url, settings.healthIntervalMs);
    const started = performance.now();
    const retriesPerClient = await Promise.all(
      Array.from({ length: settings.clients }, async (_, client) => {
        let retries = 0;
        for (let request = 0; request < settings.requestsPerClient; request++) {
          retries += await embed(pool, batches[client * settings.requestsPerClient + request]!);
        }
        return retries;
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const healthPolls = await health.stop();
    const eventLoopDelay = await eventLoopDelayMs(pool);
    return {
      embeddingsPerSecond: (batches.length * settings.batchSize) / seconds,
      seconds,
      retries: retriesPerClient.reduce((sum, retries) => sum + retries, 0),
      healthP99Ms: percentile(healthPolls.latencies, 0.99),
      healthSamples: healthPolls.latencies.length,
      healthFailures: healthPolls.failures,
      eventLoopDelayP99Ms: eventLoopDelay.p99,
      eventLoopDelayMaxMs: eventLoopDelay.max,
      peakRssMiB: peakRssMiB(child.pid!),
    };
  } finally {
    await pool.close();
    await stopServer(child);
  }
}

/** The server's own event-loop delay (prom-client's default metrics), p99 and max, in ms. */
async function eventLoopDelayMs(pool: Pool): Promise<{ p99: number; max: number }> {
  const response = await pool.request({ path: '/metrics', method: 'GET' });
  const text = await response.body.text();
  const gauge = (name: string): number => {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    if (!match) throw new Error(`GET /metrics has no ${name}`);
    return Number(match[1]) * 1000;
  };
  return { p99: gauge('nodejs_eventloop_lag_p99_seconds'), max: gauge('nodejs_eventloop_lag_max_seconds') };
}

function verdict(passed: boolean): string {
  return passed ? 'meets target' : 'MISSES target';
}

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  const batches = passageBatches(settings);
  const passages = batches.length * settings.batchSize;
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(`model ${settings.modelDir}; ${settings.clients} clients x ${settings.requestsPerClient} request(s) of ${settings.batchSize} passages = ${passages} passages per phase; ${availableParallelism()} CPUs`);

  log('phase 1/3: raw in-process session.run ...');
  const raw = await measureRawSessionRun(settings, batches);
  log(`  raw session.run: ${raw.toFixed(2)} embeddings/s`);
  const figures: Record<string, ServiceFigures> = {};
  for (const [index, backend] of ['onnx', 'transformers'].entries()) {
    log(`phase ${index + 2}/3: ${backend} service ...`);
    const measured = await measureService(backend, settings, batches);
    figures[backend] = measured;
    log(`  ${backend}: ${measured.embeddingsPerSecond.toFixed(2)} embeddings/s over ${measured.seconds.toFixed(1)} s (${measured.retries} retried requests); /health p99 ${measured.healthP99Ms.toFixed(1)} ms (${measured.healthSamples} polls, ${measured.healthFailures} failed); event-loop delay p99 ${measured.eventLoopDelayP99Ms.toFixed(1)} ms, max ${measured.eventLoopDelayMaxMs.toFixed(0)} ms; peak RSS ${measured.peakRssMiB.toFixed(0)} MiB`);
  }
  const onnx = figures.onnx!;
  const transformers = figures.transformers!;
  const efficiency = onnx.embeddingsPerSecond / raw;
  const speedup = onnx.embeddingsPerSecond / transformers.embeddingsPerSecond;
  log('summary:');
  log(`  onnx service / raw session.run = ${(efficiency * 100).toFixed(1)}% (target >= ${TARGETS.serverEfficiency * 100}%: ${verdict(efficiency >= TARGETS.serverEfficiency)})`);
  log(`  onnx / transformers = ${speedup.toFixed(2)}x (target >= ${TARGETS.onnxOverTransformers}x: ${verdict(speedup >= TARGETS.onnxOverTransformers)})`);
  for (const [backend, measured] of Object.entries(figures)) {
    log(`  ${backend} /health p99 = ${measured.healthP99Ms.toFixed(1)} ms (target <= ${TARGETS.healthP99Ms} ms: ${verdict(measured.healthP99Ms <= TARGETS.healthP99Ms)}); peak RSS ${measured.peakRssMiB.toFixed(0)} MiB`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:serve: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
