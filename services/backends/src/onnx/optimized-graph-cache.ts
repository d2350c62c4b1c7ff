/**
 * The CPU provider's optimized graphs, cached beside the model. onnxruntime's highest level ('all')
 * fuses attention, GELU, layer norms and int8 MatMuls into its own contrib operators; a session
 * saves the result once (optimizedModelFilePath) and later sessions load it with optimizations off,
 * as onnxruntime's docs describe for offline optimization. Graphs optimized at level 'all' are
 * specific to the provider and the hardware, so the file name carries a hash of the model files'
 * sizes and times, the provider, the onnxruntime version and the CPU's model and feature flags.
 */
import { constants, existsSync } from 'node:fs';
import { access, mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import { arch, cpus } from 'node:os';
import { basename, join } from 'node:path';
import { env, InferenceSession } from 'onnxruntime-node';
import type { Logger } from 'pino';
import { MEAN_POOLED_OUTPUT, readModelWithMeanPooling } from './mean-pooling-graph.js';
import type { ProviderAttempt } from './messages.js';
import { modelCacheDir, modelFileStamp, shortHash, temporaryPathFor } from './model-cache.js';

/** How a session came by its optimized graph. */
export type OptimizedGraphUse = 'loaded from cache' | 'optimized and cached' | 'optimized, not cached';

const CACHED_PROVIDERS: ReadonlySet<string> = new Set(['cpu']);

/**
 * The attempt with the file its optimized graph is cached in; unchanged for providers other than
 * the CPU, and, with a warning, when the model folder cannot be written.
 */
export async function withOptimizedGraphCache(attempt: ProviderAttempt, logger: Logger): Promise<ProviderAttempt> {
  if (!CACHED_PROVIDERS.has(attempt.provider) || !existsSync(attempt.modelFile)) return attempt;
  const folder = modelCacheDir(attempt.modelFile);
  try {
    await mkdir(folder, { recursive: true });
    await access(folder, constants.W_OK);
  } catch (error) {
    logger.warn({ folder, err: error }, 'cannot cache optimized graphs beside the model; every start optimizes again');
    return attempt;
  }
  const key = shortHash(await modelFileStamp(attempt.modelFile), MEAN_POOLED_OUTPUT, attempt.provider, env.versions.node ?? '', await cpuSignature());
  return { ...attempt, optimizedModelFile: join(folder, `${cachePrefix(attempt)}${key}.onnx`) };
}

/**
 * Opens a session at optimization level 'all' on the model with its mean pooling, from the cached
 * optimized graph when there is one;
 * otherwise the session writes it, and older graphs of the same model file and provider are removed.
 */
export async function createOptimizedSession(
  attempt: ProviderAttempt,
  options: InferenceSession.SessionOptions,
): Promise<{ session: InferenceSession; optimizedGraph: OptimizedGraphUse }> {
  const cached = attempt.optimizedModelFile;
  if (cached === undefined) {
    const session = await InferenceSession.create(await readModelWithMeanPooling(attempt.modelFile), { ...options, graphOptimizationLevel: 'all' });
    return { session, optimizedGraph: 'optimized, not cached' };
  }
  if (existsSync(cached)) {
    try {
      const session = await InferenceSession.create(cached, { ...options, graphOptimizationLevel: 'disabled' });
      return { session, optimizedGraph: 'loaded from cache' };
    } catch {
      // An unreadable cached graph (a torn copy, a foreign file) is replaced below.
    }
  }
  const temporary = temporaryPathFor(cached);
  const session = await InferenceSession.create(await readModelWithMeanPooling(attempt.modelFile), {
    ...options,
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: temporary,
    // onnxruntime warns that the saved graph is hardware-specific; the cache key covers that.
    logSeverityLevel: Math.max(options.logSeverityLevel ?? 2, 3) as InferenceSession.SessionOptions['logSeverityLevel'],
  });
  try {
    await rename(temporary, cached);
    await removeOtherGraphs(attempt, cached);
  } catch {
    await rm(temporary, { force: true });
    return { session, optimizedGraph: 'optimized, not cached' };
  }
  return { session, optimizedGraph: 'optimized and cached' };
}

function cachePrefix(attempt: ProviderAttempt): string {
  return `${basename(attempt.modelFile, '.onnx')}.${attempt.provider}.optimized.`;
}

async function removeOtherGraphs(attempt: ProviderAttempt, keep: string): Promise<void> {
  const folder = modelCacheDir(attempt.modelFile);
  const prefix = cachePrefix(attempt);
  const stale = (await readdir(folder)).filter((name) => name.startsWith(prefix) && join(folder, name) !== keep);
  await Promise.all(stale.map((name) => rm(join(folder, name), { force: true })));
}

/** CPU model and instruction-set flags (Linux /proc/cpuinfo; elsewhere the model name only). */
async function cpuSignature(): Promise<string> {
  const flags = await readFile('/proc/cpuinfo', 'utf8').then(
    (text) => /^flags\s*:\s*(.*)$/m.exec(text)?.[1] ?? '',
    () => '',
  );
  return `${arch()} ${cpus()[0]?.model ?? 'unknown'} ${flags}`;
}
