/**
 * `npm run bench:bounds`: what one request within the limits can cost an `embedbench serve`
 * (onnx, CPU) child process with its default limits. While /health is polled off the main thread:
 *  1. warm-up with short passages, then the warm RSS;
 *  2. one text of the maximum input length, and one maximal request (as many maximum-length
 *     texts as one batch's token budget holds, the costliest batch): inference time and the peak
 *     RSS rise over warm for each;
 *  3. one text of almost the whole payload limit (truncated): time and peak RSS;
 *  4. 20 maximal requests one after another, then the RSS against warm.
 * Prints the figures against the targets; it is a measurement, not a test.
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
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
  resetPeakRss,
  servableModelDir,
  startServer,
  stopServer,
  waitHealthy,
} from './service-process.js';

const TARGETS = { inferenceMs: 2000, peakRiseMiB: 300, settledWithinFraction: 0.1, healthP99Ms: 50 } as const;
const MAXIMAL_REPEATS = 20;
/** Characters of the payload-limit text: just under the default 2 MiB body limit, JSON framing included. */
const HUGE_TEXT_CHARS = 2 * 1024 * 1024 - 1024;
const MiB = 1024 * 1024;

interface Settings {
  modelDir: string;
  healthIntervalMs: number;
  serveArgs: string[];
}

interface Info {
  max_input_tokens: number;
  batching: { max_batch_tokens: number; max_batch_memory_bytes: number };
}

interface Measured {
  inferenceMs: number;
  totalMs: number;
  peakRiseMiB: number;
}

function parseSettings(argv: string[]): Settings {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string', default: DEFAULT_MODEL },
      'health-interval-ms': { type: 'string', default: '50' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'Usage: npm run bench:bounds -- [--model DIR] [--health-interval-ms 50] [-- extra embedbench serve flags]\n' +
        DEFAULT_MODEL_HELP,
    );
    process.exit(0);
  }
  return {
    modelDir: servableModelDir(values.model),
    healthIntervalMs: positiveOption('health-interval-ms', values['health-interval-ms']),
    serveArgs: positionals,
  };
}

async function embed(pool: Pool, texts: string[]): Promise<{ inferenceMs: number; totalMs: number }> {
  const started = performance.now();
  const answer = await postEmbed(pool, texts);
  if (!answer.complete) throw new Error(`POST /embed answered ${answer.status}: ${answer.error}`);
  return { inferenceMs: answer.inferenceMs, totalMs: performance.now() - started };
}

async function measure(pool: Pool, pid: number, warmMiB: number, texts: string[]): Promise<Measured> {
  resetPeakRss(pid);
  const timing = await embed(pool, texts);
  return { ...timing, peakRiseMiB: memoryMiB(pid, 'VmHWM') - warmMiB };
}

/** English-like text of at least `chars` characters. */
function longText(generator: PassageGenerator, chars: number): string {
  const parts: string[] = [];
  let length = 0;
  while (length < chars) {
    const passage = generator.next();
    parts.push(passage);
    length += passage.length + 1;
  }
  return parts.join(' ').slice(0, chars);
}

