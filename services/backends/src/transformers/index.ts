import { env, mean_pooling, pipeline, Tensor, type FeatureExtractionPipeline } from '@huggingface/transformers';
import type { Backend, BackendInfo, BackendOptions, TokenizedBatch } from '@embedbench/core/backend';
import { batchTokenBudget, detectGpu } from '../gpu.js';
import { ModelLoadError, readModelConfig, requireModelFile } from '../model-files.js';

env.allowRemoteModels = false;
env.allowLocalModels = true;

/**
 * The baseline: the feature-extraction pipeline exactly as its documentation shows it, fp32, one
 * call per batch, mean pooling. Normalization is left to the core, like every backend.
 */
class TransformersBackend implements Backend {
  readonly name = 'transformers';
  private extractor: FeatureExtractionPipeline | undefined;

  constructor(private readonly options: BackendOptions) {}

  async start(): Promise<BackendInfo> {
    const { modelDir, logger } = this.options;
    if (this.options.dtype !== 'auto' && this.options.dtype !== 'fp32') {
      throw new ModelLoadError(`the transformers backend is the fp32 baseline; dtype ${this.options.dtype} is not offered`);
    }
    const config = await readModelConfig(modelDir);
    requireModelFile(modelDir, 'tokenizer.json');
    requireModelFile(modelDir, 'onnx/model.onnx');
    const gpuAvailable = detectGpu();
    const device = this.options.device === 'auto' ? (gpuAvailable ? 'cuda' : 'cpu') : this.options.device;
    try {
      this.extractor = await pipeline('feature-extraction', modelDir, { dtype: 'fp32', device });
      const warmupText = 'warm up';
      const warmupIds = Int32Array.from(this.extractor.tokenizer.encode(warmupText));
      const [warmup] = await this.embed({ texts: [warmupText], inputIds: [warmupIds] });
      if (warmup?.length !== config.hiddenSize) {
        throw new Error(`the model returned ${warmup?.length} values per text, config.json says hidden_size ${config.hiddenSize}`);
      }
    } catch (error) {
      await this.close();
      throw new ModelLoadError(`cannot load the transformers pipeline from ${modelDir}: ${(error as Error).message}`, { cause: error });
    }
    const info: BackendInfo = {
      backend: this.name,
      executionProvider: device,
      dtype: 'fp32',
      gpuAvailable,
      parallelism: 1,
      maxBatchTokens: batchTokenBudget(device === 'cuda'),
    };
    logger.info(info, 'transformers backend ready');
    return info;
  }

  /**
   * The pipeline tokenizes the raw texts itself and, past its model_max_length, would chop a text
   * and lose the closing [SEP], while the core cuts at its own limit and keeps it. Rows the core
   * did not cut go through the pipeline unchanged; rows it cut (all exactly the batch's longest)
   * run through the pipeline's own model on the core's ids, pooled by the library's mean_pooling.
   */
  async embed(batch: TokenizedBatch): Promise<Float32Array[]> {
    const extractor = this.extractor;
    if (!extractor) throw new Error('the transformers backend is not started');
    if (batch.texts.length === 0) return [];
    const longest = Math.max(...batch.inputIds.map((ids) => ids.length));
    const cut = batch.texts.map(
      (text, row) => batch.inputIds[row]!.length === longest && extractor.tokenizer.encode(text).length > longest,
    );
    const whole = batch.texts.filter((_, row) => !cut[row]);
    const cutIds = batch.inputIds.filter((_, row) => cut[row]);
    const [wholeRows, cutRows] = await Promise.all([
      whole.length > 0 ? extractor(whole, { pooling: 'mean', normalize: false }).then(tensorRows) : [],
      cutIds.length > 0 ? embedTokenIds(extractor, cutIds, longest) : [],
    ]);
    return cut.map((isCut) => (isCut ? cutRows.shift() : wholeRows.shift())!);
  }

  async close(): Promise<void> {
    const extractor = this.extractor;
    this.extractor = undefined;
    await extractor?.dispose();
  }
}

function tensorRows(output: Tensor): Float32Array[] {
  const [rows, hiddenSize] = output.dims as [number, number];
  const data = output.data as Float32Array;
  return Array.from({ length: rows }, (_, row) => data.subarray(row * hiddenSize, (row + 1) * hiddenSize));
}

/** Rows of equal length, so no padding: the model's forward pass and mean pooling, as the pipeline runs them. */
async function embedTokenIds(extractor: FeatureExtractionPipeline, rows: readonly Int32Array[], length: number): Promise<Float32Array[]> {
  const ids = BigInt64Array.from(rows.flatMap((row) => Array.from(row, BigInt)));
  const dims = [rows.length, length];
  const attentionMask = new Tensor('int64', new BigInt64Array(ids.length).fill(1n), dims);
  const outputs = (await extractor.model({ input_ids: new Tensor('int64', ids, dims), attention_mask: attentionMask })) as { last_hidden_state: Tensor };
  return tensorRows(mean_pooling(outputs.last_hidden_state, attentionMask));
}

export function createBackend(options: BackendOptions): Backend {
  return new TransformersBackend(options);
}
