import { env, mean_pooling, pipeline, Tensor, type FeatureExtractionPipeline } from '@huggingface/transformers';
import type { Backend, BackendInfo, BackendOptions, Device, ProviderStatus, TokenizedBatch } from '@embedbench/core/backend';
import { ModelLoadError, readModelConfig, requireModelFile } from '../model-files.js';
import { applyProviderEnvironment, probeExecutionProviders } from '../providers/probe.js';
import { batchRowLimit, batchTokenBudget, gpuProven, planProviders, providerReport } from '../providers/selection.js';

env.allowRemoteModels = false;
env.allowLocalModels = true;

/** transformers.js devices in the order `--device auto` tries them; each maps to the onnxruntime provider of the same name. */
const DEVICE_ORDER: Record<Device, ReadonlyArray<'cuda' | 'webgpu' | 'cpu'>> = {
  auto: ['cuda', 'webgpu', 'cpu'],
  cpu: ['cpu'],
  cuda: ['cuda'],
  webgpu: ['webgpu'],
};

/**
 * The baseline: the feature-extraction pipeline's model at fp32, with the library's mean pooling,
 * one call per batch. It runs on the core's token ids (the texts are tokenized once, by the core),
 * and leaves normalization to the core, like every backend.
 */
class TransformersBackend implements Backend {
  readonly name = 'transformers';
  private extractor: FeatureExtractionPipeline | undefined;
  private padTokenId = 0;

  constructor(private readonly options: BackendOptions) {}

  async start(): Promise<BackendInfo> {
    const { modelDir, logger, device } = this.options;
    if (this.options.dtype !== 'auto' && this.options.dtype !== 'fp32') {
      throw new ModelLoadError(`the transformers backend is the fp32 baseline; dtype ${this.options.dtype} is not offered`);
    }
    const config = await readModelConfig(modelDir);
    this.padTokenId = config.padTokenId;
    requireModelFile(modelDir, 'tokenizer.json');
    requireModelFile(modelDir, 'onnx/model.onnx');
    const order = DEVICE_ORDER[device];
    const probes = await probeExecutionProviders(order);
    applyProviderEnvironment(probes);
    const plan = planProviders(order, device, probes);
    const failedToLoad: ProviderStatus[] = [];
    for (const candidate of plan.candidates) {
      try {
        this.extractor = await pipeline('feature-extraction', modelDir, { dtype: 'fp32', device: candidate });
        const info: BackendInfo = {
          backend: this.name,
          executionProvider: candidate,
          dtype: 'fp32',
          gpuAvailable: gpuProven(probes),
          providers: providerReport(order, plan, candidate, failedToLoad, probes),
          parallelism: 1,
          maxBatchTokens: batchTokenBudget(candidate),
          maxBatchRows: batchRowLimit(candidate),
        };
        logger.info(info, 'transformers backend ready');
        return info;
      } catch (error) {
        failedToLoad.push({ provider: candidate, status: 'skipped', reason: `the pipeline did not load: ${(error as Error).message.split('\n')[0]}` });
      }
    }
    const reasons = [...plan.excluded, ...failedToLoad].map((entry) => `${entry.provider}: ${entry.reason}`).join('; ');
    throw new ModelLoadError(`cannot load the transformers pipeline from ${modelDir} with --device ${device}: ${reasons}`);
  }

  /** Pads the core's ids, runs the pipeline's model and pools with the library's mean_pooling. */
  async embed(batch: TokenizedBatch): Promise<Float32Array[]> {
    const extractor = this.extractor;
    if (!extractor) throw new Error('the transformers backend is not started');
    if (batch.inputIds.length === 0) return [];
    const longest = Math.max(...batch.inputIds.map((ids) => ids.length));
    const dims = [batch.inputIds.length, longest];
    const inputIds = new BigInt64Array(dims[0]! * longest).fill(BigInt(this.padTokenId));
    const mask = new BigInt64Array(inputIds.length);
    batch.inputIds.forEach((ids, row) => {
      ids.forEach((id, column) => {
        inputIds[row * longest + column] = BigInt(id);
        mask[row * longest + column] = 1n;
      });
    });
    const attentionMask = new Tensor('int64', mask, dims);
    const outputs = (await extractor.model({ input_ids: new Tensor('int64', inputIds, dims), attention_mask: attentionMask })) as {
      last_hidden_state: Tensor;
    };
    const pooled = mean_pooling(outputs.last_hidden_state, attentionMask);
    const [rows, hiddenSize] = pooled.dims as [number, number];
    const data = pooled.data as Float32Array;
    return Array.from({ length: rows }, (_, row) => data.subarray(row * hiddenSize, (row + 1) * hiddenSize));
  }

  async close(): Promise<void> {
    const extractor = this.extractor;
    this.extractor = undefined;
    await extractor?.dispose();
  }
}

export function createBackend(options: BackendOptions): Backend {
  return new TransformersBackend(options);
}
