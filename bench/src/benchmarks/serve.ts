/**
 * `npm run bench:serve`: the serving benchmark of issue 3. On one model and one set of MS-MARCO-like
 * passage batches it measures, one after another so they never share the CPU:
 *  1. raw in-process onnxruntime `session.run` throughput on the batches (the ceiling);
 *  2. the `onnx` service, then the `transformers` service, each a real `embedbench serve` child
 *     process loaded by N concurrent clients, each client posting its batches to /embed in turn,
 *     while /health is polled to measure its latency under load, and the child's peak RSS.
 * Every phase embeds the same batches (clients x requests per client), so throughputs compare
 * the same work. Prints the figures and the targets; it is a measurement, not a test.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { Pool } from 'undici';
import { PassageGenerator } from '../text/passages.js';
import {
  DEFAULT_MODEL,
  DEFAULT_MODEL_HELP,
  memoryMiB,
  percentile,
  pollHealth,
  positiveOption,
  postEmbed,
  servableModelDir,
  startServer,
  stopServer,
  waitHealthy,
} from './service-process.js';

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
      model: { type: 'string', default: DEFAULT_MODEL },
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
        DEFAULT_MODEL_HELP,
    );
    process.exit(0);
  }
  return {
    modelDir: servableModelDir(values.model),
    clients: positiveOption('clients', values.clients),
    batchSize: positiveOption('batch-size', values['batch-size']),
    requestsPerClient: positiveOption('requests-per-client', values['requests-per-client']),
    seed: positiveOption('seed', values.seed),
    healthIntervalMs: positiveOption('health-interval-ms', values['health-interval-ms']),
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
    const answer = await postEmbed(pool, texts);
    if (answer.complete) return attempt - 1;
    if (!RETRYABLE_STATUSES.has(answer.status) || attempt === MAX_ATTEMPTS) {
      throw new Error(`POST /embed answered ${answer.status} (attempt ${attempt}): ${answer.error}`);
    }
  }
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
      peakRssMiB: memoryMiB(child.pid!, 'VmHWM'),
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
