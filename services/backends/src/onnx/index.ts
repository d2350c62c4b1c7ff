import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Backend, BackendHealth, BackendInfo, BackendLimits, BackendOptions, ExecutionProvider, ProviderStatus, TokenizedBatch } from '@embedbench/core/backend';
import { ModelLoadError, ONNX_MODEL_FILES, readModelConfig } from '../model-files.js';
import { applyProviderEnvironment, probeExecutionProviders } from '../providers/probe.js';
import { batchRowLimit, batchTokenBudget, GPU_PROVIDERS, gpuProven, planProviders, providerReport } from '../providers/selection.js';
import { InferenceWorker, WORKER_SCRIPT } from './inference-worker.js';
import type { ProviderAttempt, WorkerSetup } from './messages.js';
import { withOptimizedGraphCache } from './optimized-graph-cache.js';
import { chooseParallelism, threadsPerCore } from './parallelism.js';
import { chooseCpuPrecision } from './precision-choice.js';

/**
 * The provider/file pairs to try, in order. 'auto' precision means FP16 on a GPU provider (FP32 if
 * the model has no FP16 file) and FP32 on the CPU (start() may switch the CPU to int8). A provider
 * whose file is absent is left out.
 */
export function planAttempts(options: BackendOptions, providers: readonly ExecutionProvider[]): ProviderAttempt[] {
  const attempts: ProviderAttempt[] = [];
  const missing = new Set<string>();
  for (const provider of providers) {
    const dtypes: Array<ProviderAttempt['dtype']> =
      options.dtype === 'auto' ? (GPU_PROVIDERS.has(provider) ? ['fp16', 'fp32'] : ['fp32']) : [options.dtype];
    const files = dtypes.map((dtype) => ({ provider, dtype, modelFile: join(options.modelDir, ONNX_MODEL_FILES[dtype]) }));
    const present = files.find((file) => existsSync(file.modelFile));
    if (present) attempts.push(present);
    else for (const file of files) missing.add(file.modelFile);
  }
  if (attempts.length === 0) {
    throw new ModelLoadError(
      `model file not found: ${[...missing].join(' or ')} (\`embedbench model synth\` writes every precision; ` +
        '`embedbench model fetch --variants LIST` fetches, or makes, the ones listed)',
    );
  }
  return attempts;
}

/** Options a test may set: the worker script (a double that can be made to die). */
export interface OnnxBackendInternals {
  readonly workerScript?: URL;
}

export class OnnxBackend implements Backend {
  readonly name = 'onnx';
  private workers: InferenceWorker[] = [];
  private setup: WorkerSetup | undefined;
  private unhealthyReason: string | undefined = 'not started';
  private closing = false;
  private readonly workerScript: URL;

  constructor(
    private readonly options: BackendOptions,
    internals: OnnxBackendInternals = {},
  ) {
    this.workerScript = internals.workerScript ?? WORKER_SCRIPT;
  }