function verdict(passed: boolean): string {
  return passed ? 'meets target' : 'MISSES target';
}

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const generator = new PassageGenerator(1);
  // The targets are for CPU; flags after `--` come later and win.
  const { child, url } = await startServer('onnx', settings.modelDir, ['--execution-providers', 'cpu', ...settings.serveArgs]);
  const pool = new Pool(url, { connections: 2, headersTimeout: 0, bodyTimeout: 0 });
  const pid = child.pid!;
  try {
    await waitHealthy(pool, 'onnx');
    const info = (await (await pool.request({ path: '/info', method: 'GET' })).body.json()) as Info;
    const maxTokens = info.max_input_tokens;
    const rowsPerMaximalBatch = Math.max(1, Math.floor(info.batching.max_batch_tokens / maxTokens));
    log(
      `model ${settings.modelDir}; ${availableParallelism()} CPUs, load average ${loadavg()[0]!.toFixed(1)} at start; ` +
        `limits: ${maxTokens} input tokens, ${info.batching.max_batch_tokens}-token batches, ` +
        `batch memory budget ${(info.batching.max_batch_memory_bytes / MiB).toFixed(1)} MiB`,
    );
    for (let i = 0; i < 3; i++) await embed(pool, Array.from({ length: 8 }, () => generator.next()));
    const warmMiB = memoryMiB(pid, 'VmRSS');
    log(`warm RSS after 3 requests of 8 short passages: ${warmMiB.toFixed(0)} MiB`);

    const health = pollHealth(url, settings.healthIntervalMs);
    // Eight characters per token is more than English text needs, so every text is cut to the maximum.
    const fullText = () => longText(generator, maxTokens * 8);
    const oneText = await measure(pool, pid, warmMiB, [fullText()]);
    log(`one ${maxTokens}-token text: inference ${oneText.inferenceMs.toFixed(0)} ms, total ${oneText.totalMs.toFixed(0)} ms, peak RSS +${oneText.peakRiseMiB.toFixed(0)} MiB`);
    const maximal = Array.from({ length: rowsPerMaximalBatch }, fullText);
    const oneMaximal = await measure(pool, pid, warmMiB, maximal);
    log(`one maximal request (${rowsPerMaximalBatch} x ${maxTokens} tokens): inference ${oneMaximal.inferenceMs.toFixed(0)} ms, total ${oneMaximal.totalMs.toFixed(0)} ms, peak RSS +${oneMaximal.peakRiseMiB.toFixed(0)} MiB`);
    const huge = await measure(pool, pid, warmMiB, [longText(generator, HUGE_TEXT_CHARS)]);
    log(`one ${(HUGE_TEXT_CHARS / MiB).toFixed(1)} MiB text (truncated): inference ${huge.inferenceMs.toFixed(0)} ms, total ${huge.totalMs.toFixed(0)} ms, peak RSS +${huge.peakRiseMiB.toFixed(0)} MiB`);

    resetPeakRss(pid);
    const repeatsStarted = performance.now();
    let slowestInferenceMs = 0;
    for (let i = 0; i < MAXIMAL_REPEATS; i++) {
      slowestInferenceMs = Math.max(slowestInferenceMs, (await embed(pool, maximal)).inferenceMs);
    }
    const repeatsSeconds = (performance.now() - repeatsStarted) / 1000;
    const peakDuringRepeatsMiB = memoryMiB(pid, 'VmHWM') - warmMiB;
    const settledMiB = memoryMiB(pid, 'VmRSS');
    const polls = await health.stop();
    const healthP99 = percentile(polls.latencies, 0.99);
    log(`${MAXIMAL_REPEATS} maximal requests in ${repeatsSeconds.toFixed(1)} s: slowest inference ${slowestInferenceMs.toFixed(0)} ms, peak RSS +${peakDuringRepeatsMiB.toFixed(0)} MiB; RSS after ${settledMiB.toFixed(0)} MiB`);
    log(`/health: p99 ${healthP99.toFixed(1)} ms over ${polls.latencies.length} polls (${polls.failures} failed); load average ${loadavg()[0]!.toFixed(1)} at the end`);

    const inferenceMs = Math.max(oneText.inferenceMs, oneMaximal.inferenceMs, huge.inferenceMs, slowestInferenceMs);
    const peakRiseMiB = Math.max(oneText.peakRiseMiB, oneMaximal.peakRiseMiB, huge.peakRiseMiB, peakDuringRepeatsMiB);
    const settledFraction = (settledMiB - warmMiB) / warmMiB;
    log('summary:');
    log(`  slowest inference of one request = ${inferenceMs.toFixed(0)} ms (target <= ${TARGETS.inferenceMs} ms: ${verdict(inferenceMs <= TARGETS.inferenceMs)})`);
    log(`  largest peak RSS rise = ${peakRiseMiB.toFixed(0)} MiB (target <= ${TARGETS.peakRiseMiB} MiB: ${verdict(peakRiseMiB <= TARGETS.peakRiseMiB)})`);
    log(`  RSS after ${MAXIMAL_REPEATS} maximal requests = warm ${settledFraction >= 0 ? '+' : ''}${(settledFraction * 100).toFixed(1)}% (target within ${TARGETS.settledWithinFraction * 100}%: ${verdict(Math.abs(settledFraction) <= TARGETS.settledWithinFraction)})`);
    log(`  /health p99 = ${healthP99.toFixed(1)} ms (target <= ${TARGETS.healthP99Ms} ms: ${verdict(healthP99 <= TARGETS.healthP99Ms && polls.failures === 0)})`);
  } finally {
    await pool.close();
    await stopServer(child);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:bounds: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
