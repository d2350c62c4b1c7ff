import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Raised by start() when the model directory or one of its files is missing or unreadable. */
export class ModelLoadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelLoadError';
  }
}

/**
 * The onnx model file of each precision, relative to the model directory (what `model synth` and
 * `model fetch` write). q8: int8 MatMulInteger weights, for CPUs; q8f16: fp16 compute with 8-bit
 * MatMulNBits weights, for GPU providers.
 */
export const ONNX_MODEL_FILES = {
  fp32: 'onnx/model.onnx',
  fp16: 'onnx/model_fp16.onnx',
  q8: 'onnx/model_quantized.onnx',
  q8f16: 'onnx/model_q8f16.onnx',
} as const;
export type OnnxDtype = keyof typeof ONNX_MODEL_FILES;

/** The file of `dtype`, or undefined for a precision no onnx file is written for. */
export function onnxModelFile(dtype: string): string | undefined {
  return Object.hasOwn(ONNX_MODEL_FILES, dtype) ? ONNX_MODEL_FILES[dtype as OnnxDtype] : undefined;
}

export interface ModelConfig {
  readonly hiddenSize: number;
  readonly padTokenId: number;
}

/** Absolute path of a file inside the model directory, or a ModelLoadError saying what is missing. */
export function requireModelFile(modelDir: string, relativePath: string): string {
  if (!existsSync(modelDir)) throw new ModelLoadError(`model directory not found: ${modelDir}`);
  const path = join(modelDir, relativePath);
  if (!existsSync(path)) throw new ModelLoadError(`model file not found: ${path}`);
  return path;
}

async function readJson(modelDir: string, relativePath: string): Promise<Record<string, unknown>> {
  const path = requireModelFile(modelDir, relativePath);
  try {
    const value: unknown = JSON.parse(await readFile(path, 'utf8'));
    if (typeof value !== 'object' || value === null) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new ModelLoadError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * hidden_size from config.json; the pad id from config.json's pad_token_id, else from the
 * tokenizer's pad token looked up among tokenizer.json's added tokens.
 */
export async function readModelConfig(modelDir: string): Promise<ModelConfig> {
  const config = await readJson(modelDir, 'config.json');
  const hiddenSize = config.hidden_size;
  if (typeof hiddenSize !== 'number' || !Number.isInteger(hiddenSize) || hiddenSize <= 0) {
    throw new ModelLoadError(`${join(modelDir, 'config.json')} has no valid hidden_size`);
  }
  if (typeof config.pad_token_id === 'number') return { hiddenSize, padTokenId: config.pad_token_id };
  return { hiddenSize, padTokenId: await padIdFromTokenizer(modelDir) };
}

async function padIdFromTokenizer(modelDir: string): Promise<number> {
  const tokenizerConfig = await readJson(modelDir, 'tokenizer_config.json');
  const padToken = tokenizerConfig.pad_token;
  const padContent = typeof padToken === 'object' && padToken !== null ? (padToken as { content?: unknown }).content : padToken;
  const tokenizer = await readJson(modelDir, 'tokenizer.json');
  const added = Array.isArray(tokenizer.added_tokens) ? (tokenizer.added_tokens as Array<{ id?: unknown; content?: unknown }>) : [];
  const match = added.find((token) => token.content === padContent);
  if (typeof padContent !== 'string' || typeof match?.id !== 'number') {
    throw new ModelLoadError(`cannot determine the pad token id of ${modelDir}: no pad_token_id in config.json and no pad token in the tokenizer`);
  }
  return match.id;
}
