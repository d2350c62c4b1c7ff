import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic.js';
import { refuseOverwrite } from '../overwrite.js';
import { modelDims, syntheticConfigJson, type Architecture, type ModelSize, type SyntheticMarker } from './config.js';
import { buildEncoderModel, encoderWeightSpecs } from './onnx/encoder.js';
import type { Precision } from './onnx/layers.js';
import { writeOnnxModel } from './onnx/serialize.js';
import { generateWeights } from './onnx/weights.js';
import { writeTokenizerFiles } from './tokenizer/index.js';

export interface SynthOptions {
  arch: Architecture;
  size: ModelSize;
  seed: number;
  outDir: string;
  /** Replace whatever is at `outDir`; without it an existing non-empty `outDir` is refused. */
  force?: boolean;
}

export interface WrittenFile {
  /** Relative to the model folder. */
  path: string;
  bytes: number;
}

/** File names transformers.js resolves for dtype 'fp32', 'fp16' and 'q8', and the same pattern for 'q8f16'. */
export const ONNX_FILES: Record<Precision, string> = {
  fp32: 'onnx/model.onnx',
  fp16: 'onnx/model_fp16.onnx',
  q8: 'onnx/model_quantized.onnx',
  q8f16: 'onnx/model_q8f16.onnx',
};

export class SynthError extends Error {
  override name = 'SynthError';
}

/**
 * Writes a complete model folder (config, tokenizer, four ONNX variants). Everything is written
 * into a sibling temp folder first and renamed into place at the end, so an interrupted run never
 * leaves a half-written model behind at `outDir`.
 */
export async function synthesizeModel(options: SynthOptions): Promise<WrittenFile[]> {
  if (!Number.isSafeInteger(options.seed) || options.seed < 0) throw new SynthError(`--seed must be a non-negative integer, got ${options.seed}`);
  await refuseOverwrite(options.outDir, options.force ?? false);
  const tempDir = join(dirname(options.outDir), `.${basename(options.outDir)}.partial-${process.pid}`);
  await rm(tempDir, { recursive: true, force: true });
  await mkdir(join(tempDir, 'onnx'), { recursive: true });
  try {
    const written = await writeModelFiles(options, tempDir);
    await rm(options.outDir, { recursive: true, force: true });
    await rename(tempDir, options.outDir);
    return written;
  } catch (error) {
    await rm(tempDir, { recursive: true, force: true });
    throw error;
  }
}

async function writeModelFiles(options: SynthOptions, dir: string): Promise<WrittenFile[]> {
  const dims = modelDims(options.arch, options.size);
  const tokenizer = await writeTokenizerFiles(options.arch, dir, { seed: options.seed });
  if (tokenizer.vocabSize > dims.vocabSize) {
    throw new SynthError(`tokenizer has ${tokenizer.vocabSize} tokens but the ${options.arch} embedding table has ${dims.vocabSize} rows`);
  }
  const synthetic: SyntheticMarker = { arch: options.arch, size: options.size, seed: options.seed };
  await writeFileAtomic(join(dir, 'config.json'), syntheticConfigJson(dims, tokenizer.specialTokenIds, synthetic));

  const written: WrittenFile[] = [];
  for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    written.push({ path: file, bytes: (await stat(join(dir, file))).size });
  }
  const weights = generateWeights(encoderWeightSpecs(dims), options.seed);
  for (const [precision, file] of Object.entries(ONNX_FILES) as Array<[Precision, string]>) {
    written.push({ path: file, bytes: await writeOnnxModel(join(dir, file), buildEncoderModel(dims, weights, precision)) });
  }
  return written;
}
