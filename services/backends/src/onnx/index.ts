import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend, BackendHealth, BackendInfo, BackendOptions, ExecutionProvider, TokenizedBatch } from '@embedbench/core/backend';
import { batchTokenBudget, detectGpu } from '../gpu.js';
import { ModelLoadError, readModelConfig } from '../model-files.js';
import type { ProviderAttempt, SkippedProvider, WorkerSetup } from './messages.js';
import { InferenceWorker, WorkerLoadError } from './pool.js';

const MODEL_FILES: Record<ProviderAttempt['dtype'], string> = {
  fp32: 'onnx/model.onnx',
  fp16: 'onnx/model_fp16.onnx',
  q8: 'onnx/model_quantized.onnx',
};
const GPU_PROVIDERS: ReadonlySet<ExecutionProvider> = new Set(['tensorrt', 'cuda']);

/**
 * The provider/file pairs to try, in order. 'auto' precision means FP16 on a GPU provider (FP32 if
 * the model has no FP16 file) and FP32 on the CPU; the device setting narrows the providers. A
 * provider whose file is absent is left out.
 */
export function planAttempts(options: BackendOptions): ProviderAttempt[] {
  const providers = options.executionProviders.filter((provider) =>
    options.device === 'cpu' ? provider === 'cpu' : options.device === 'cuda' ? GPU_PROVIDERS.has(provider) : true,
  );
  if (providers.length === 0) {
    throw new ModelLoadError(
      `no execution provider among [${options.executionProviders.join(', ')}] runs on device ${options.device}`,
    );
  }
  const attempts: ProviderAttempt[] = [];
  const missing = new Set<string>();
  for (const provider of providers) {
    const dtypes: Array<ProviderAttempt['dtype']> =
      options.dtype === 'auto' ? (GPU_PROVIDERS.has(provider) ? ['fp16', 'fp32'] : ['fp32']) : [options.dtype];
    const files = dtypes.map((dtype) => ({ provider, dtype, modelFile: join(options.modelDir, MODEL_FILES[dtype]) }));
    const present = files.find((file) => existsSync(file.modelFile));
    if (present) attempts.push(present);
    else for (const file of files) missing.add(file.modelFile);
  }
  if (attempts.length === 0) throw new ModelLoadError(`model file not found: ${[...missing].join(' or ')}`);
  return attempts;
}

export class OnnxBackend implements Backend {
  readonly name = 'onnx';
  private workers: InferenceWorker[] = [];
  private setup: WorkerSetup | undefined;
  private unhealthyReason: string | undefined = 'not started';
  private closing = false;

  constructor(private readonly options: BackendOptions) {}

  async start(): Promise<BackendInfo> {
    const { modelDir, logger } = this.options;
    const config = await readModelConfig(modelDir);
    this.setup = {
      attempts: planAttempts(this.options),
      padTokenId: config.padTokenId,
      hiddenSize: config.hiddenSize,
      intraOpThreads: this.options.intraOpThreads,
      interOpThreads: this.options.interOpThreads,
    };
    this.workers = Array.from({ length: this.options.workers }, () => this.spawn());
    let ready;
    try {
      [ready] = await Promise.all(this.workers.map((worker) => worker.loaded));
    } catch (error) {
      await this.close();
      if (error instanceof WorkerLoadError) this.logSkipped(error.failure.skipped);
      throw new ModelLoadError(`cannot load the onnx model from ${modelDir}: ${(error as Error).message}`, { cause: error });
    }
    this.logSkipped(ready!.skipped);
    this.unhealthyReason = undefined;
    const info: BackendInfo = {
      backend: this.name,
      executionProvider: ready!.provider,
      dtype: ready!.dtype,
      gpuAvailable: detectGpu(),
      parallelism: this.workers.length,
      maxBatchTokens: batchTokenBudget(GPU_PROVIDERS.has(ready!.provider)),
    };
    logger.info({ ...info, modelFile: ready!.modelFile, intraOpThreads: this.options.intraOpThreads }, 'onnx backend ready');
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

  /** Fault injection: one worker thread exits when its next batch arrives, and is replaced. */
  crashWorkerOnNextBatch(index = 0): void {
    const worker = this.workers[index];
    if (!worker) throw new Error(`no onnx inference worker #${index}`);
    worker.crashOnNextBatch();
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
    return new InferenceWorker(this.setup!, (crashed, reason) => void this.replace(crashed, reason));
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

  private logSkipped(skipped: readonly SkippedProvider[]): void {
    for (const entry of skipped) {
      this.options.logger.warn(entry, `execution provider ${entry.provider} skipped: ${entry.reason}`);
    }
  }
}

export function createBackend(options: BackendOptions): Backend {
  return new OnnxBackend(options);
}