  async start(limits: BackendLimits): Promise<BackendInfo> {
    const { modelDir, logger, executionProviders } = this.options;
    const config = await readModelConfig(modelDir);
    const probes = await probeExecutionProviders(executionProviders);
    applyProviderEnvironment(probes);
    const plan = planProviders(executionProviders, this.options.device, probes);
    if (plan.candidates.length === 0) {
      throw new ModelLoadError(
        `no execution provider among [${executionProviders.join(', ')}] can run with --device ${this.options.device}: ` +
          plan.excluded.map((entry) => `${entry.provider}: ${entry.reason}`).join('; '),
      );
    }
    const prepare = (attempt: ProviderAttempt) => withOptimizedGraphCache(attempt, logger);
    const planned = await Promise.all(planAttempts(this.options, plan.candidates).map(prepare));
    const onGpu = GPU_PROVIDERS.has(planned[0]!.provider);
    const { workers, intraOpThreads } = chooseParallelism(this.options, { logical: availableParallelism(), threadsPerCore: threadsPerCore() }, onGpu);
    const sessionSetup = {
      padTokenId: config.padTokenId,
      hiddenSize: config.hiddenSize,
      intraOpThreads,
      interOpThreads: this.options.interOpThreads,
      maxSequenceLength: limits.maxSequenceLength,
    };
    const precision =
      this.options.dtype === 'auto' && !onGpu
        ? await chooseCpuPrecision(planned, {
            modelDir,
            int8ModelFile: join(modelDir, ONNX_MODEL_FILES.q8),
            minCosine: this.options.int8MinCosine,
            workerSetup: sessionSetup,
            prepare,
            logger,
          })
        : undefined;
    this.setup = { attempts: precision?.attempts ?? planned, ...sessionSetup };
    this.workers = Array.from({ length: workers }, () => this.spawn());
    let ready;
    try {
      [ready] = await Promise.all(this.workers.map((worker) => worker.loaded));
    } catch (error) {
      await this.close();
      throw new ModelLoadError(`cannot load the onnx model from ${modelDir}: ${(error as Error).message}`, { cause: error });
    }
    this.unhealthyReason = undefined;
    const failedToLoad = ready!.skipped.map(
      (entry): ProviderStatus => ({ provider: entry.provider, status: 'skipped', reason: `the model did not load: ${entry.reason}` }),
    );
    const info: BackendInfo = {
      backend: this.name,
      executionProvider: ready!.provider,
      dtype: ready!.dtype,
      gpuAvailable: gpuProven(probes),
      providers: providerReport(executionProviders, plan, ready!.provider, failedToLoad, probes),
      parallelism: this.workers.length,
      maxBatchTokens: batchTokenBudget(ready!.provider),
      maxBatchRows: batchRowLimit(ready!.provider),
      ...(precision && ready!.provider === 'cpu' ? { precisionChoice: precision.choice } : {}),
    };
    for (const entry of info.providers.filter((provider) => provider.status !== 'in use')) {
      logger.info(entry, `execution provider ${entry.provider} ${entry.status}: ${entry.reason}`);
    }
    logger.info(
      {
        ...info,
        modelFile: ready!.modelFile,
        intraOpThreads,
        optimizedGraph: ready!.optimizedGraph,
        compiledLengths: ready!.warmedLengths,
        compileSeconds: ready!.warmupSeconds,
      },
      'onnx backend ready',
    );
    return info;
  }

  embed(batch: TokenizedBatch): Promise<Float32Array[]> {
    if (this.closing) return Promise.reject(new Error('the onnx backend is shutting down'));
    if (batch.inputIds.length === 0) return Promise.resolve([]);
    const worker = this.workers.reduce<InferenceWorker | undefined>(
      (best, candidate) => (best === undefined || candidate.load < best.load ? candidate : best),
      undefined,
    );
    if (!worker) return Promise.reject(new Error(`no onnx inference worker is running (${this.unhealthyReason})`));
    return worker.run(batch.inputIds);
  }

  health(): BackendHealth {
    return this.unhealthyReason === undefined ? { healthy: true } : { healthy: false, reason: this.unhealthyReason };
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map(async (worker) => {
      await worker.drained();
      await worker.terminate();
    }));
    this.workers = [];
  }

  private spawn(): InferenceWorker {
    return new InferenceWorker(this.workerScript, this.setup!, (crashed, reason) => void this.replace(crashed, reason));
  }

  /** A crashed worker makes the backend unhealthy until its replacement has loaded. */
  private async replace(crashed: InferenceWorker, reason: string): Promise<void> {
    const index = this.workers.indexOf(crashed);
    if (this.closing || index < 0) return;
    const { logger } = this.options;
    this.unhealthyReason = `${reason}; restarting it`;
    logger.error({ worker: index, reason }, 'onnx inference worker crashed; restarting it');
    const replacement = this.spawn();
    this.workers[index] = replacement;
    try {
      await replacement.loaded;
    } catch (error) {
      this.unhealthyReason = `onnx inference worker #${index} could not be restarted: ${(error as Error).message}`;
      logger.error({ worker: index, err: error }, 'onnx inference worker restart failed');
      return;
    }
    if (this.workers[index] === replacement) {
      this.unhealthyReason = undefined;
      logger.info({ worker: index }, 'onnx inference worker restarted');
    }
  }

}

export function createBackend(options: BackendOptions): Backend {
  return new OnnxBackend(options);
}
