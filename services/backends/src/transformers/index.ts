import { env, mean_pooling, pipeline, Tensor, type FeatureExtractionPipeline } from '@huggingface/transformers';
import type { Backend, BackendInfo, BackendLimits, BackendOptions, Device, ProviderStatus, TokenizedBatch } from '@embedbench/core/backend';
import { ModelLoadError, readModelConfig, requireModelFile } from '../model-files.js';
import { bucketFor, lengthBuckets, padBatch, warmupShapes } from '../padding.js';
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
 * and leaves normalization to the core, like every backend. On WebGPU its batches are padded to
 * the same lengths as the onnx backend's, compiled at start, so neither pays a compiler in a run.
 */
class TransformersBackend implements Backend {
  readonly name = 'transformers';
  private extractor: FeatureExtractionPipeline | undefined;
  private padTokenId = 0;
  /** Padded lengths on WebGPU, which compiles shaders per input shape; undefined elsewhere. */
  private buckets: readonly number[] | undefined;

  constructor(private readonly options: BackendOptions) {}

  async start(limits: BackendLimits): Promise<BackendInfo> {
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
        const compileStarted = performance.now();
        if (candidate === 'webgpu') await this.compileShapes(lengthBuckets(limits.maxSequenceLength));
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
        logger.info({ ...info, compiledLengths: this.buckets ?? [], compileSeconds: (performance.now() - compileStarted) / 1000 }, 'transformers backend ready');
        return info;
      } catch (error) {
        await this.close();
        this.buckets = undefined;
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
    const padded = padBatch(batch.inputIds, this.padTokenId, this.buckets === undefined ? undefined : bucketFor(longest, this.buckets));
    const dims = [padded.rows, padded.sequenceLength];
    const attentionMask = new Tensor('int64', padded.attentionMask, dims);
    const outputs = (await extractor.model({ input_ids: new Tensor('int64', padded.inputIds, dims), attention_mask: attentionMask })) as {
      last_hidden_state: Tensor;
    };
    const pooled = mean_pooling(outputs.last_hidden_state, attentionMask);
    const [rows, hiddenSize] = pooled.dims as [number, number];
    const data = pooled.data as Float32Array;
    return Array.from({ length: rows }, (_, row) => data.subarray(row * hiddenSize, (row + 1) * hiddenSize));
  }

  /** Runs every padded length once, so that WebGPU compiles its shaders now and not on a request. */
  private async compileShapes(buckets: readonly number[]): Promise<void> {
    this.buckets = buckets;
    for (const { rows, length } of warmupShapes(buckets)) {
      await this.embed({ inputIds: Array.from({ length: rows }, () => new Int32Array(length).fill(this.padTokenId)) });
    }
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
