/**
 * `npm run bench:serve`: the serving benchmark. On one model and one set of MS-MARCO-like passage
 * batches it measures, one after another so they never share the CPU:
 *  1. the `onnx` service with dtype auto (int8 on the CPU when it agrees with fp32), then with fp32,
 *     then the `transformers` service (the fp32 baseline), each a real `embedbench serve` child
 *     process loaded by N concurrent clients, each client posting its batches to /embed in turn,
 *     while /health is polled to measure its latency under load, and the child's peak RSS;
 *  2. after each onnx service, raw in-process onnxruntime `session.run` on the same model file and
 *     the same batches the service runs: the service's own queue, with the batching /info reports,
 *     cuts the same requests into length-sorted, token-budget batches. So service / raw measures
 *     the serving overhead alone (HTTP, per-request tokenization, worker messaging, pooling).
 * Every phase embeds the same passages (clients x requests per client), so throughputs compare the
 * same work; the onnx (auto) and transformers embeddings of every passage are compared by cosine.
 * Prints the figures and the targets; it is a measurement, not a test.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { onnxModelFile, readModelConfig } from '@embedbench/backends/model-files';
import { padBatch } from '@embedbench/backends/padding';
import type { BatchingConfig } from '@embedbench/core/config';
import { batchActivationBytes, readModelDimensions } from '@embedbench/core/memory';
import { ServiceMetrics } from '@embedbench/core/metrics';
import { cosineSimilarity } from '@embedbench/loadtest/contract';
import { BatchQueue } from '@embedbench/core/queue';
import { TextTokenizer } from '@embedbench/core/tokenization';
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
  servableModelDir,
  startServer,
  stopServer,
  waitHealthy,
} from './service-process.js';

const TARGETS = { serverEfficiency: 0.95, onnxOverTransformers: 2.0, parityCosine: 0.99, healthP99Ms: 50 } as const;

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
  info: ServiceInfo;
  /** The service's embeddings of every passage, request by request. */
  embeddings: number[][][];
  batching: BatchCounters;
}

interface BatchCounters {
  batches: number;
  /** Sum over batches of rows x longest row. */
  paddedTokens: number;
}

/** The parts of GET /info this benchmark reads. */
interface ServiceInfo {
  dtype: string | null;
  precision_choice: { dtype: string; cosine: number | null; reason: string } | null;
  batching: {
    enabled: boolean;
    max_batch_tokens: number | null;
    max_batch_requests: number;
    max_queue: number;
    max_batch_memory_bytes: number | null;
    parallelism: number | null;
  };
}

interface RawFigures {
  /** The faster of the timed passes: a ceiling, so that service / raw errs low, never high. */
  embeddingsPerSecond: number;
  passEmbeddingsPerSecond: number[];
  batching: BatchCounters;
}

/** Timed passes of the raw phase: one pass varied by about 25% from run to run on a 2-core host. */
const RAW_PASSES = 2;

function parseSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string', default: DEFAULT_MODEL },
      clients: { type: 'string', default: '8' },
      'batch-size': { type: 'string', default: '32' },
      'requests-per-client': { type: 'string', default: '1' },
      seed: { type: 'string', default: '1' },
      'health-interval-ms': { type: 'string', default: '20' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'Usage: npm run bench:serve -- [--model DIR] [--clients 8] [--batch-size 32] [--requests-per-client 1]\n' +
        '                             [--seed 1] [--health-interval-ms 20]\n' +
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

/**
 * The ceiling for one model file: the requests go through the core's batching queue with the
 * service's batching settings, all at once, and each batch it cuts is padded and run through one
 * in-process session (all cores, as the service's sessions have between them), one after another,
 * in RAW_PASSES timed passes. With several service workers, the raw phase's one session also
 * measures the worker split.
 */
async function measureRawSessionRun(modelDir: string, dtype: string, batches: string[][], info: ServiceInfo): Promise<RawFigures> {
  const modelFile = onnxModelFile(dtype);
  if (modelFile === undefined) throw new Error(`no onnx model file is known for dtype ${dtype}`);
  const tokenizer = await TextTokenizer.load(modelDir);
  const { padTokenId } = await readModelConfig(modelDir);
  const session = await InferenceSession.create(join(modelDir, modelFile), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: availableParallelism(),
    interOpNumThreads: 1,
    logSeverityLevel: 3,
  });
  const counters: BatchCounters = { batches: 0, paddedTokens: 0 };
  const backend = {
    async embed(batch: { inputIds: readonly Int32Array[] }): Promise<Float32Array[]> {
      const padded = padBatch(batch.inputIds, padTokenId);
      counters.batches++;
      counters.paddedTokens += padded.rows * padded.sequenceLength;
      const dims = [padded.rows, padded.sequenceLength];
      const feeds: Record<string, Tensor> = {
        input_ids: new Tensor('int64', padded.inputIds, dims),
        attention_mask: new Tensor('int64', padded.attentionMask, dims),
      };
      if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = new Tensor('int64', new BigInt64Array(padded.inputIds.length), dims);
      await session.run(feeds);
      return batch.inputIds.map(() => new Float32Array(1));
    },
  };
  const batching: BatchingConfig = {
    enabled: info.batching.enabled,
    maxBatchTokens: info.batching.max_batch_tokens ?? Number.MAX_SAFE_INTEGER,
    maxBatchRequests: info.batching.max_batch_requests,
    maxQueue: Math.max(info.batching.max_queue, batches.length),
  };
  const dims = await readModelDimensions(modelDir, dtype);
  const memory = {
    budgetBytes: info.batching.max_batch_memory_bytes ?? Number.POSITIVE_INFINITY,
    activationBytes: (rows: number, longest: number) => batchActivationBytes(dims, rows, longest),
  };
  const queue = new BatchQueue(backend, batching, memory, 1, new ServiceMetrics('raw'));
  const requests = batches.map((texts) => ({ inputIds: tokenizer.encode(texts, true).inputIds }));
  const enqueue = (request: { inputIds: Int32Array[] }) => queue.enqueue({ ...request, timings: { queueMs: 0, inferenceMs: 0 } });
  await enqueue({ inputIds: requests[0]!.inputIds.slice(0, 4) });
  const passEmbeddingsPerSecond: number[] = [];
  for (let pass = 0; pass < RAW_PASSES; pass++) {
    Object.assign(counters, { batches: 0, paddedTokens: 0 });
    const started = performance.now();
    await Promise.all(requests.map(enqueue));
    passEmbeddingsPerSecond.push(batches.flat().length / ((performance.now() - started) / 1000));
  }
  await session.release();
  return { embeddingsPerSecond: Math.max(...passEmbeddingsPerSecond), passEmbeddingsPerSecond, batching: counters };
}

/** Statuses after which the request was not served and may be sent again (RFC 9110). */
const RETRYABLE_STATUSES = new Set([408, 429, 503]);
const MAX_ATTEMPTS = 20;

/**
 * Posts one batch to /embed, sending it again after a retryable status (the transformers baseline
 * blocks its event loop while it computes, so requests waiting to be read can time out with 408).
 * Resolves with the embeddings and the number of retries it took.
 */
async function embed(pool: Pool, texts: string[]): Promise<{ embeddings: number[][]; retries: number }> {
  for (let attempt = 1; ; attempt++) {
    const response = await pool.request({
      path: '/embed',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ texts }),
    });
    const body = (await response.body.json()) as { embeddings?: number[][]; num_embeddings?: number; error?: string };
    if (response.statusCode === 200 && body.num_embeddings === texts.length && body.embeddings) {
      return { embeddings: body.embeddings, retries: attempt - 1 };
    }
    if (!RETRYABLE_STATUSES.has(response.statusCode) || attempt === MAX_ATTEMPTS) {
      throw new Error(`POST /embed answered ${response.statusCode} (attempt ${attempt}): ${body.error ?? JSON.stringify(body).slice(0, 200)}`);
    }
  }
}

