/**
 * With dtype 'auto' on the CPU, the int8 model (dynamic int8 MatMuls, about twice fp32's speed on
 * CPUs with VNNI) replaces fp32 only when it embeds a fixed probe set like fp32 does. The measured
 * cosine is cached beside the model, keyed by both model files and the tokenizer, so it is measured
 * once per model and again whenever one of them changes.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PrecisionChoice } from '@embedbench/core/backend';
import { cosineSimilarity } from '@embedbench/loadtest/contract';
import { TextTokenizer } from '@embedbench/core/tokenization';
import type { Logger } from 'pino';
import type { ProviderAttempt, WorkerSetup } from './messages.js';
import { modelCacheDir, modelFileStamp, shortHash, writeFileReplacing } from './model-cache.js';
import { InferenceWorker, WORKER_SCRIPT } from './inference-worker.js';

/** Short and long, plain and odd: the probe covers the lengths and scripts real inputs have. */
const PROBE_TEXTS: readonly string[] = [
  'What is the capital of France?',
  'The quick brown fox jumps over the lazy dog.',
  'Embeddings map text to vectors; similar texts land close together, unrelated ones far apart.',
  'A longer passage about the history of the printing press, which changed how knowledge spread ' +
    'across Europe in the fifteenth century and made books cheap enough for many readers to own.',
  'Numbers 12345 and 3.14159 and dates like 2024-01-31 should embed as well as words do.',
  'ÜNÏCÖDÉ: café, naïve, résumé — and “quotes”. 日本語のテキストも含めます。',
  'Q: how long do cats live? A: indoor cats often live 12 to 18 years, outdoor cats less.',
  'MS MARCO passages are usually a few sentences long. They describe facts, give definitions, ' +
    'or answer a question someone typed into a search engine, and they vary a lot in length.',
];
const CACHE_FILE = 'int8-parity.json';

export interface PrecisionDecision {
  /** The attempts to load, the CPU attempt switched to the int8 file when it was chosen. */
  readonly attempts: ProviderAttempt[];
  readonly choice: PrecisionChoice;
}

export interface Int8Candidate {
  readonly modelDir: string;
  /** The model's int8 file, which may be absent. */
  readonly int8ModelFile: string;
  readonly minCosine: number;
  /** Thread settings for the two probe sessions. */
  readonly workerSetup: Omit<WorkerSetup, 'attempts'>;
  /** Completes an attempt before it loads (its optimized-graph cache file). */
  readonly prepare: (attempt: ProviderAttempt) => Promise<ProviderAttempt>;
  readonly logger: Logger;
}

/**
 * Picks int8 or fp32 for the CPU attempt among `attempts`; undefined when there is none (the
 * choice then is not the CPU's to make).
 */
export async function chooseCpuPrecision(
  attempts: readonly ProviderAttempt[],
  candidate: Int8Candidate,
): Promise<PrecisionDecision | undefined> {
  const cpuIndex = attempts.findIndex((attempt) => attempt.provider === 'cpu' && attempt.dtype === 'fp32');
  if (cpuIndex < 0) return undefined;
  const fp32 = attempts[cpuIndex]!;
  if (!existsSync(candidate.int8ModelFile)) {
    return { attempts: [...attempts], choice: { dtype: 'fp32', cosine: null, reason: `no int8 model file (${candidate.int8ModelFile})` } };
  }
  const int8 = await candidate.prepare({ provider: 'cpu', dtype: 'q8', modelFile: candidate.int8ModelFile });
  let cosine: number;
  try {
    cosine = await int8Cosine(fp32, int8, candidate);
  } catch (error) {
    return { attempts: [...attempts], choice: { dtype: 'fp32', cosine: null, reason: `int8 probe failed: ${(error as Error).message}` } };
  }
  const measured = `cosine ${cosine.toFixed(5)} with fp32 on ${PROBE_TEXTS.length} probe texts`;
  if (cosine < candidate.minCosine) {
    return { attempts: [...attempts], choice: { dtype: 'fp32', cosine, reason: `int8 refused: ${measured} < ${candidate.minCosine}` } };
  }
  const chosen = attempts.map((attempt, index) => (index === cpuIndex ? int8 : attempt));
  return { attempts: chosen, choice: { dtype: 'q8', cosine, reason: `int8 agrees: ${measured} >= ${candidate.minCosine}` } };
}

/** The cached cosine when the cache matches both model files and the tokenizer; else measured and cached. */
async function int8Cosine(fp32: ProviderAttempt, int8: ProviderAttempt, candidate: Int8Candidate): Promise<number> {
  const cacheFile = join(modelCacheDir(int8.modelFile), CACHE_FILE);
  const key = shortHash(
    await modelFileStamp(fp32.modelFile),
    await modelFileStamp(int8.modelFile),
    await modelFileStamp(join(candidate.modelDir, 'tokenizer.json')),
    ...PROBE_TEXTS,
  );
  const cached = await readCachedCosine(cacheFile, key);
  if (cached !== undefined) {
    candidate.logger.debug({ cacheFile, cosine: cached }, 'int8 parity read from the cache');
    return cached;
  }
  const started = performance.now();
  const cosine = await measureInt8Cosine(fp32, int8, candidate);
  candidate.logger.info({ cosine, seconds: (performance.now() - started) / 1000 }, 'int8 parity measured');
  await writeFileReplacing(cacheFile, `${JSON.stringify({ key, cosine, probeTexts: PROBE_TEXTS.length })}\n`).catch(
    (error: unknown) => candidate.logger.warn({ cacheFile, err: error }, 'cannot cache the int8 parity; it will be measured again'),
  );
  return cosine;
}

async function readCachedCosine(cacheFile: string, key: string): Promise<number | undefined> {
  try {
    const entry = JSON.parse(await readFile(cacheFile, 'utf8')) as { key?: unknown; cosine?: unknown };
    return entry.key === key && typeof entry.cosine === 'number' ? entry.cosine : undefined;
  } catch {
    return undefined;
  }
}

/** Lowest per-text cosine between the fp32 and int8 embeddings of the probe texts. */
async function measureInt8Cosine(fp32: ProviderAttempt, int8: ProviderAttempt, candidate: Int8Candidate): Promise<number> {
  const tokenizer = await TextTokenizer.load(candidate.modelDir);
  const inputIds = tokenizer.encode(PROBE_TEXTS, true).inputIds;
  const [reference, quantized] = await Promise.all(
    [fp32, int8].map((attempt) => embedOnce({ ...candidate.workerSetup, attempts: [attempt] }, inputIds)),
  );
  return Math.min(...reference!.map((row, index) => cosineSimilarity(row, quantized![index]!)));
}

async function embedOnce(setup: WorkerSetup, inputIds: readonly Int32Array[]): Promise<Float32Array[]> {
  const worker = new InferenceWorker(WORKER_SCRIPT, setup, () => {});
  try {
    await worker.loaded;
    return await worker.run(inputIds);
  } finally {
    await worker.terminate();
  }
}
