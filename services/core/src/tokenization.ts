import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { EmbedError } from './errors.js';

/** Used when neither tokenizer_config.json nor config.json states a usable maximum. */
const FALLBACK_MAX_INPUT_TOKENS = 512;
/** Long texts are tokenized from a prefix of this many characters per token first. */
const PREFIX_CHARS_PER_TOKEN = 8;
/** Tokens past the maximum that the prefix must reach, so the word cut at its end is not kept. */
const PREFIX_MARGIN_TOKENS = 16;
/** tokenizer_config.json uses a huge sentinel (1e30) for "no limit". */
const UNSET_MODEL_MAX_LENGTH = 1_000_000;

export interface TokenizedTexts {
  /** Special tokens included, truncated to the maximum input length. */
  readonly inputIds: Int32Array[];
  /** Tokens per row after truncation. */
  readonly tokenCount: number;
  /** Indices of rows that were cut to the maximum input length. */
  readonly truncatedRows: number[];
}

/** Loads a model directory's tokenizer and turns texts into truncated token-id rows. */
export class TextTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    /** Maximum tokens per row, special tokens included. */
    readonly maxInputTokens: number,
    /** Special tokens the post-processor appends after the text (e.g. [SEP]); kept on truncation. */
    private readonly trailingSpecialTokens: number,
  ) {}

  static async load(modelDir: string, options: { maxInputTokens?: number | undefined } = {}): Promise<TextTokenizer> {
    const tokenizerJson = await readJson(join(modelDir, 'tokenizer.json'));
    const tokenizerConfig = await readJson(join(modelDir, 'tokenizer_config.json'));
    const modelConfig = await readJson(join(modelDir, 'config.json')).catch(() => ({}));
    const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    const modelMax = modelMaxInputTokens(tokenizerConfig, modelConfig);
    const maxInputTokens = Math.min(modelMax, options.maxInputTokens ?? modelMax);
    return new TextTokenizer(tokenizer, maxInputTokens, countTrailingSpecialTokens(tokenizer));
  }

  /**
   * Encodes every text. Rows longer than the maximum are cut (keeping the closing special tokens),
   * or rejected with a 'validation' error when `truncate` is false.
   */
  encode(texts: readonly string[], truncate: boolean): TokenizedTexts {
    const inputIds: Int32Array[] = [];
    const truncatedRows: number[] = [];
    let tokenCount = 0;
    texts.forEach((text, row) => {
      let ids = this.encodeUpToLimit(text);
      if (ids.length > this.maxInputTokens) {
        if (!truncate) {
          throw new EmbedError(
            'validation',
            `input ${row} is longer than the maximum of ${this.maxInputTokens} tokens; ` +
              'send truncate: true or a shorter text',
          );
        }
        const kept = this.maxInputTokens - this.trailingSpecialTokens;
        ids = [...ids.slice(0, kept), ...ids.slice(ids.length - this.trailingSpecialTokens)];
        truncatedRows.push(row);
      }
      tokenCount += ids.length;
      inputIds.push(Int32Array.from(ids));
    });
    return { inputIds, tokenCount, truncatedRows };
  }

  /**
   * Tokenizing a 2 MB text takes seconds of event loop. A long text is first tokenized from a
   * prefix: when that already gives more than the maximum (plus a margin past the cut word), its
   * leading tokens are the full text's, and the rest would be truncated anyway. Otherwise (say,
   * mostly whitespace that the normalizer drops) the whole text is tokenized.
   */
  private encodeUpToLimit(text: string): number[] {
    const enough = this.maxInputTokens + PREFIX_MARGIN_TOKENS;
    const prefixChars = enough * PREFIX_CHARS_PER_TOKEN;
    if (text.length > prefixChars) {
      const prefixIds = this.tokenizer.encode(text.slice(0, prefixChars), { add_special_tokens: true }).ids;
      if (prefixIds.length > enough) return prefixIds;
    }
    return this.tokenizer.encode(text, { add_special_tokens: true }).ids;
  }
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

function modelMaxInputTokens(tokenizerConfig: Record<string, unknown>, modelConfig: Record<string, unknown>): number {
  const limits = [tokenizerConfig['model_max_length'], modelConfig['max_position_embeddings']].filter(
    (value): value is number => typeof value === 'number' && Number.isInteger(value) && value > 0 && value < UNSET_MODEL_MAX_LENGTH,
  );
  return limits.length > 0 ? Math.min(...limits) : FALLBACK_MAX_INPUT_TOKENS;
}

/** Compares one token's encoding with and without special tokens to see how many come after it. */
function countTrailingSpecialTokens(tokenizer: Tokenizer): number {
  const plain: number[] = tokenizer.encode('a', { add_special_tokens: false }).ids;
  const withSpecial: number[] = tokenizer.encode('a', { add_special_tokens: true }).ids;
  const start = withSpecial.findIndex((_, i) => plain.every((id, j) => withSpecial[i + j] === id));
  return start < 0 ? 0 : withSpecial.length - start - plain.length;
}