async function measureService(backend: string, extraArgs: string[], settings: Settings, batches: string[][]): Promise<ServiceFigures> {
  const { child, url } = await startServer(backend, settings.modelDir, extraArgs);
  const pool = new Pool(url, { connections: settings.clients + 2, headersTimeout: 0, bodyTimeout: 0 });
  try {
    await waitHealthy(pool, backend);
    await embed(pool, batches[0]!.slice(0, 4));
    const info = await getInfo(pool);
    const batchesBefore = await batchCounters(pool);
    const embeddings: number[][][] = new Array(batches.length);
    const health = pollHealth(url, settings.healthIntervalMs);
    const started = performance.now();
    const retriesPerClient = await Promise.all(
      Array.from({ length: settings.clients }, async (_, client) => {
        let retries = 0;
        for (let request = 0; request < settings.requestsPerClient; request++) {
          const index = client * settings.requestsPerClient + request;
          const answer = await embed(pool, batches[index]!);
          embeddings[index] = answer.embeddings;
          retries += answer.retries;
        }
        return retries;
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const healthPolls = await health.stop();
    const metrics = await readMetrics(pool);
    const eventLoopDelay = { p99: metrics.value('nodejs_eventloop_lag_p99_seconds') * 1000, max: metrics.value('nodejs_eventloop_lag_max_seconds') * 1000 };
    const batchesAfter = await batchCounters(pool);
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
      info,
      embeddings,
      batching: { batches: batchesAfter.batches - batchesBefore.batches, paddedTokens: batchesAfter.paddedTokens - batchesBefore.paddedTokens },
    };
  } finally {
    await pool.close();
    await stopServer(child);
  }
}

async function getInfo(pool: Pool): Promise<ServiceInfo> {
  const response = await pool.request({ path: '/info', method: 'GET' });
  if (response.statusCode !== 200) throw new Error(`GET /info answered ${response.statusCode}`);
  return (await response.body.json()) as ServiceInfo;
}

/** Lowest and mean cosine similarity between two services' embeddings of the same passages. */
function parity(a: ServiceFigures, b: ServiceFigures): { min: number; mean: number } {
  const cosines = a.embeddings.flatMap((rows, request) => rows.map((row, i) => cosineSimilarity(row, b.embeddings[request]![i]!)));
  return { min: Math.min(...cosines), mean: cosines.reduce((sum, value) => sum + value, 0) / cosines.length };
}

/** The server's Prometheus metrics; `value(name)` reads one unlabelled-or-single-series sample. */
async function readMetrics(pool: Pool): Promise<{ value(name: string): number }> {
  const response = await pool.request({ path: '/metrics', method: 'GET' });
  const text = await response.body.text();
  return {
    value(name) {
      const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
      if (!match) throw new Error(`GET /metrics has no ${name}`);
      return Number(match[1]);
    },
  };
}

/** Batches the service ran and their padded tokens (rows x longest row), from its metrics. */
async function batchCounters(pool: Pool): Promise<BatchCounters> {
  const metrics = await readMetrics(pool);
  return { batches: metrics.value('embedbench_batch_size_count'), paddedTokens: metrics.value('embedbench_batch_tokens_sum') };
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

  const phases: Array<{ label: string; backend: string; args: string[]; raw: boolean }> = [
    { label: 'onnx (auto)', backend: 'onnx', args: ['--dtype', 'auto'], raw: true },
    { label: 'onnx (fp32)', backend: 'onnx', args: ['--dtype', 'fp32'], raw: true },
    { label: 'transformers (fp32)', backend: 'transformers', args: [], raw: false },
  ];
  const phaseCount = phases.length + phases.filter((phase) => phase.raw).length;
  let phaseNumber = 0;
  const figures: Record<string, ServiceFigures> = {};
  const raws: Record<string, RawFigures> = {};
  for (const phase of phases) {
    log(`phase ${++phaseNumber}/${phaseCount}: ${phase.label} service ...`);
    const measured = await measureService(phase.backend, phase.args, settings, batches);
    figures[phase.label] = measured;
    const choice = measured.info.precision_choice;
    log(`  ${phase.label}: dtype ${measured.info.dtype}${choice ? ` (${choice.reason})` : ''}; ${measured.info.batching.parallelism} worker(s)`);
    log(`  ${phase.label}: ${measured.embeddingsPerSecond.toFixed(2)} embeddings/s over ${measured.seconds.toFixed(1)} s (${measured.retries} retried requests); /health p99 ${measured.healthP99Ms.toFixed(1)} ms (${measured.healthSamples} polls, ${measured.healthFailures} failed); event-loop delay p99 ${measured.eventLoopDelayP99Ms.toFixed(1)} ms, max ${measured.eventLoopDelayMaxMs.toFixed(0)} ms; peak RSS ${measured.peakRssMiB.toFixed(0)} MiB`);
    if (phase.raw) {
      const dtype = measured.info.dtype ?? 'fp32';
      log(`phase ${++phaseNumber}/${phaseCount}: raw in-process session.run, ${dtype}, on the service's batches ...`);
      const raw = await measureRawSessionRun(settings.modelDir, dtype, batches, measured.info);
      raws[phase.label] = raw;
      log(
        `  raw session.run (${dtype}): ${raw.embeddingsPerSecond.toFixed(2)} embeddings/s, the faster of ` +
          `${raw.passEmbeddingsPerSecond.map((value) => value.toFixed(2)).join(' and ')}; ${raw.batching.batches} batches, ` +
          `${raw.batching.paddedTokens} padded tokens (the service ran ${measured.batching.batches}, ${measured.batching.paddedTokens})`,
      );
    }
  }
  const auto = figures['onnx (auto)']!;
  const transformers = figures['transformers (fp32)']!;
  log('summary:');
  for (const [label, raw] of Object.entries(raws)) {
    const efficiency = figures[label]!.embeddingsPerSecond / raw.embeddingsPerSecond;
    log(`  ${label} = ${figures[label]!.info.dtype}: service / raw session.run = ${(efficiency * 100).toFixed(1)}% (target >= ${TARGETS.serverEfficiency * 100}%: ${verdict(efficiency >= TARGETS.serverEfficiency)})`);
  }
  const speedup = auto.embeddingsPerSecond / transformers.embeddingsPerSecond;
  const agreement = parity(auto, transformers);
  log(`  onnx (auto = ${auto.info.dtype}) / transformers (fp32) = ${speedup.toFixed(2)}x (target >= ${TARGETS.onnxOverTransformers}x: ${verdict(speedup >= TARGETS.onnxOverTransformers)})`);
  log(`  parity onnx (auto) vs transformers over ${passages} passages: cosine min ${agreement.min.toFixed(5)}, mean ${agreement.mean.toFixed(5)} (target min >= ${TARGETS.parityCosine}: ${verdict(agreement.min >= TARGETS.parityCosine)})`);
  log(`  onnx (fp32) / transformers (fp32) = ${(figures['onnx (fp32)']!.embeddingsPerSecond / transformers.embeddingsPerSecond).toFixed(2)}x`);
  for (const [label, measured] of Object.entries(figures)) {
    log(`  ${label} /health p99 = ${measured.healthP99Ms.toFixed(1)} ms (target <= ${TARGETS.healthP99Ms} ms: ${verdict(measured.healthP99Ms <= TARGETS.healthP99Ms)}); peak RSS ${measured.peakRssMiB.toFixed(0)} MiB`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:serve: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
